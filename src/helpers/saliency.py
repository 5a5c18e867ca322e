"""Saliency: how much a model's bird logit depends on each pixel of *this* image.

For a model f (images -> logits) and one image x, the saliency is the gradient
dz/dx of the logit z = f(x) with respect to the pixels, computed by backpropagation
with the weights left unchanged (Simonyan et al. 2014 popularised it as a map). It
depends on the input, so it can move with the bird; the forward pass does not compute
it: it is read off afterwards, by backpropagation.

For a ReLU network it is still more than a diagnostic. Each ReLU multiplies its input by 0
or 1, a gate computed from the input; with the gates of one image x fixed, the network
is linear in its pixels, so its logit is exactly

    z(x) = dz/dx . x + c(x),

where c(x) is what the biases contribute through those gates (:func:`gated_offset`).
The gradient is then the *effective weight* of every pixel for this image: the MLP
does multiply its input by numbers computed from the input (the gates), which is why
"computed from the input and multiplied" alone does not single attention out
(chapter 6 states the criterion).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from helpers.inference import eval_mode
from helpers.models import MLP

__all__ = ["input_gradient", "saliency", "centroid", "relu_gates", "gated_offset"]


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


def _relu_mlp(model: nn.Module) -> MLP:
    if not isinstance(model, MLP) or model.activation != "relu":
        raise ValueError(
            "needs a helpers.models.MLP with activation='relu' (a piecewise linear "
            f"network), got {type(model).__name__}"
            + (f" with {model.activation}" if isinstance(model, MLP) else "")
        )
    return model


@torch.no_grad()
def relu_gates(model: nn.Module, images: np.ndarray | torch.Tensor) -> list[torch.Tensor]:
    """The 0/1 gates of a ReLU :class:`~helpers.models.MLP`'s hidden units for each
    image: one (N, width) float tensor per hidden layer, 1 where the unit's input is
    positive (the ReLU passes it) and 0 where it is not (the ReLU blocks it)."""
    model = _relu_mlp(model)
    with eval_mode(model):
        dev = next(model.parameters()).device
        h = model.inputs(_as_images(images).to(dev))
        gates = []
        for layer in model.layers[:-1]:
            pre = layer(h)
            gates.append((pre > 0).to(pre.dtype))
            h = torch.relu(pre)
    return [g.cpu() for g in gates]


@torch.no_grad()
def gated_offset(model: nn.Module, images: np.ndarray | torch.Tensor) -> np.ndarray:
    """c(x) of z(x) = dz/dx . x + c(x) for a ReLU MLP: (N, 3, H, W) -> (N,).

    The network with every hidden unit's gate fixed to its value for image x
    (:func:`relu_gates`), run on the all-zero image: what the biases (and the input
    rescaling 2 x - 1) add to the logit along the path x switches on. Computed without
    any gradient, so checking z(x) = dz/dx . x + c(x) against :func:`input_gradient`
    tests the identity rather than restating it.
    """
    model = _relu_mlp(model)
    x = _as_images(images)
    gates = relu_gates(model, x)
    with eval_mode(model):
        dev = next(model.parameters()).device
        h = model.inputs(torch.zeros_like(x).to(dev))
        for layer, gate in zip(model.layers[:-1], gates, strict=True):
            h = layer(h) * gate.to(dev)
        return model.layers[-1](h)[:, 0].cpu().numpy()
