"""The course's answer, computed: what kind of weighting over positions a model applies.

Every model of the course multiplies something over the image's positions in its
forward pass. What differs is where those numbers come from:

- ``"none"``: every position gets the same weight (average pooling; also
  squeeze-and-excitation, whose computed weights are over channels, not positions);
- ``"fixed"``: parameters, the same for every image (a flatten -> linear readout's
  weights, one per channel and cell; logistic regression's weights, one per pixel;
  the fixed learned mask);
- ``"computed from the input"``: different for different images (attention pooling, a
  vision transformer's class-token attention, a sigmoid gate per cell; max pooling's
  choice of cell; and a ReLU MLP's effective weight on each pixel, its logit's
  gradient, because its ReLU gates are computed from the input).

The last kind is a family, not attention alone. :func:`normalised` separates one more
property: whether each image's weights are non-negative and sum to 1 over the
positions, so that positions compete for a fixed amount of weight (the softmax of
attention, and of the fixed mask). Attention is the member that is both computed
from the input and normalised, by comparing content (a query against keys); chapter 6
states the criterion.

:func:`position_weights` returns those numbers for each image, and
:func:`weighting_kind` decides which of the three they are by comparing images: a
yes/no the code computes, not a label typed into a table. :func:`what_matters` gives
every model's "what matters here" map, the ones it multiplies by and the ones read off
it; :func:`pixel_run` trains logistic regression and the MLP on chapter 4's scenes
(they stay at chance there, which is why they are not rows of :data:`ROWS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from helpers.cam import cell_contributions, class_activation_map
from helpers.comparators import readout_over_seeds
from helpers.gating import GatedCNN
from helpers.inference import eval_mode
from helpers.left_right import position_data
from helpers.models import MLP, PooledCNN, ReadoutCNN, ViT
from helpers.rollout import class_attention
from helpers.saliency import input_gradient
from helpers.train import MLP_LR, evaluate, fit
from helpers.vit_positions import vit_over_seeds

__all__ = [
    "KINDS",
    "ROWS",
    "position_weights",
    "weighting_kind",
    "normalised",
    "parameter_count",
    "learned_by_backprop",
    "PIXEL_EPOCHS",
    "pixel_run",
    "SEED_ROWS",
    "seeds_of",
    "MAP_NAMES",
    "MULTIPLIED",
    "READ_OFF",
    "check_models",
    "what_matters",
]

KINDS = ("none", "fixed", "computed from the input")
"""The three kinds of weighting over positions, as :func:`weighting_kind` names them."""


ROWS = {
    "flatten": "CNN, flatten → linear",
    "avg": "CNN, average pooling",
    "mask": "CNN, fixed mask",
    "attention": "CNN, attention pooling",
    "vit": "ViT (hybrid)",
}
"""The course's models as chapter 6 compares them: key -> name. All read chapter 4's
convolutional features (the flatten readout on chapter 4's backbone, frozen; the ViT
on a backbone of its own); the pixel models, at chance on these scenes, are not rows."""


def position_weights(model: nn.Module, images: torch.Tensor) -> np.ndarray:
    """The weights the forward pass applies over positions, one map per image.

    - :class:`~helpers.models.MLP` (logistic regression included): the effective
      weight of each input pixel for this image, the logit's gradient dz/dx (for a
      ReLU MLP z(x) = dz/dx . x + c(x) exactly, :func:`helpers.saliency.gated_offset`;
      for logistic regression the same weights for every image): (N, 3, H, W);
    - :class:`~helpers.models.PooledCNN`: its pooling weights, (N, h, w);
    - :class:`~helpers.gating.GatedCNN`: the factor each cell's value is multiplied
      by, (N, h, w) (gates over cells; uniform for squeeze-and-excitation);
    - :class:`~helpers.models.ReadoutCNN`: ``"flatten"``, its classifier's weight on
      each channel at each cell, (N, C, h, w) (the same for every image); ``"max"``,
      1 where each channel takes its largest value and 0 elsewhere, (N, C, h, w);
    - :class:`~helpers.models.ViT`: its class token's last-layer attention over the
      cells (heads averaged), (N, h, w).

    The model is run in eval mode; images (N, 3, H, W) float tensor.
    """
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        raise ValueError("images must be a float torch tensor of shape (N, 3, H, W)")
    if isinstance(model, PooledCNN):
        return model.pool_weights(images).cpu().numpy().astype(np.float64)
    if isinstance(model, ReadoutCNN):
        return _readout_weights(model, images)
    if isinstance(model, ViT):
        return class_attention(model.attention_maps(images))
    if isinstance(model, GatedCNN):
        return model.pool_weights(images).cpu().numpy().astype(np.float64)
    if isinstance(model, MLP):
        return input_gradient(model, images).astype(np.float64)
    raise TypeError(
        "model must be a helpers.models MLP, PooledCNN, ReadoutCNN or ViT, or a "
        "helpers.gating.GatedCNN, got "
        f"{type(model).__name__}"
    )


@torch.no_grad()
def _readout_weights(model: ReadoutCNN, images: torch.Tensor) -> np.ndarray:
    """A ReadoutCNN's weights over its cells, per channel: (N, C, h, w)."""
    with eval_mode(model):
        f = model.backbone(images.to(next(model.parameters()).device))  # (N, C, h, w)
    if model.readout == "flatten":
        w = model.classifier.weight[0].view(f.shape[1:])
        return w.expand_as(f).cpu().numpy().astype(np.float64)
    top = f.flatten(2).argmax(dim=2)  # (N, C): each channel's largest cell
    chosen = torch.nn.functional.one_hot(top, f.shape[2] * f.shape[3])
    return chosen.view(f.shape).cpu().numpy().astype(np.float64)


