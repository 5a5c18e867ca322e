"""Reading a vision transformer's attention as maps over the image.

A :class:`helpers.models.ViT` returns every layer's attention as (N, layers, heads,
T, T) weights, token 0 the class token and tokens 1 .. T - 1 the grid's cells row by
row. Two ways to turn them into one (h, w) map per image:

- :func:`class_attention`: the class token's row in one layer (by default the last):
  how much the token that gives the answer takes from each cell. In the last layer it
  is a weighting of the cells computed from this image, like chapter 4's attention
  pooling (its query, the class token, is itself computed by the earlier layers).
- :func:`attention_rollout` (Abnar & Zuidema 2020): the layers chained. Each layer
  adds its attention to the residual connection, so a token keeps half of itself::

      B_l = (A_l + I) / 2          A_l the heads' mean, (T, T); rows still sum to 1
      R   = B_L ... B_2 B_1        how much each output token draws from each input

  The class token's row of R, over the cells, says how much of each input cell
  reached the answer through all the layers (an approximation: it ignores the MLPs
  and the values).

- :func:`gradient_rollout` (Chefer et al. 2021): the rollout of the attention that
  mattered for *this* answer. Each head's weights are multiplied by the gradient of
  the bird logit with respect to them, the positive part kept and the heads averaged;
  the layers are chained through the residual connections::

      Abar_l = mean_h (dz/dA_lh * A_lh)^+
      R = I;  R = R + Abar_l R  for l = 1 .. L

  It needs the model itself (a gradient), not only its attention maps.

All three maps leave out what the class token takes from itself and are renormalised
over the cells, so each sums to 1 and :func:`helpers.metrics.attention_mass` can score
it (a map that is zero everywhere becomes the flat map).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from helpers.inference import eval_mode
from helpers.models import ViT

__all__ = ["class_attention", "attention_rollout", "gradient_rollout"]


def _check_maps(maps: object) -> torch.Tensor:
    if isinstance(maps, np.ndarray):
        maps = torch.from_numpy(maps)
    if not isinstance(maps, torch.Tensor):
        raise TypeError(
            f"maps must be a torch tensor or numpy array (N, layers, heads, T, T), got "
            f"{type(maps).__name__} (use model.attention_maps(images))"
        )
    if maps.ndim != 5 or maps.shape[-1] != maps.shape[-2]:
        raise ValueError(
            f"maps must have shape (N, layers, heads, T, T), got {tuple(maps.shape)}"
        )
    side = math.isqrt(maps.shape[-1] - 1)
    if maps.shape[-1] < 2 or side * side != maps.shape[-1] - 1:
        raise ValueError(
            f"T = {maps.shape[-1]} tokens is not a class token and a square grid "
            "(T = 1 + h * h)"
        )
    if not torch.is_floating_point(maps):
        raise TypeError(f"maps must hold floats, got {maps.dtype}")
    return maps.detach().double()


def _cells(row: torch.Tensor) -> np.ndarray:
    """(N, T) class-token rows -> (N, h, h) maps over the cells, each summing to 1
    (flat where a row has nothing on the cells)."""
    cells = row[:, 1:]
    total = cells.sum(dim=1, keepdim=True)
    flat = torch.full_like(cells, 1.0 / cells.shape[1])
    cells = torch.where(total > 0, cells / torch.where(total > 0, total, 1.0), flat)
    side = math.isqrt(cells.shape[1])
    return cells.reshape(len(cells), side, side).cpu().numpy()


def class_attention(
    maps: object, *, layer: int = -1, head: int | None = None
) -> np.ndarray:
    """The class token's attention over the grid in one layer: (N, h, w), sums to 1.

    Args:
        maps: (N, layers, heads, T, T) from ``ViT.attention_maps``.
        layer: which layer (-1, the last, by default).
        head: one head, or ``None`` for the mean over the heads.

    Two layers, one head, a 2x2 grid (T = 5 tokens, the cells are tokens 1 to 4).
    Every token attends to itself except: in layer 0 token 2 takes everything from
    token 1, in layer 1 the class token takes everything from token 2.

    >>> maps = torch.eye(5).repeat(1, 2, 1, 1, 1)  # (N, layers, heads, T, T)
    >>> maps[0, 0, 0, 2] = torch.tensor([0.0, 1.0, 0.0, 0.0, 0.0])
    >>> maps[0, 1, 0, 0] = torch.tensor([0.0, 0.0, 1.0, 0.0, 0.0])
    >>> np.round(class_attention(maps), 4)  # the last layer: token 2 only
    array([[[0., 1.],
            [0., 0.]]])
    """
    maps = _check_maps(maps)
    layers, heads = maps.shape[1], maps.shape[2]
    if (
        isinstance(layer, bool)
        or not isinstance(layer, int)
        or not -layers <= layer < layers
    ):
        raise ValueError(f"layer must be an int in [{-layers}, {layers}), got {layer!r}")
    if head is not None and (
        isinstance(head, bool) or not isinstance(head, int) or not 0 <= head < heads
    ):
        raise ValueError(f"head must be None or an int in [0, {heads}), got {head!r}")
    a = maps[:, layer]
    a = a.mean(dim=1) if head is None else a[:, head]
    return _cells(a[:, 0])


def attention_rollout(maps: object) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020): (N, h, w), each map summing to 1.

    ``R = B_L ... B_1`` with ``B_l = (mean over heads of A_l + I) / 2``; the class
    token's row of R over the cells, renormalised.

    The maps of :func:`class_attention`'s example: through the residual connections,
    token 2's input (token 1's cell) reached the class token as much as token 2's own.

    >>> maps = torch.eye(5).repeat(1, 2, 1, 1, 1)
    >>> maps[0, 0, 0, 2] = torch.tensor([0.0, 1.0, 0.0, 0.0, 0.0])
    >>> maps[0, 1, 0, 0] = torch.tensor([0.0, 0.0, 1.0, 0.0, 0.0])
    >>> np.round(attention_rollout(maps), 4)
    array([[[0.5, 0.5],
            [0. , 0. ]]])
    """
    maps = _check_maps(maps)
    n, layers, _, t, _ = maps.shape
    eye = torch.eye(t, dtype=maps.dtype)
    rollout = eye.expand(n, t, t)
    for layer in range(layers):
        b = (maps[:, layer].mean(dim=1) + eye) / 2
        rollout = b @ rollout
    return _cells(rollout[:, 0])


