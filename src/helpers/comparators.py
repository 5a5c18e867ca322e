"""Chapter 4's strongest comparators: ordinary weights and max pooling beside the heads.

Chapter 4 compares attention pooling with a fixed learned mask. The ordinary learned
weights of a CNN's classifier are something else: the feature grid flattened and read
by one linear layer, a weight for every channel at every position. And average
pooling is not the only readout that ignores position: global max pooling does too.
Here five readouts of one shared :class:`~helpers.models.Backbone` train together
(one loss each, like chapter 4's three heads): :data:`COMPARATORS`.

- :func:`comparator_experiment`: the left-half -> right-half test
  (:mod:`helpers.left_right`) for all five, with each one's recall by position;
- :func:`shift_invariance`: which readouts are invariant *by construction* to a
  whole-cell circular shift of the image (circular padding makes the backbone's grid
  shift with it; a readout that ignores where a cell is cannot tell);
- :func:`backbone_controls`: what the attention head adds to its backbone, trained on
  the average model's frozen backbone and on an untrained one;
- :func:`head_parameters`: the numbers each head adds to the backbone;
- :func:`flatten_on_backbone`: a flatten -> linear readout trained on another model's
  frozen backbone (chapter 6's ordinary-weights row reads chapter 4's features).

``experiments/comparators.py`` runs them over three seeds.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from helpers.inference import eval_mode
from helpers.left_right import CLUTTER, position_data, recall_by_position
from helpers.models import Backbone, PooledCNN, ReadoutCNN
from helpers.scenes import Scenes, make_scenes
from helpers.tables import Table, spread
from helpers.train import fit, predict_logits

__all__ = [
    "COMPARATORS",
    "comparator_heads",
    "head_parameters",
    "measure_readouts",
    "shift_invariance",
    "comparator_experiment",
    "CONTROLS",
    "backbone_controls",
    "flatten_on_backbone",
    "readout_over_seeds",
    "readouts_table",
    "controls_table",
]

COMPARATORS = {
    "flatten": "flatten → linear",
    "max": "max pooling",
    "avg": "average pooling",
    "mask": "fixed mask",
    "attention": "attention pooling",
}
"""The five readouts by key, and how tables and figures name them."""


CONTROLS = {
    "avg": "average pooling, backbone trained with it",
    "attention on avg's backbone": "attention, on that backbone frozen",
    "avg on untrained": "average pooling, untrained backbone",
    "attention on untrained": "attention, untrained backbone",
}
"""The models of :func:`backbone_controls` by key, and how tables name them."""


def comparator_heads(
    *, backbone: Backbone | None = None, padding: str = "circular"
) -> dict[str, nn.Module]:
    """The five readouts of :data:`COMPARATORS` on one shared backbone (built here
    unless given); attention has one query, "bird"."""
    shared = backbone if backbone is not None else Backbone(padding=padding)
    return {
        "flatten": ReadoutCNN("flatten", backbone=shared),
        "max": ReadoutCNN("max", backbone=shared),
        "avg": PooledCNN("avg", backbone=shared),
        "mask": PooledCNN("mask", backbone=shared),
        "attention": PooledCNN("attention", backbone=shared),
    }


def head_parameters(model: nn.Module) -> int:
    """The learned numbers ``model`` adds to its backbone (its head alone).

    >>> head_parameters(ReadoutCNN("max"))  # 64 weights and a bias
    65
    """
    backbone = getattr(model, "backbone", None)
    if not isinstance(model, nn.Module) or not isinstance(backbone, nn.Module):
        raise TypeError("model must be a torch nn.Module with a .backbone")
    shared = {id(p) for p in backbone.parameters()}
    return int(sum(p.numel() for p in model.parameters() if id(p) not in shared))


def measure_readouts(
    models: Mapping[str, nn.Module], scenes: Scenes
) -> dict[str, dict[str, float]]:
    """Each model's accuracy, recall (birds found) and false-alarm rate on ``scenes``."""
    if not isinstance(scenes, Scenes):
        raise TypeError(f"scenes must be a Scenes, got {type(scenes).__name__}")
    bird = scenes.labels == 1
    found = {}
    for name, model in models.items():
        said_bird = predict_logits(model, scenes.images) > 0
        found[name] = {
            "accuracy": float((said_bird == bird).mean()),
            "recall": float(said_bird[bird].mean()),
            "false_alarm": float(said_bird[~bird].mean()),
        }
    return found