def weighting_kind(model: nn.Module, images: torch.Tensor, *, atol: float = 1e-6) -> str:
    """``"none"``, ``"fixed"`` or ``"computed from the input"`` (see :data:`KINDS`):
    the model's :func:`position_weights` compared across ``images`` (at least 2,
    different images).

    Uniform over the positions for every image: none; the same for every image:
    fixed; else computed from the input.
    """
    if len(images) < 2:
        raise ValueError("weighting_kind needs at least 2 images to compare")
    weights = position_weights(model, images)
    if not np.allclose(weights, weights[:1], atol=atol):
        return "computed from the input"
    flat = weights.reshape(len(weights), -1)
    if isinstance(model, ReadoutCNN):  # one weight per position for each channel
        flat = weights.reshape(len(weights), weights.shape[1], -1)
    if np.allclose(flat, flat[..., :1], atol=atol):
        return "none"
    return "fixed"


def normalised(model: nn.Module, images: torch.Tensor, *, atol: float = 1e-5) -> bool:
    """Whether the model's weights over positions (:func:`position_weights`) are
    normalised for every one of ``images`` (N, 3, H, W): non-negative and summing to
    1 over the positions (per channel for a :class:`~helpers.models.ReadoutCNN`), so
    that more weight on one position means less on the others.

    True for the softmax maps (the fixed mask, attention pooling, the ViT's class
    token) and for uniform ones (average pooling); False for signed weights (a
    flatten readout, an MLP's effective weights) and for gates that need not sum to
    1 (a sigmoid gate per cell).
    """
    weights = position_weights(model, images)
    per_map = weights.reshape(len(weights), weights.shape[1], -1)
    if not isinstance(model, ReadoutCNN):
        per_map = weights.reshape(len(weights), 1, -1)
    return bool(
        (per_map >= -atol).all() and np.allclose(per_map.sum(-1), 1.0, atol=atol * 10)
    )


def parameter_count(*models: nn.Module) -> int:
    """The number of learned numbers in ``models``, each shared parameter once (heads
    that share a backbone count it once)."""
    if not models or not all(isinstance(m, nn.Module) for m in models):
        raise TypeError("parameter_count takes one or more torch nn.Modules")
    seen = {id(p): p.numel() for m in models for p in m.parameters()}
    return int(sum(seen.values()))


