"""Chapter 4's controlled comparison: three pooling heads on one shared backbone.

The three heads (average, fixed learned mask, attention) share a single CNN backbone
and train together, one loss per head, so they see identical features and differ only
in how they weight the regions. The attention head has two queries: query 0 answers
"is there a bird?", query 1 "is there a leaf?", so one image and one set of weights
can be asked two questions.

:func:`position_experiment` is the chapter's main experiment (birds only in the left
half during training, tested in both halves); ``experiments/chapter4.py`` runs it over
several seeds, and the notebook runs one seed live.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import ExitStack
from typing import Any

import numpy as np
import torch

from helpers.inference import eval_mode
from helpers.left_right import position_data
from helpers.metrics import attention_mass, flat_mass
from helpers.models import POOLS, Backbone, PooledCNN
from helpers.scenes import Scenes
from helpers.tables import Table, spread
from helpers.train import CNN_LR, fit

__all__ = [
    "three_heads",
    "bird_and_leaf_targets",
    "measure",
    "outputs",
    "position_experiment",
    "query_masses",
    "HEADS",
    "HEAD_VARIANTS",
    "heads_over_seeds",
    "heads_live_table",
    "heads_seeds_table",
]


def three_heads(
    *, padding: str = "circular", separate: bool = False
) -> dict[str, PooledCNN]:
    """The heads ``avg``, ``mask`` and ``attention`` (2 queries: bird, leaf).

    Args:
        padding: the backbone's padding, ``"circular"`` or ``"zeros"``.
        separate: give each head its own backbone (three independent models) instead
            of one shared backbone.
    """
    shared = None if separate else Backbone(padding=padding)
    return {
        pool: PooledCNN(
            pool,
            backbone=shared if shared is not None else Backbone(padding=padding),
            queries=2 if pool == "attention" else 1,
        )
        for pool in POOLS
    }


def bird_and_leaf_targets(scenes: Scenes) -> np.ndarray:
    """(N, 2) targets: column 0 "there is a bird", column 1 "there is a leaf"."""
    return np.stack([scenes.labels, scenes.leaf_masks.any(axis=(1, 2))], axis=1).astype(
        np.int64
    )


@torch.no_grad()
def outputs(
    models: Mapping[str, PooledCNN], images: torch.Tensor, batch_size: int = 500
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each model's bird logits (N,) and pooling weights (N, h, w), in eval mode.

    For images (N, 3, H, W), on the models' device (they must share one); the weights
    are those of query 0. Models that share a backbone get its features computed once
    per batch, not once per model."""
    devices = {next(m.parameters()).device for m in models.values()}
    if len(devices) != 1:
        raise ValueError(
            f"the models must be on one device, got {sorted(map(str, devices))}"
        )
    (dev,) = devices
    parts: dict[str, list] = {name: [] for name in models}
    with ExitStack() as modes:
        for m in models.values():
            modes.enter_context(eval_mode(m))
        for i in range(0, len(images), batch_size):
            x, features = images[i : i + batch_size].to(dev), {}
            for name, m in models.items():
                if id(m.backbone) not in features:
                    features[id(m.backbone)] = m._features(x)  # checks the sizes
                f = features[id(m.backbone)]
                logits = m.logits_from_features(f)[:, 0].cpu().numpy()
                parts[name].append((logits, m.pool_features(f)[1][:, 0].cpu().numpy()))
    if not len(images):
        return {n: (np.zeros(0), np.zeros((0, *m.grid))) for n, m in models.items()}
    return {
        name: tuple(np.concatenate(a) for a in zip(*got, strict=True))
        for name, got in parts.items()
    }


def measure(models: Mapping[str, PooledCNN], scenes: Scenes) -> dict[str, dict[str, float]]:
    """For each head, accuracy, recall, false-alarm rate and attention mass.

    The mass is the mean on the bird scenes, beside the flat baseline (the bird's share
    of the grid)."""
    bird = scenes.labels == 1
    results = {}
    for name, (logits, weights) in outputs(models, torch.from_numpy(scenes.images)).items():
        said_bird = logits > 0
        mass = attention_mass(weights[bird], scenes.masks[bird])
        results[name] = {
            "accuracy": float((said_bird == bird).mean()),
            "recall": float(said_bird[bird].mean()),
            "false_alarm": float(said_bird[~bird].mean()),
            "mass": float(mass.mean()),
            "flat": float(flat_mass(scenes.masks[bird], weights.shape[1:]).mean()),
        }
    return results


def query_masses(model: PooledCNN, scenes: Scenes) -> dict[str, float]:
    """Where each query of a two-query attention model looks.

    On scenes holding both a bird and a leaf: the mass of the bird query and of the
    leaf query on the bird and on the leaves, with the flat baselines."""
    both = (scenes.labels == 1) & scenes.leaf_masks.any(axis=(1, 2))
    if not both.any():
        raise ValueError("no scene holds both a bird and a leaf")
    images = torch.from_numpy(scenes.images[both])
    bird_masks, leaf_masks = scenes.masks[both], scenes.leaf_masks[both]
    bird_q = model.pool_weights(images, query=0)
    leaf_q = model.pool_weights(images, query=1)
    grid = tuple(bird_q.shape[1:])
    return {
        "bird_query_on_bird": float(attention_mass(bird_q, bird_masks).mean()),
        "bird_query_on_leaves": float(attention_mass(bird_q, leaf_masks).mean()),
        "leaf_query_on_bird": float(attention_mass(leaf_q, bird_masks).mean()),
        "leaf_query_on_leaves": float(attention_mass(leaf_q, leaf_masks).mean()),
        "flat_bird": float(flat_mass(bird_masks, grid).mean()),
        "flat_leaves": float(flat_mass(leaf_masks, grid).mean()),
        "scenes": int(both.sum()),
    }