def gradient_rollout(
    vit: ViT, images: torch.Tensor, *, batch_size: int = 250
) -> np.ndarray:
    """Gradient-weighted attention rollout (Chefer et al. 2021): (N, h, w), sums to 1.

    For each layer l, Abar_l = mean over heads of (dz/dA_lh * A_lh) clipped at 0,
    with z the bird logit of each image; R = I, then R = R + Abar_l R for l = 1..L;
    the class token's row of R over the cells, renormalised. The model runs in eval
    mode; its parameters get no gradient.

    Args:
        vit: a :class:`~helpers.models.ViT`.
        images: (N, 3, H, W) float tensor.
    """
    if not isinstance(vit, ViT):
        raise TypeError(f"vit must be a helpers.models.ViT, got {type(vit).__name__}")
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        raise ValueError("images must be a float torch tensor of shape (N, 3, H, W)")
    dev = vit.cls.device
    rows = []
    with eval_mode(vit):
        for s in range(0, len(images), batch_size):
            x = vit.tokens(images[s : s + batch_size].to(dev))
            maps = []
            for block in vit.blocks:
                x, weights = block(x)
                maps.append(weights)
            z = vit.head(vit.norm(x[:, 0]))[:, 0]
            grads = torch.autograd.grad(z.sum(), maps)
            n, t = x.shape[0], x.shape[1]
            relevance = torch.eye(t, dtype=x.dtype, device=dev).expand(n, t, t)
            for a, g in zip(maps, grads, strict=True):
                weighted = (g * a).clamp_min(0).mean(dim=1)  # (n, T, T)
                relevance = relevance + weighted @ relevance
            rows.append(relevance[:, 0].detach().double().cpu())
    if not rows:
        return np.zeros((0, *vit.grid))
    return _cells(torch.cat(rows))
