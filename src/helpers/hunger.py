"""Data hunger: test accuracy as a function of the number of training scenes.

Chapter 2 puts the MLP on these axes twice, birds near the centre and birds anywhere;
chapter 3 adds the CNN. Every model is trained from scratch by ``helpers.train.fit`` on
the first ``n`` scenes of one fixed training set (so a smaller set is part of every
larger one) and tested on 2,000 fresh scenes of the same kind. The scenes have large
birds and little clutter (:data:`SETTINGS`): chapter 1's task, at 48x48 pixels.

``experiments/chapter2.py`` runs every size over three seeds; a notebook runs one
point live and checks that it falls inside the committed range.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from torch import nn

from helpers.scenes import Scenes, make_scenes
from helpers.train import MLP_LR, evaluate, fit

__all__ = [
    "SIZES",
    "SETTINGS",
    "REGIONS",
    "TEST_SCENES",
    "epochs_for",
    "hunger_scenes",
    "hunger_test",
    "hunger_run",
    "curve",
    "draw_curves",
]

SIZES = (500, 1000, 2000, 4000, 8000)
"""The training-set sizes on the x axis."""
SETTINGS = {"bird_size": (0.4, 0.6), "distractors": (0, 2)}
"""How the scenes are drawn, besides where the bird may be: large birds, 0 to 2
distractors (chapter 1's task, at the course's 48x48 pixels)."""
REGIONS = {"centred": (0.4, 0.6, 0.4, 0.6), "anywhere": (0.0, 1.0, 0.0, 1.0)}
"""Where bird centres may fall, as (top, bottom, left, right) fractions: near the
centre, or anywhere the bird fits."""
TEST_SCENES = 2000
"""Fresh scenes every model is tested on, of the kind it was trained on."""


def epochs_for(n: int) -> int:
    """Epochs for ``n`` training scenes, for every model on these axes: at least 10,
    and at least 40,000 scenes seen (80 epochs for 500 scenes), so that a small set is
    not also trained less."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    return max(10, math.ceil(40_000 / n))


def _check_where(where: str) -> tuple[float, float, float, float]:
    if where not in REGIONS:
        raise ValueError(f"where must be one of {tuple(REGIONS)}, got {where!r}")
    return REGIONS[where]


def hunger_scenes(where: str, n: int, seed: int) -> Scenes:
    """The first ``n`` training scenes of a seed: birds ``where`` ("centred" or
    "anywhere"), drawn by :data:`SETTINGS`.

    Training sets are nested: the first 500 scenes are those of every larger set.
    """
    region = _check_where(where)
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= max(SIZES):
        raise ValueError(f"n must be an int from 1 to {max(SIZES)}, got {n!r}")
    seed = _check_seed(seed)
    offset = list(REGIONS).index(where)
    full = make_scenes(
        max(SIZES), region=region, **SETTINGS, seed=21_000 + 2 * seed + offset
    )
    return full[:n]


def hunger_test(where: str, seed: int) -> Scenes:
    """The :data:`TEST_SCENES` test scenes of a seed, of the kind of its training set
    (drawn from other seeds: no scene is in both)."""
    region = _check_where(where)
    seed = _check_seed(seed)
    offset = list(REGIONS).index(where)
    return make_scenes(
        TEST_SCENES, region=region, **SETTINGS, seed=31_000 + 2 * seed + offset
    )


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 1000:
        raise ValueError(f"seed must be an int from 0 to 999, got {seed!r}")
    return seed


def hunger_run(
    make_model: Callable[[], nn.Module],
    where: str,
    n: int,
    seed: int,
    *,
    lr: float = MLP_LR,
    epochs: int | None = None,
    progress: bool = True,
) -> tuple[nn.Module, dict[str, float]]:
    """Train ``make_model()`` on ``n`` scenes of ``where`` birds; test it.

    Args:
        make_model: builds the untrained model (e.g. ``helpers.models.MLP``).
        where: ``"centred"`` or ``"anywhere"``.
        n: training scenes (the first ``n`` of the seed's set).
        seed: the training set, the test set, the initial weights and the batches.
        lr: the peak learning rate (:data:`MLP_LR` by default).
        epochs: default :func:`epochs_for` of ``n``.
        progress: show fit's progress bar.

    Returns:
        The trained model, and its test ``accuracy``, ``recall``, ``false_alarm``,
        with the training ``seconds`` and the ``epochs``.
    """
    train = hunger_scenes(where, n, seed)
    epochs = epochs_for(n) if epochs is None else epochs
    model = make_model()
    history = fit(model, train, seed=seed, lr=lr, epochs=epochs, progress=progress)
    result = evaluate(model, hunger_test(where, seed))
    return model, {**result, "seconds": history.seconds, "epochs": epochs}


def curve(
    results: Mapping[str, Mapping[str, Mapping[str, Any]]], key: str = "accuracy"
) -> dict[str, np.ndarray]:
    """One curve over seeds from committed results ``{size: {seed: {key: value}}}``.

    Returns ``sizes`` (S,), ``mean``, ``low`` and ``high`` (S,): the mean, lowest and
    highest ``key`` over the seeds at each size, sizes in increasing order.
    """
    if not results:
        raise ValueError("results is empty: expected {size: {seed: {key: value}}}")
    expected = f"results must be {{size: {{seed: {{{key!r}: value}}}}}}"
    try:
        sizes = sorted(results, key=int)
        values = [[float(r[key]) for r in results[s].values()] for s in sizes]
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise ValueError(f"{expected}; {error!r}") from None
    if not all(values):
        raise ValueError(f"{expected}; a size has no seeds")
    return {
        "sizes": np.array([int(s) for s in sizes]),
        "mean": np.array([np.mean(v) for v in values]),
        "low": np.array([np.min(v) for v in values]),
        "high": np.array([np.max(v) for v in values]),
    }


def draw_curves(ax: Axes, curves: Mapping[str, dict[str, np.ndarray]]) -> None:
    """Accuracy against training-set size (log scale), one line per ``{label: curve}``
    (from :func:`curve`): the mean over seeds, the band from lowest to highest."""
    styles = [("#5e3c99", "o-"), ("#e66101", "s--"), ("#1b7837", "^-"), ("0.3", "D:")]
    if not 1 <= len(curves) <= len(styles):
        raise ValueError(f"draw 1 to {len(styles)} curves, got {len(curves)}")
    for (label, c), (colour, marker) in zip(curves.items(), styles, strict=False):
        ax.fill_between(c["sizes"], c["low"], c["high"], color=colour, alpha=0.2, lw=0)
        ax.plot(c["sizes"], c["mean"], marker, color=colour, label=label)
    ax.axhline(0.5, color="0.5", lw=0.8, ls=":")
    ax.set_xscale("log")
    sizes = sorted({int(s) for c in curves.values() for s in c["sizes"]})
    ax.set_xticks(sizes, [f"{s:,}" for s in sizes])
    ax.minorticks_off()
    ax.set_xlabel("training scenes")
    ax.set_ylabel("test accuracy")
    low = min(0.45, *(float(c["low"].min()) - 0.02 for c in curves.values()))
    ax.set_ylim(low, 1.0)
    ax.legend(loc="upper left")