@torch.no_grad()
def shift_invariance(
    models: Mapping[str, nn.Module], images: np.ndarray | torch.Tensor, cells: int = 1
) -> dict[str, float]:
    """The largest change of each model's logit when the images are rolled circularly
    by ``cells`` grid cells to the right (``cells`` x the backbone's stride pixels).

    Zero up to rounding for a readout that ignores where a cell is (average, max,
    attention pooling): the circular backbone's grid rolls with the image, and the
    readout sees the same set of cells. Not zero for one with weights tied to
    positions (the mask, flatten -> linear).

    Args:
        models: models with a ``.backbone`` (its ``stride`` is the cell size).
        images: (N, 3, H, W) float images.
        cells: how many cells to roll by.

    Returns:
        ``{name: max over images of |logit(rolled) - logit(image)|}``.
    """
    x = torch.as_tensor(np.asarray(images) if isinstance(images, np.ndarray) else images)
    if x.ndim != 4 or x.shape[1] != 3 or not torch.is_floating_point(x):
        raise ValueError("images must be float images of shape (N, 3, H, W)")
    if isinstance(cells, bool) or not isinstance(cells, int):
        raise ValueError(f"cells must be an int, got {cells!r}")
    out = {}
    for name, model in models.items():
        shift = cells * model.backbone.stride
        with eval_mode(model):
            dev = next(model.parameters()).device
            before = model(x.to(dev)).double()
            after = model(torch.roll(x, shift, dims=3).to(dev)).double()
        out[name] = float((after - before).abs().max())
    return out


def _anywhere(seed: int, n: int) -> Scenes:
    """Cluttered scenes with birds anywhere, for the recall-by-position curves."""
    return make_scenes(n, distractors=CLUTTER, seed=1000 * seed + 4)


