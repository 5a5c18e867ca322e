"""Chapter 4's clutter sweep: does attention's concentration pay off anywhere here?

On chapter 4's scenes every position-blind readout reached the same accuracy, and an
attention head added nothing to a trained backbone. Concentrating on the bird could
only matter when the bird is a small share of the evidence: a small bird among many
distractors, what multiple-instance learning calls a low *witness rate* (Ilse et al.
2018). :data:`SWEEP_SETTINGS` is a 2 x 2 sweep of bird size and clutter, birds anywhere;
:func:`sweep_run` trains each readout of :data:`helpers.comparators.COMPARATORS` with
its **own** backbone (a head that concentrates may also teach its backbone
differently) and measures it on fresh scenes of the same setting.
``experiments/clutter_sweep.py`` runs it over three seeds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from helpers.comparators import COMPARATORS, measure_readouts
from helpers.models import PooledCNN, ReadoutCNN
from helpers.scenes import Scenes, make_scenes
from helpers.tables import Table, spread
from helpers.train import fit

__all__ = [
    "SWEEP_SETTINGS",
    "bird_share",
    "sweep_scenes",
    "sweep_run",
    "sweep_over_seeds",
    "SHORT_NAMES",
    "sweep_table",
]

SWEEP_SETTINGS = {
    "chapter 4": {"bird_size": (0.22, 0.42), "distractors": (2, 6)},
    "small birds": {"bird_size": (0.15, 0.22), "distractors": (2, 6)},
    "heavy clutter": {"bird_size": (0.22, 0.42), "distractors": (8, 12)},
    "small birds, heavy clutter": {"bird_size": (0.15, 0.22), "distractors": (8, 12)},
}
"""The sweep's settings by name: arguments of :func:`helpers.scenes.make_scenes`,
birds anywhere. From chapter 4's scenes to small birds among many distractors."""


def bird_share(scenes: Scenes) -> float:
    """The mean share of a bird scene's pixels that are bird: the witness rate.

    >>> scenes = make_scenes(40, seed=0, bird_size=0.3, distractors=0)
    >>> round(bird_share(scenes), 3)
    0.019
    """
    bird = scenes.labels == 1
    if not bird.any():
        raise ValueError("bird_share needs scenes holding birds")
    return float(scenes.masks[bird].mean())


def sweep_scenes(setting: str, seed: int, n_train: int = 6000, n_test: int = 2000):
    """Training and test scenes of one setting: ``{"train": ..., "test": ...}``, with
    different seeds derived from ``seed`` (no test scene is a training scene)."""
    if setting not in SWEEP_SETTINGS:
        raise ValueError(f"setting must be one of {list(SWEEP_SETTINGS)}, got {setting!r}")
    kw = SWEEP_SETTINGS[setting]
    return {
        "train": make_scenes(n_train, seed=2000 * seed + 11, **kw),
        "test": make_scenes(n_test, seed=2000 * seed + 12, **kw),
    }


def _readout(name: str):
    return ReadoutCNN(name) if name in ("flatten", "max") else PooledCNN(name)


def sweep_run(
    setting: str,
    seed: int,
    *,
    names: tuple[str, ...] = tuple(COMPARATORS),
    data: Mapping[str, Scenes] | None = None,
    epochs: int = 6,
    progress: bool = True,
) -> dict[str, Any]:
    """Train each readout with its own backbone on one setting; measure it.

    Returns:
        ``{name: {"accuracy", "recall", "false_alarm", "seconds"}}`` on the setting's
        test scenes, plus ``"bird_share"``: the witness rate of its bird scenes.
    """
    unknown = set(names) - set(COMPARATORS)
    if unknown:
        raise ValueError(f"unknown readouts {sorted(unknown)}; know {list(COMPARATORS)}")
    data = data if data is not None else sweep_scenes(setting, seed)
    found: dict[str, Any] = {"bird_share": bird_share(data["test"])}
    for name in names:
        model = _readout(name)
        history = fit(model, data["train"], epochs=epochs, seed=seed, progress=progress)
        found[name] = {
            **measure_readouts({name: model}, data["test"])[name],
            "seconds": history.seconds,
        }
    return found


def sweep_over_seeds(
    committed: Mapping[str, Any], setting: str, name: str, key: str = "accuracy"
) -> list[float]:
    """One number of ``experiments/clutter_sweep.json`` for every seed."""
    if setting not in SWEEP_SETTINGS or name not in COMPARATORS:
        raise ValueError(f"unknown setting {setting!r} or readout {name!r}")
    return [committed["runs"][setting][str(s)][name][key] for s in committed["seeds"]]


SHORT_NAMES = {
    "chapter 4": "chapter 4",
    "small birds": "small birds",
    "heavy clutter": "heavy clutter",
    "small birds, heavy clutter": "both",
}
"""How the sweep's table heads each setting's column (the last is both changes)."""


def sweep_table(committed: Mapping[str, Any]) -> Table:
    """Test accuracy of each readout (rows) in each setting (columns): mean (range)
    over the seeds; the caption gives each setting's bird share."""
    seeds = [str(s) for s in committed["seeds"]]
    shares = ", ".join(
        f"{SHORT_NAMES[setting]} "
        f"{np.mean([committed['runs'][setting][s]['bird_share'] for s in seeds]):.1%}"
        for setting in SWEEP_SETTINGS
    )
    short = {"flatten": "flatten", "max": "max", "avg": "average", "mask": "mask"}
    rows = [
        [short.get(name, name)]
        + [spread(sweep_over_seeds(committed, setting, name)) for setting in SWEEP_SETTINGS]
        for name in COMPARATORS
    ]
    return Table(
        ["readout", *SHORT_NAMES.values()],
        rows,
        caption=f"Test accuracy of each readout (flatten -> linear, max, average, the "
        f"fixed mask, attention pooling) with its own backbone, mean (range) over "
        f'seeds {", ".join(seeds)}; "both": small birds in heavy clutter. The bird '
        f"is this share of a bird scene: {shares}",
    )