def learned_by_backprop(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor
) -> bool:
    """Whether every parameter of ``model`` gets a gradient from the loss: True when
    backpropagation of the binary cross-entropy of its logits on (images (N, 3, H,
    W), labels (N,) in {0, 1}) reaches every one of its parameter tensors (some entry
    non-zero), so gradient descent trains them all. The model's gradients are left
    as they were."""
    if not isinstance(model, nn.Module) or not any(True for _ in model.parameters()):
        raise TypeError("model must be a torch nn.Module with parameters")
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        raise ValueError("images must be a float torch tensor of shape (N, 3, H, W)")
    if not isinstance(labels, torch.Tensor) or labels.shape != (len(images),):
        raise ValueError(f"labels must be a torch tensor of shape ({len(images)},)")
    params = [p for p in model.parameters() if p.requires_grad]
    if len(params) < len(list(model.parameters())):
        return False
    dev = params[0].device
    with eval_mode(model):
        logits = model(images.to(dev))
        loss = nn.functional.binary_cross_entropy_with_logits(
            logits, labels.to(dev, logits.dtype)
        )
        grads = torch.autograd.grad(loss, params, allow_unused=True)
    return all(g is not None and bool((g != 0).any()) for g in grads)


PIXEL_EPOCHS = 10
"""Epochs of the pixel models' training (60,000 scenes seen; chapter 2's MLPs see at
least 40,000)."""


def pixel_run(
    seed: int,
    *,
    data: dict[str, Any] | None = None,
    progress: bool = True,
) -> tuple[dict[str, nn.Module], dict[str, Any]]:
    """Logistic regression (``MLP(hidden=())``) and chapter 2's ``MLP()`` on the raw
    pixels of chapter 4's left-half birds, trained together (each its own loss, the
    same batches; ``PIXEL_EPOCHS`` epochs at chapter 2's learning rate), measured in
    both halves.

    Args:
        seed: the scenes (:func:`helpers.left_right.position_data`), the initial weights
            and the batches.
        data: the scenes of ``position_data(seed)`` when already made.
        progress: show fit's progress bar.

    Returns:
        ``({"linear": ..., "mlp": ...}, info)``; ``info[half][name]`` is
        :func:`helpers.train.evaluate`'s dict for ``half`` ``"left"`` and
        ``"right"``, ``info["seconds"]`` the training time.
    """
    data = data if data is not None else position_data(seed)
    models: dict[str, nn.Module] = {"linear": MLP(hidden=()), "mlp": MLP()}
    history = fit(
        models, data["train"], seed=seed, lr=MLP_LR, epochs=PIXEL_EPOCHS, progress=progress
    )
    info: dict[str, Any] = {
        half: {n: evaluate(m, data[half]) for n, m in models.items()}
        for half in ("left", "right")
    }
    info["seconds"] = history.seconds
    return models, info


SEED_ROWS = {
    "flatten": "flatten, ch. 4's backbone",
    "flatten_own": "flatten, own backbone",
    "avg": ROWS["avg"],
    "mask": ROWS["mask"],
    "attention": ROWS["attention"],
    "vit": ROWS["vit"],
}
"""The rows of chapter 6's table over three seeds: :data:`ROWS`, and the flatten
readout trained together with its own backbone (chapter 4's comparators)."""


def seeds_of(
    committed: Mapping[str, Mapping[str, Any]],
    row: str,
    half: str,
    metric: str = "accuracy",
) -> np.ndarray:
    """One number of row ``row`` for every committed seed, from the experiment that
    trained it.

    Args:
        committed: ``{"chapter4", "chapter5", "chapter6", "comparators"}``, each
            ``helpers.results.load`` of that experiment.
        row: a key of :data:`SEED_ROWS`.
        half: ``"left"`` or ``"right"``.
        metric: ``"accuracy"``, ``"recall"`` or ``"false_alarm"``.

    Returns:
        (seeds,) floats.
    """
    if row not in SEED_ROWS:
        raise ValueError(f"row must be one of {list(SEED_ROWS)}, got {row!r}")
    if half not in ("left", "right") or metric not in ("accuracy", "recall", "false_alarm"):
        raise ValueError(f"unknown half {half!r} or metric {metric!r}")
    need = {"flatten": "chapter6", "flatten_own": "comparators", "vit": "chapter5"}
    source = need.get(row, "chapter4")
    if source not in committed:
        raise ValueError(f"row {row!r} needs committed[{source!r}]")
    results = committed[source]
    if row == "vit":
        values = vit_over_seeds(results, "conv", half, "learned", metric)
    elif row == "flatten_own":
        values = readout_over_seeds(results, "readouts", "flatten", half, metric)
    else:
        field, name = ("flatten", "flatten") if row == "flatten" else ("circular", row)
        values = [results[field][str(s)][half][name][metric] for s in results["seeds"]]
    return np.asarray(values, dtype=np.float64)


