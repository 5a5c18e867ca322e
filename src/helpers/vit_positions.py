"""Chapter 5's position experiment: are learned positional embeddings weights again?

Chapter 4 trained its pooling heads on birds in the left half only and tested them in
both halves: the fixed learned mask (one weight per position) lost the right-half
birds. Here two vision transformers go through the same test, on the same scenes
(:func:`helpers.left_right.position_data`): one adds a learned embedding to each token
position (``"learned"``), one has no positional embedding at all (``"none"``). A
learned positional embedding is one vector of parameters per position, fixed after
training: weights over positions, like the mask.

Each model trains in its own call of :func:`helpers.train.fit` from the same seed:
the same batches, in the same order. So each is its own recipe of
:mod:`helpers.recipes` (``"chapter5-vit"`` and ``"chapter5-vit-none"``), and a later
chapter that needs only one of them trains or loads only that one.
``experiments/chapter5.py`` runs the experiment over three seeds; the notebook runs
seed 0 live.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from helpers.left_right import position_data
from helpers.metrics import attention_mass, flat_mass
from helpers.models import POSITIONS, STEMS, ViT
from helpers.rollout import attention_rollout, class_attention
from helpers.scenes import Scenes
from helpers.tables import Table, spread
from helpers.train import CNN_LR, VIT_LR, accuracy, fit, predict_logits

__all__ = [
    "VIT_VARIANTS",
    "position_vits",
    "measure_vit",
    "position_run",
    "merge_runs",
    "vit_live_table",
    "vit_seeds_table",
    "vit_over_seeds",
    "rolled_positions",
    "roll_effect",
]

VIT_VARIANTS = {"learned": "learned positions", "none": "no positions"}
"""The two models of the experiment (their ``position``), and how tables name them."""


def position_vits(stem: str = "conv") -> dict[str, ViT]:
    """The two untrained models: ``{"learned": ViT(...), "none": ViT(position="none")}``.

    Args:
        stem: ``"conv"`` (the hybrid, the chapter's model) or ``"patches"``.
    """
    if stem not in STEMS:
        raise ValueError(f"stem must be one of {STEMS}, got {stem!r}")
    return {position: ViT(position=position, stem=stem) for position in POSITIONS}


@torch.no_grad()
def measure_vit(model: ViT, scenes: Scenes) -> dict[str, float]:
    """Accuracy, recall, false-alarm rate, and where the class token looks.

    ``mass`` is the mean share of the class token's last-layer attention (heads
    averaged, over the cells) on the bird, ``rollout`` the same for the attention
    rollout, ``flat`` what an evenly spread map would get; all over the bird scenes.
    """
    if not isinstance(model, ViT):
        raise TypeError(f"model must be a helpers.models.ViT, got {type(model).__name__}")
    if not isinstance(scenes, Scenes) or not (scenes.labels == 1).any():
        raise ValueError("scenes must be a Scenes holding at least one bird")
    said_bird = predict_logits(model, scenes.images) > 0
    bird = scenes.labels == 1
    maps = model.attention_maps(torch.from_numpy(scenes.images[bird]))
    masks = scenes.masks[bird]
    return {
        "accuracy": float((said_bird == bird).mean()),
        "recall": float(said_bird[bird].mean()),
        "false_alarm": float(said_bird[~bird].mean()) if (~bird).any() else float("nan"),
        "mass": float(attention_mass(class_attention(maps), masks).mean()),
        "rollout": float(attention_mass(attention_rollout(maps), masks).mean()),
        "flat": float(flat_mass(masks, model.grid).mean()),
    }


def position_run(
    seed: int,
    *,
    stem: str = "conv",
    variants: tuple[str, ...] = tuple(VIT_VARIANTS),
    data: dict[str, Scenes] | None = None,
    progress: bool = True,
) -> tuple[dict[str, ViT], dict[str, Any]]:
    """Train each model on left-half birds (6 epochs); measure it in both halves.

    Args:
        seed: the scenes (:func:`helpers.left_right.position_data`), the initial weights
            and the batches (the same for every model).
        stem: ``"conv"`` (hybrid, learning rate ``CNN_LR``) or ``"patches"`` (pure
            ViT, ``VIT_LR``).
        variants: which models to train, from ``VIT_VARIANTS``; each trains alone, so
            one trained here is the same model whichever others train beside it.
        data: the scenes of ``position_data(seed)`` when already made.
        progress: show fit's progress bar.

    Returns:
        The trained models, and a dict: for ``"left"`` and ``"right"``,
        ``{variant: measure_vit(model, test scenes)}``; ``"seconds"``, the training
        time.
    """
    if stem not in STEMS:
        raise ValueError(f"stem must be one of {STEMS}, got {stem!r}")
    unknown = [v for v in variants if v not in VIT_VARIANTS]
    if unknown or not variants or len(set(variants)) != len(variants):
        raise ValueError(
            f"variants must be distinct names from {tuple(VIT_VARIANTS)}, got {variants!r}"
        )
    data = data if data is not None else position_data(seed)
    lr = VIT_LR if stem == "patches" else CNN_LR
    models: dict[str, ViT] = {}
    seconds = 0.0
    for variant in variants:
        models[variant] = ViT(position=variant, stem=stem)
        history = fit(
            {variant: models[variant]},
            data["train"],
            seed=seed,
            lr=lr,
            progress=progress,
        )
        seconds += history.seconds
    result: dict[str, Any] = {
        half: {name: measure_vit(m, data[half]) for name, m in models.items()}
        for half in ("left", "right")
    }
    result["seconds"] = seconds
    return models, result


def merge_runs(
    *runs: tuple[dict[str, ViT], dict[str, Any]],
) -> tuple[dict[str, ViT], dict[str, Any]]:
    """Several :func:`position_run` results (each ``(models, result)``, on the same
    scenes, with different variants) as one: the models side by side, the
    measurements of each half together, the training times added."""
    models: dict[str, ViT] = {}
    result: dict[str, Any] = {"left": {}, "right": {}, "seconds": 0.0}
    for run_models, run_result in runs:
        if set(run_models) & set(models):
            raise ValueError(f"runs overlap: {sorted(set(run_models) & set(models))}")
        models |= run_models
        for half in ("left", "right"):
            result[half] |= run_result[half]
        result["seconds"] += run_result["seconds"]
    return models, result


_COLUMNS = {
    "accuracy": "accuracy",
    "recall": "recall",
    "mass": "class token",
    "rollout": "rollout",
    "flat": "flat",
}


def vit_live_table(result: Mapping[str, Any], caption: str) -> Table:
    """One run of :func:`position_run` as a table: a row per model and half."""
    rows = [
        [f"{VIT_VARIANTS[name]}, {half}"]
        + [
            f"{result[half][name][k]:.{2 if k in ('mass', 'rollout', 'flat') else 3}f}"
            for k in _COLUMNS
        ]
        for name in VIT_VARIANTS
        for half in ("left", "right")
    ]
    return Table(["model, test half", *_COLUMNS.values()], rows, caption=caption)


def vit_over_seeds(
    committed: Mapping[str, Any], stem: str, half: str, variant: str, key: str
) -> list[float]:
    """One number of ``experiments/chapter5.json``'s position runs, for every seed.

    E.g. ``vit_over_seeds(load("chapter5"), "conv", "right", "learned", "accuracy")``.
    """
    if stem not in STEMS or half not in ("left", "right") or variant not in VIT_VARIANTS:
        raise ValueError(
            f"expected stem in {STEMS}, half 'left' or 'right', variant in "
            f"{tuple(VIT_VARIANTS)}; got {stem!r}, {half!r}, {variant!r}"
        )
    if key not in (*_COLUMNS, "false_alarm"):
        raise ValueError(f"key must be one of {[*_COLUMNS, 'false_alarm']}, got {key!r}")
    runs = committed["positions"][stem]
    return [runs[str(s)][half][variant][key] for s in committed["seeds"]]


def vit_seeds_table(committed: Mapping[str, Any], stem: str = "conv") -> Table:
    """The committed seeds: mean (range) of the accuracy and of the class token's and
    the rollout's mass on the bird, a row per model and half; the flat baseline's
    mean in the caption (it hardly varies)."""
    keys = ("accuracy", "mass", "rollout")
    rows = [
        [f"{VIT_VARIANTS[v]}, {half}"]
        + [spread(vit_over_seeds(committed, stem, half, v, k)) for k in keys]
        for v in VIT_VARIANTS
        for half in ("left", "right")
    ]
    flat = [
        x
        for v in VIT_VARIANTS
        for h in ("left", "right")
        for x in vit_over_seeds(committed, stem, h, v, "flat")
    ]
    seeds = ", ".join(map(str, committed["seeds"]))
    return Table(
        ["model, test half", *(_COLUMNS[k] for k in keys)],
        rows,
        caption=f"mean (range) over seeds {seeds}; flat baseline {np.mean(flat):.2f}",
    )


def rolled_positions(vit: ViT, columns: int) -> ViT:
    """A copy of ``vit`` whose learned positional embeddings of the grid's cells are
    rolled by ``columns`` columns to the right (wrapping around), the class token's
    left as it was: the vector that belonged to cell (i, j) now goes to cell
    (i, j + columns). Nothing is trained; an intervention on the parameters.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> vit = ViT().eval()
    >>> moved = rolled_positions(vit, 2)
    >>> cells = vit.pos[0, 1:].reshape(6, 6, -1)
    >>> bool(torch.equal(moved.pos[0, 1:].reshape(6, 6, -1)[:, 2], cells[:, 0]))
    True
    """
    if not isinstance(vit, ViT) or vit.position != "learned":
        raise TypeError("vit must be a helpers.models.ViT with learned positions")
    if isinstance(columns, bool) or not isinstance(columns, int):
        raise ValueError(f"columns must be an int, got {columns!r}")
    moved = copy.deepcopy(vit)
    h, w = vit.grid
    with torch.no_grad():
        cells = moved.pos[0, 1:].reshape(h, w, -1)
        moved.pos[0, 1:] = torch.roll(cells, columns, dims=1).reshape(h * w, -1)
    return moved


def roll_effect(
    vit: ViT, data: dict[str, Scenes], columns: int = 3
) -> dict[str, dict[str, float]]:
    """Test accuracy in each half of ``data`` (:func:`helpers.left_right.position_data`)
    before and after :func:`rolled_positions`: ``{"as trained" | "rolled": {"left",
    "right"}}``. If the right-half deficit comes from the embeddings, it moves with
    them."""
    models = {"as trained": vit, "rolled": rolled_positions(vit, columns)}
    return {
        name: {half: accuracy(m, data[half]) for half in ("left", "right")}
        for name, m in models.items()
    }
