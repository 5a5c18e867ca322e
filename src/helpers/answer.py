"""The course's answer, computed: what kind of weighting over positions a model applies.

Every model of the course multiplies something over the image's positions in its
forward pass. What differs is where those numbers come from:

- ``"none"``: every position gets the same weight (average pooling);
- ``"fixed"``: parameters, the same for every image (logistic regression's and the
  MLP's first-layer weights, one per pixel; the fixed learned mask);
- ``"computed from the input"``: activations, different for different images
  (attention pooling, a vision transformer's class-token attention).

:func:`position_weights` returns those numbers for each image, and
:func:`weighting_kind` decides which of the three they are by comparing images: a
yes/no the code computes, not a label typed into a table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from helpers.compare import position_data
from helpers.hunger import MLP_LR
from helpers.inference import eval_mode
from helpers.models import MLP, PooledCNN, ViT
from helpers.rollout import class_attention
from helpers.train import evaluate, fit

__all__ = [
    "KINDS",
    "ROWS",
    "position_weights",
    "weighting_kind",
    "parameter_count",
    "learned_by_backprop",
    "PIXEL_EPOCHS",
    "pixel_run",
]

KINDS = ("none", "fixed", "computed from the input")
"""The three kinds of weighting over positions, as :func:`weighting_kind` names them."""


ROWS = {
    "linear": "logistic regression",
    "mlp": "MLP",
    "avg": "CNN, average pooling",
    "mask": "CNN, fixed mask",
    "attention": "CNN, attention pooling",
    "vit": "ViT (hybrid)",
}
"""The course's models as chapter 6 compares them: key -> name."""


def position_weights(model: nn.Module, images: torch.Tensor) -> np.ndarray:
    """The weights the forward pass applies over positions, one map per image.

    - :class:`~helpers.models.MLP` (logistic regression included): the first layer's
      weights on each input pixel, d(first layer of unit j)/d(pixel), for each image
      (computed by autograd, so nothing is assumed): (N, units, 3, H, W), at most the
      first 8 units;
    - :class:`~helpers.models.PooledCNN`: its pooling weights, (N, h, w);
    - :class:`~helpers.models.ViT`: its class token's last-layer attention over the
      cells (heads averaged), (N, h, w).

    The model is run in eval mode; images (N, 3, H, W) float tensor.
    """
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        raise ValueError("images must be a float torch tensor of shape (N, 3, H, W)")
    if isinstance(model, PooledCNN):
        return model.pool_weights(images).cpu().numpy().astype(np.float64)
    if isinstance(model, ViT):
        return class_attention(model.attention_maps(images))
    if isinstance(model, MLP):
        first = model.layers[0]
        units = min(8, first.out_features)
        x = images.detach().clone().to(first.weight.device).requires_grad_(True)
        out = first(model.inputs(x))[:, :units]  # (N, units)
        grads = [
            torch.autograd.grad(out[:, j].sum(), x, retain_graph=j < units - 1)[0]
            for j in range(units)
        ]
        return torch.stack(grads, dim=1).detach().cpu().numpy().astype(np.float64)
    raise TypeError(
        f"model must be a helpers.models MLP, PooledCNN or ViT, got {type(model).__name__}"
    )


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
    if isinstance(model, MLP):  # one weight per pixel for each unit
        flat = weights.reshape(len(weights), weights.shape[1], -1)
    if np.allclose(flat, flat[..., :1], atol=atol):
        return "none"
    return "fixed"


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
        seed: the scenes (:func:`helpers.compare.position_data`), the initial weights
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
