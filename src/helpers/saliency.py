"""Saliency: how much a model's bird logit depends on each pixel of *this* image.

For a model f (images -> logits) and one image x, the saliency is the gradient
dz/dx of the logit z = f(x) with respect to the pixels, computed by backpropagation
with the weights left unchanged (Simonyan et al. 2014 popularised it as a map). It
depends on the input, so it can move with the bird; but the model never uses it: it
is read off after the forward pass, which computed z without it.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from helpers.inference import eval_mode

__all__ = ["input_gradient", "saliency", "centroid"]


def _as_images(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(np.ascontiguousarray(images))
    if not isinstance(images, torch.Tensor):
        raise TypeError(
            f"images must be a numpy array or torch tensor (N, 3, H, W), "
            f"got {type(images).__name__}"
        )
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must have shape (N, 3, H, W), got {tuple(images.shape)}")
    if not torch.is_floating_point(images):
        raise TypeError(f"images must be floats in [0, 1], got dtype {images.dtype}")
    return images.float()


def input_gradient(model: nn.Module, images: np.ndarray | torch.Tensor) -> np.ndarray:
    """dz_n/dx_n for every image: (N, 3, H, W) -> (N, 3, H, W), as numpy.

    The model runs in eval mode; its parameters get no gradient and do not change.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch nn.Module, got {type(model).__name__}")
    x = _as_images(images).clone().requires_grad_(True)
    flags = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        dev = next(model.parameters()).device
        with eval_mode(model):
            logits = model(x.to(dev))
            (grad,) = torch.autograd.grad(logits.sum(), x)  # image n only moves logit n
    finally:
        for p, flag in zip(model.parameters(), flags, strict=True):
            p.requires_grad_(flag)
    return grad.numpy()


def saliency(model: nn.Module, images: np.ndarray | torch.Tensor) -> np.ndarray:
    """The saliency map of every image: (N, 3, H, W) -> (N, H, W).

    Each pixel's value is the length of its gradient over the colour channels,
    sqrt(sum_c (dz/dx_c)^2): how strongly the logit responds to changing that pixel.
    """
    grad = input_gradient(model, images)
    return np.sqrt((grad.astype(np.float64) ** 2).sum(axis=1))


def centroid(maps: np.ndarray) -> np.ndarray:
    """Centres of mass of non-negative maps (N, H, W) -> (N, 2): (y, x) as fractions
    of the height and width (pixel centres at (i + 0.5) / H), as the scenes' centres."""
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 3:
        raise ValueError(f"maps must have shape (N, H, W), got {maps.shape}")
    if (maps < 0).any():
        raise ValueError("maps must be non-negative (e.g. a saliency map)")
    total = maps.sum(axis=(1, 2))
    if (total <= 0).any():
        raise ValueError("every map must have some positive mass")
    _, h, w = maps.shape
    ys = (np.arange(h) + 0.5) / h
    xs = (np.arange(w) + 0.5) / w
    y = (maps.sum(axis=2) * ys).sum(axis=1) / total
    x = (maps.sum(axis=1) * xs).sum(axis=1) / total
    return np.stack([y, x], axis=1)