def position_experiment(
    seed: int,
    *,
    padding: str = "circular",
    separate: bool = False,
    data: dict[str, Scenes] | None = None,
    epochs: int = 6,
    on_epoch: Callable[[int, dict[str, PooledCNN]], None] | None = None,
    progress: bool = True,
    optimizer: str = "adamw",
    lr: float = CNN_LR,
) -> tuple[dict[str, PooledCNN], dict[str, Any]]:
    """Train the three heads on left-half birds; measure them in both halves.

    ``optimizer`` and ``lr`` go to :func:`~helpers.train.fit` (its defaults are
    chapter 4's recipe).

    Returns:
        The trained heads and a dict
        ``{"left": measure(...), "right": measure(...), "seconds": training time}``.
    """
    data = data if data is not None else position_data(seed)
    heads = three_heads(padding=padding, separate=separate)
    callback = None if on_epoch is None else (lambda epoch: on_epoch(epoch, heads))
    targets = bird_and_leaf_targets(data["train"])
    if separate:
        seconds = 0.0
        for model in heads.values():
            history = fit(
                model,
                data["train"],
                targets=targets,
                epochs=epochs,
                seed=seed,
                progress=progress,
                optimizer=optimizer,
                lr=lr,
            )
            seconds += history.seconds
    else:
        history = fit(
            heads,
            data["train"],
            targets=targets,
            epochs=epochs,
            seed=seed,
            on_epoch=callback,
            progress=progress,
            optimizer=optimizer,
            lr=lr,
        )
        seconds = history.seconds
    result = {
        "left": measure(heads, data["left"]),
        "right": measure(heads, data["right"]),
        "queries": query_masses(heads["attention"], data["left"]),
        "seconds": seconds,
    }
    return heads, result


# ----------------------------------------------------------------------------------
# Reading the results: live runs and the committed seeds (experiments/chapter4.json)

HEADS = {"avg": "average", "mask": "fixed mask", "attention": "attention"}
"""The heads' names in the results, and how tables and figures title them."""

HEAD_VARIANTS = {
    "circular": "circular padding, shared backbone",
    "zeros": "zero padding, shared backbone",
    "separate": "circular padding, three separate models",
}
"""The experiment's variants in ``experiments/chapter4.json``, and what each means."""

_COLUMNS = {
    "accuracy": "accuracy",
    "recall": "recall",
    "false_alarm": "false alarms",
    "mass": "mass on bird",
}


def heads_over_seeds(
    committed: Mapping[str, Any], variant: str, half: str, head: str, key: str
) -> list[float]:
    """One number of the committed results, for every seed (in ``committed["seeds"]``).

    E.g. ``heads_over_seeds(load("chapter4"), "circular", "right", "mask", "accuracy")``.
    """
    if variant not in HEAD_VARIANTS:
        raise ValueError(f"variant must be one of {list(HEAD_VARIANTS)}, got {variant!r}")
    if half not in ("left", "right"):
        raise ValueError(f"half must be 'left' or 'right', got {half!r}")
    if head not in HEADS or key not in _COLUMNS:
        raise ValueError(
            f"head must be one of {list(HEADS)} and key one of {list(_COLUMNS)}, "
            f"got {head!r} and {key!r}"
        )
    return [committed[variant][str(s)][half][head][key] for s in committed["seeds"]]


def _times(mass: float, flat: float) -> str:
    return f"{mass / flat:.1f}" if flat > 0 else "n/a"  # no bird pixel: no baseline


def heads_live_table(result: Mapping[str, Mapping[str, float]], caption: str) -> Table:
    """A :func:`measure` result as a table: one row per head, with the flat baseline
    and the mass as a multiple of it."""
    rows = [
        [HEADS.get(name, name)]
        + [f"{r[k]:.3f}" for k in ("accuracy", "recall", "false_alarm")]
        + [f"{r['mass']:.2f}", f"{r['flat']:.2f}", _times(r["mass"], r["flat"])]
        for name, r in result.items()
    ]
    columns = ["head", *_COLUMNS.values(), "flat", "times flat"]
    return Table(columns, rows, caption=caption)


def heads_seeds_table(committed: Mapping[str, Any], variant: str, half: str) -> Table:
    """The committed seeds of one variant and half: mean (range) of each number."""
    rows = [
        [HEADS[head]]
        + [spread(heads_over_seeds(committed, variant, half, head, k)) for k in _COLUMNS]
        for head in HEADS
    ]
    seeds = ", ".join(map(str, committed["seeds"]))
    caption = f"{HEAD_VARIANTS[variant]}, {half} half: mean (range) over seeds {seeds}"
    return Table(["head", *_COLUMNS.values()], rows, caption=caption)