@torch.no_grad()
def _normalised(backbone: Backbone, images: np.ndarray) -> Backbone:
    """An untrained backbone whose BatchNorm statistics are those of ``images``: random
    filters, normalised activations (no gradient step; what BatchNorm would do)."""
    norms = [m for m in backbone.modules() if isinstance(m, nn.BatchNorm2d)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a plain average over every batch
    backbone.train()
    for i in range(0, len(images), 500):
        backbone(torch.from_numpy(images[i : i + 500]))
    for norm in norms:
        norm.momentum = 0.1
    return backbone.eval()


def comparator_experiment(
    seed: int,
    *,
    data: dict[str, Scenes] | None = None,
    epochs: int = 6,
    bins: int = 6,
    n_anywhere: int = 3000,
    progress: bool = True,
) -> tuple[dict[str, nn.Module], dict[str, Any]]:
    """Train the five readouts together on left-half birds; test them in both halves.

    Args:
        seed: the scenes (:func:`helpers.left_right.position_data`), the initial
            weights and the batches.
        data: the scenes of ``position_data(seed)`` when already made.
        epochs: passes over the training scenes.
        bins: bins of the bird's horizontal centre for the recall curves.
        n_anywhere: scenes with birds anywhere for those curves.
        progress: show a progress bar.

    Returns:
        The trained models and ``{"left": ..., "right": ...}`` (each
        :func:`measure_readouts`), ``"by_position"`` (``{"centres": (bins,) bin
        centres, "recall": {name: (bins,)}}`` on birds anywhere), ``"head_parameters"``
        and ``"seconds"`` (training time).
    """
    data = data if data is not None else position_data(seed)
    models = comparator_heads()
    history = fit(models, data["train"], epochs=epochs, seed=seed, progress=progress)
    curves = recall_by_position(models, _anywhere(seed, n_anywhere), bins=bins)
    centres = (curves["edges"][:-1] + curves["edges"][1:]) / 2
    result = {
        "left": measure_readouts(models, data["left"]),
        "right": measure_readouts(models, data["right"]),
        "by_position": {
            "centres": [float(c) for c in centres],
            "recall": {n: [float(r) for r in v] for n, v in curves["recall"].items()},
        },
        "head_parameters": {n: head_parameters(m) for n, m in models.items()},
        "seconds": history.seconds,
    }
    return models, result


def backbone_controls(
    seed: int,
    *,
    data: dict[str, Scenes] | None = None,
    epochs: int = 6,
    progress: bool = True,
) -> dict[str, dict[str, dict[str, float]]]:
    """What the attention head adds to its backbone: three trainings on left-half birds.

    1. ``"avg"``: average pooling with its own backbone, trained together;
    2. ``"attention on avg's backbone"``: an attention head on that backbone, frozen
       (trained features that already find birds; only the head learns);
    3. ``"avg on untrained"`` and ``"attention on untrained"``: both heads on one
       untrained, frozen backbone (random filters, BatchNorm statistics of the
       training scenes; only the heads learn).

    Returns:
        ``{name: {"left": ..., "right": ...}}``, each a :func:`measure_readouts` row.
    """
    data = data if data is not None else position_data(seed)
    avg = PooledCNN("avg")
    fit(avg, data["train"], epochs=epochs, seed=seed, progress=progress)
    on_avg = PooledCNN("attention", backbone=avg.backbone)
    fit(
        on_avg,
        data["train"],
        epochs=epochs,
        seed=seed,
        progress=progress,
        frozen=avg.backbone,
    )
    torch.manual_seed(10_000 + seed)
    untrained = _normalised(Backbone(), data["train"].images)
    random_heads = {
        "avg on untrained": PooledCNN("avg", backbone=untrained),
        "attention on untrained": PooledCNN("attention", backbone=untrained),
    }
    fit(
        random_heads,
        data["train"],
        epochs=epochs,
        seed=seed,
        progress=progress,
        frozen=untrained,
    )
    models = {"avg": avg, "attention on avg's backbone": on_avg, **random_heads}
    left = measure_readouts(models, data["left"])
    right = measure_readouts(models, data["right"])
    return {name: {"left": left[name], "right": right[name]} for name in models}


def flatten_on_backbone(
    backbone: Backbone,
    seed: int,
    *,
    data: dict[str, Scenes] | None = None,
    epochs: int = 6,
    progress: bool = True,
) -> tuple[ReadoutCNN, dict[str, Any]]:
    """A flatten -> linear readout trained on a copy of a trained ``backbone``, frozen.

    Only the readout's C h w + 1 numbers learn (one weight per channel and cell), on
    the features another model's training made: the comparison "same features, only
    the readout differs" with that model's heads. ``backbone`` itself is not changed.

    Args:
        backbone: a trained :class:`~helpers.models.Backbone` (e.g. chapter 4's).
        seed: the scenes (:func:`helpers.left_right.position_data`), the readout's
            initial weights and the batches.
        data: the scenes of ``position_data(seed)`` when already made.
        epochs: passes over the training scenes.
        progress: show a progress bar.

    Returns:
        The trained model and ``{"left": ..., "right": ..., "seconds": ...}``, each half
        ``{"flatten": ...}`` as :func:`measure_readouts` gives it.
    """
    if not isinstance(backbone, Backbone):
        raise TypeError(f"backbone must be a helpers.models.Backbone, got {backbone!r}")
    data = data if data is not None else position_data(seed)
    model = ReadoutCNN("flatten", backbone=copy.deepcopy(backbone))
    history = fit(
        model,
        data["train"],
        epochs=epochs,
        seed=seed,
        progress=progress,
        frozen=model.backbone,
    )
    return model, {
        "left": measure_readouts({"flatten": model}, data["left"]),
        "right": measure_readouts({"flatten": model}, data["right"]),
        "seconds": history.seconds,
    }


# ----------------------------------------------------------------------------------
# Reading the results: the committed seeds (experiments/comparators.json)


def readout_over_seeds(
    committed: Mapping[str, Any], part: str, name: str, half: str, key: str
) -> list[float]:
    """One number of the committed results for every seed, e.g.
    ``readout_over_seeds(load("comparators"), "readouts", "flatten", "right", "recall")``.

    Args:
        committed: ``experiments/comparators.json`` as :func:`helpers.results.load`
            reads it.
        part: ``"readouts"`` (:func:`comparator_experiment`) or ``"controls"``
            (:func:`backbone_controls`).
        name: a readout (``"flatten"``, ...) or a control (``"avg on untrained"``, ...).
        half: ``"left"`` or ``"right"``.
        key: ``"accuracy"``, ``"recall"`` or ``"false_alarm"``.
    """
    if part not in ("readouts", "controls"):
        raise ValueError(f"part must be 'readouts' or 'controls', got {part!r}")
    if half not in ("left", "right") or key not in ("accuracy", "recall", "false_alarm"):
        raise ValueError(f"unknown half {half!r} or key {key!r}")
    seeds = [str(s) for s in committed["seeds"]]
    if part == "readouts":
        return [committed[part][s][half][name][key] for s in seeds]
    return [committed[part][s][name][half][key] for s in seeds]


def readouts_table(committed: Mapping[str, Any]) -> Table:
    """The five readouts over the committed seeds: the numbers each head adds to the
    backbone, accuracy in each half, recall on right-half birds; mean (range)."""
    first = committed["readouts"][str(committed["seeds"][0])]
    rows = [
        [
            COMPARATORS[name],
            f"{first['head_parameters'][name]:,}",
            spread(readout_over_seeds(committed, "readouts", name, "left", "accuracy")),
            spread(readout_over_seeds(committed, "readouts", name, "right", "accuracy")),
            spread(readout_over_seeds(committed, "readouts", name, "right", "recall")),
        ]
        for name in COMPARATORS
    ]
    seeds = ", ".join(map(str, committed["seeds"]))
    return Table(
        ["readout", "numbers", "left", "right", "recall, right"],
        rows,
        caption="Trained on left-half birds: the numbers each head adds to the "
        "backbone, accuracy on birds in the left and in the right half, and recall on "
        f"right-half birds; mean (range) over seeds {seeds}",
    )


def controls_table(committed: Mapping[str, Any]) -> Table:
    """The backbone controls over the committed seeds: accuracy in each half."""
    rows = [
        [CONTROLS[name]]
        + [
            spread(readout_over_seeds(committed, "controls", name, half, "accuracy"))
            for half in ("left", "right")
        ]
        for name in CONTROLS
    ]
    seeds = ", ".join(map(str, committed["seeds"]))
    return Table(
        ["model", "accuracy, left", "accuracy, right"],
        rows,
        caption=f"What the head adds: mean (range) over seeds {seeds}",
    )
