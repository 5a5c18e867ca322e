"""Is an attention map an explanation? Two measurements (Jain & Wallace 2019).

- *Agreement*: does the attention map rank the regions the way occlusion does (how
  much the bird logit drops when a region is greyed out,
  :func:`helpers.occlusion.occlusion_map`)? :func:`rank_agreement` gives Spearman's rank
  correlation between two maps, one number per scene.
- *Faithfulness*: if attention points at what the model uses, greying out the regions
  it ranks highest should hurt the prediction more than greying out as many regions
  chosen at random. :func:`faithfulness` measures P(bird) before and after both.

Both are computed over many scenes, so a chapter can show their distribution, not one
example.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from helpers.inference import eval_mode

__all__ = ["ranks", "rank_agreement", "occlude_cells", "faithfulness"]


def _maps(name: str, x: object) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"{name} must have shape (N, h, w), got {x.shape}")
    return x


def ranks(values: np.ndarray) -> np.ndarray:
    """The rank of each value along the last axis, from 0, ties sharing their average
    rank: ``ranks([[3, 1, 1]]) == [[2, 0.5, 0.5]]``."""
    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(values, axis=-1, kind="stable")
    sorted_values = np.take_along_axis(values, order, axis=-1)
    n = values.shape[-1]
    position = np.broadcast_to(np.arange(n, dtype=np.float64), values.shape)
    out = np.empty_like(values)
    for index in np.ndindex(values.shape[:-1]):  # average the ranks of each run of ties
        row, pos = sorted_values[index], position[index].copy()
        starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
        ends = np.r_[starts[1:], n]
        for s, e in zip(starts, ends, strict=True):
            pos[s:e] = (s + e - 1) / 2
        out[index][order[index]] = pos
    return out


def rank_agreement(a: object, b: object) -> np.ndarray:
    """Spearman's rank correlation between two maps of each scene: (N,) in [-1, 1].

    Args:
        a, b: (N, h, w) maps (numpy or torch), e.g. attention weights and occlusion
            drops of the same scenes.

    Returns:
        For each scene, the correlation of the ranks of its h * w cells in ``a`` with
        their ranks in ``b``: 1 when both order the cells alike, 0 when unrelated, -1
        when reversed; NaN when a map is constant (no order to compare).
    """
    a, b = _maps("a", a), _maps("b", b)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    ra = ranks(a.reshape(len(a), -1))
    rb = ranks(b.reshape(len(b), -1))
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    norm = np.sqrt((ra**2).sum(axis=1) * (rb**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, (ra * rb).sum(axis=1) / norm, np.nan)


def occlude_cells(images: torch.Tensor, cells: np.ndarray, patch: int = 8) -> torch.Tensor:
    """A copy of ``images`` (N, 3, H, W) with the listed cells of each image set to the
    image's mean colour (the grey :func:`helpers.occlusion.occlusion_map` uses).

    ``cells`` (N, k) holds cell indices, row by row over the (H / patch) x (W / patch)
    grid."""
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] != 3:
        raise ValueError("images must be a torch tensor of shape (N, 3, H, W)")
    cells = np.asarray(cells)
    _, _, big_h, big_w = images.shape
    if isinstance(patch, bool) or not isinstance(patch, int) or patch < 1:
        raise ValueError(f"patch must be a positive int, got {patch!r}")
    if big_h % patch or big_w % patch:
        raise ValueError(f"patch {patch} does not divide {big_h}x{big_w} images")
    w = big_w // patch
    count = (big_h // patch) * w
    if (
        cells.ndim != 2
        or len(cells) != len(images)
        or not np.issubdtype(cells.dtype, np.integer)
    ):
        raise ValueError(
            f"cells must be ints of shape ({len(images)}, k), got {cells.shape}"
        )
    if cells.size and (cells.min() < 0 or cells.max() >= count):
        raise ValueError(f"cells must be indices from 0 to {count - 1}")
    out = images.clone()
    mean = images.mean(dim=(2, 3))  # (N, 3)
    for n, row in enumerate(cells):
        for c in row:
            r, col = divmod(int(c), w)
            out[n, :, r * patch : (r + 1) * patch, col * patch : (col + 1) * patch] = mean[
                n, :, None, None
            ]
    return out


@torch.no_grad()
def faithfulness(
    model: nn.Module, images: torch.Tensor, weights: object, k: int, *, seed: int = 0
) -> dict[str, np.ndarray]:
    """P(bird) before and after greying out the ``k`` cells a map ranks highest, and
    after greying out ``k`` cells chosen at random instead.

    Args:
        model: maps (N, 3, H, W) images to (N,) bird logits.
        images: (N, 3, H, W) float tensor.
        weights: (N, h, w) maps (e.g. the model's attention), one per image.
        k: how many cells to grey out, from 1 to h * w.
        seed: chooses the random cells.

    Returns:
        ``{"before", "top", "random"}``, each (N,) P(bird) (the model in eval mode).
    """
    maps = _maps("weights", weights)
    if len(maps) != len(images):
        raise ValueError(f"one map per image: {len(maps)} maps for {len(images)} images")
    cells = maps.shape[1] * maps.shape[2]
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= cells:
        raise ValueError(f"k must be an int from 1 to {cells}, got {k!r}")
    patch = images.shape[-1] // maps.shape[2]
    top = np.argsort(-maps.reshape(len(maps), -1), axis=1, kind="stable")[:, :k]
    rng = np.random.default_rng(seed)
    chosen = np.stack([rng.choice(cells, k, replace=False) for _ in range(len(maps))])
    dev = next(model.parameters()).device
    with eval_mode(model):
        probs = {
            name: torch.sigmoid(model(x.to(dev))).cpu().numpy().astype(np.float64)
            for name, x in (
                ("before", images),
                ("top", occlude_cells(images, top, patch)),
                ("random", occlude_cells(images, chosen, patch)),
            )
        }
    return probs