# ----------------------------------------------------------------------------------
# Every model's "what matters here" map: multiplied by, or read off after.


MAP_NAMES = {
    "flatten": "flatten's weights",
    "mask": "fixed mask",
    "attention": "attention pooling",
    "vit": "ViT class token",
    "flatten_terms": "flatten's W·f",
    "avg": "avg pooling's CAM",
}
"""Each map's key and how chapter 6 names it (the models' keys are :data:`ROWS`)."""
MULTIPLIED = ("flatten", "mask", "attention", "vit")
"""The maps the forward pass multiplies by."""
READ_OFF = ("flatten_terms", "avg")
"""The maps read off a trained model after the fact."""

_EXPECTED = {
    "flatten": 'ReadoutCNN("flatten")',
    "avg": 'PooledCNN("avg")',
    "mask": 'PooledCNN("mask")',
    "attention": 'PooledCNN("attention")',
    "vit": "ViT()",
}


def check_models(models: object) -> dict[str, nn.Module]:
    """``models`` as a dict, checked: the five keys of :data:`ROWS`, each the model
    chapter 6 expects there (``TypeError``/``ValueError`` saying which is not)."""
    if not isinstance(models, Mapping) or set(models) != set(_EXPECTED):
        got = sorted(models) if isinstance(models, Mapping) else type(models).__name__
        raise ValueError(f"models must be a dict with keys {sorted(_EXPECTED)}, got {got}")
    for name, model in models.items():
        if name == "flatten":
            ok = isinstance(model, ReadoutCNN) and model.readout == "flatten"
        elif name == "vit":
            ok = isinstance(model, ViT)
        else:
            ok = isinstance(model, PooledCNN) and model.pool == name
        if not ok:
            raise TypeError(
                f"models[{name!r}] must be a {_EXPECTED[name]}, got {type(model).__name__}"
            )
    return dict(models)


def _share(maps: np.ndarray) -> np.ndarray:
    """Non-negative maps (N, h, w) scaled to sum to 1 each (flat where all zero)."""
    total = maps.sum(axis=(1, 2), keepdims=True)
    flat = np.full_like(maps, 1.0 / (maps.shape[1] * maps.shape[2]))
    return np.where(total > 0, maps / np.where(total > 0, total, 1.0), flat)


def what_matters(
    models: Mapping[str, nn.Module], images: np.ndarray | torch.Tensor
) -> dict[str, np.ndarray]:
    """Every map of :data:`MAP_NAMES` for each image, non-negative and summing to 1.

    Args:
        models: ``{"flatten", "avg", "mask", "attention", "vit"}``: a flatten ->
            linear readout, chapter 4's three heads and chapter 5's ViT
            (:func:`helpers.recipes.course_models`).
        images: (N, 3, H, W) float images.

    Returns:
        ``{name: maps}``, each (N, h, w) over the grid's cells: ``"flatten"`` the
        size of the readout's weights at each cell, summed over channels (the same
        for every image); ``"flatten_terms"`` and ``"avg"`` what each cell adds to
        the logit (:func:`helpers.cam.cell_contributions`, clipped at 0); the
        others the weights the model pools with.
    """
    models = check_models(models)
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(np.ascontiguousarray(images))
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] != 3:
        raise ValueError("images must be float images of shape (N, 3, H, W)")
    weights = np.abs(position_weights(models["flatten"], images[:1])).sum(axis=1)
    raw = {
        "flatten": np.repeat(weights, len(images), axis=0),
        "mask": position_weights(models["mask"], images),
        "attention": position_weights(models["attention"], images),
        "vit": position_weights(models["vit"], images),
        "flatten_terms": np.clip(cell_contributions(models["flatten"], images), 0, None),
        "avg": np.clip(class_activation_map(models["avg"], images), 0.0, None),
    }
    return {name: _share(np.asarray(raw[name], dtype=np.float64)) for name in MAP_NAMES}
