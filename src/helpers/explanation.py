"""Is an attention map an explanation? Two measurements (Jain & Wallace 2019).

- *Agreement*: does the attention map rank the regions the way occlusion does (how
  much the bird logit drops when a region is greyed out,
  :func:`helpers.occlusion.occlusion_map`)? :func:`rank_agreement` gives Spearman's rank
  correlation between two maps, one number per scene.
- *Faithfulness*: if attention points at what the model uses, greying out the regions
  it ranks highest should hurt the prediction more than greying out as many regions
  chosen at random. :func:`faithfulness` measures P(bird) before and after both.

Both are computed over many scenes, so a chapter can show their distribution, not one
example. And each needs its control, or it measures something else:

- agreement is dominated by the many cells that matter little, so beside Spearman
  there are measures of the top alone: :func:`top_k_overlap` (do two maps pick the
  same k cells?) and :func:`pointing_game` (is a map's top cell on the bird? Zhang et
  al. 2018);
- greying out the cells that hold the bird hurts *any* model that finds birds, so
  :func:`grey_top` ranks the cells by any map (attention, occlusion, the bird itself
  :func:`bird_per_cell`, or at random) and greys them for any model, e.g. one that does
  not attend at all.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from helpers.inference import eval_mode
from helpers.metrics import region_cells

__all__ = [
    "ranks",
    "rank_agreement",
    "top_k_overlap",
    "bird_per_cell",
    "pointing_game",
    "occlude_cells",
    "grey_top",
    "faithfulness",
]


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


def _top(maps: np.ndarray, k: int) -> np.ndarray:
    """(N, k) indices of each map's k largest cells (row by row), ties by position."""
    return np.argsort(-maps.reshape(len(maps), -1), axis=1, kind="stable")[:, :k]


def _check_k(k: object, cells: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= cells:
        raise ValueError(f"k must be an int from 1 to {cells}, got {k!r}")
    return k


def top_k_overlap(a: object, b: object, k: int) -> np.ndarray:
    """The share of map ``a``'s k largest cells that are among ``b``'s k largest:
    (N,) in [0, 1].

    >>> a = np.array([[[0.5, 0.3], [0.1, 0.1]]])
    >>> b = np.array([[[0.4, 0.0], [0.6, 0.0]]])
    >>> top_k_overlap(a, b, 1), top_k_overlap(a, b, 2)
    (array([0.]), array([0.5]))
    """
    a, b = _maps("a", a), _maps("b", b)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    k = _check_k(k, a.shape[1] * a.shape[2])
    ta, tb = _top(a, k), _top(b, k)
    return np.array([len(np.intersect1d(x, y)) / k for x, y in zip(ta, tb, strict=True)])


def bird_per_cell(masks: object, grid: tuple[int, int]) -> np.ndarray:
    """The share of each cell's pixels that are bird: (N, H, W) masks -> (N, h, w).

    A map that ranks the cells by the bird itself, the answer an explanation of "is
    there a bird?" is expected to point at.

    >>> masks = np.zeros((1, 4, 4), bool)
    >>> masks[0, :2, :1] = True  # half of the top-left 2x2 cell
    >>> bird_per_cell(masks, (2, 2))
    array([[[0.5, 0. ],
            [0. , 0. ]]])
    """
    m = masks.detach().cpu().numpy() if hasattr(masks, "detach") else np.asarray(masks)
    if m.ndim != 3 or m.dtype != bool:
        raise ValueError(f"masks must be booleans of shape (N, H, W), got {m.shape}")
    (n, big_h, big_w), (h, w) = m.shape, grid
    if h < 1 or w < 1 or big_h % h or big_w % w:
        raise ValueError(f"a {big_h}x{big_w} mask does not cut into a {h}x{w} grid")
    return m.reshape(n, h, big_h // h, w, big_w // w).mean(axis=(2, 4))


def pointing_game(maps: object, masks: object) -> np.ndarray:
    """Whether each map's largest cell is on the bird (any of its pixels): (N,) bool.

    The pointing game (Zhang et al. 2018): the share of hits over scenes with a bird
    says how often a map's top points at the object. Ties go to the first cell.

    >>> maps = np.array([[[0.1, 0.7], [0.1, 0.1]]])
    >>> masks = np.zeros((1, 4, 4), bool)
    >>> masks[0, 0, 3] = True  # a bird pixel in the top-right cell
    >>> pointing_game(maps, masks)
    array([ True])
    """
    m = _maps("maps", maps)
    on_bird = region_cells(np.asarray(masks), m.shape[1:]).reshape(len(m), -1)
    if len(on_bird) != len(m):
        raise ValueError(f"one mask per map: {len(on_bird)} masks for {len(m)} maps")
    return on_bird[np.arange(len(m)), _top(m, 1)[:, 0]]


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
def grey_top(
    model: nn.Module, images: torch.Tensor, maps: object, k: int, *, batch_size: int = 500
) -> np.ndarray:
    """P(bird) after greying out the ``k`` cells each image's map ranks highest.

    Args:
        model: maps (N, 3, H, W) images to (N,) bird logits; run in eval mode.
        images: (N, 3, H, W) float tensor.
        maps: (N, h, w), one per image: any ranking of the cells (attention, an
            occlusion map, :func:`bird_per_cell`, random numbers).
        k: how many cells to grey out, from 1 to h * w.

    Returns:
        (N,) float64 P(bird) of the greyed images (:func:`occlude_cells`).
    """
    m = _maps("maps", maps)
    if len(m) != len(images):
        raise ValueError(f"one map per image: {len(m)} maps for {len(images)} images")
    k = _check_k(k, m.shape[1] * m.shape[2])
    greyed = occlude_cells(images, _top(m, k), images.shape[-1] // m.shape[2])
    dev = next(model.parameters()).device
    with eval_mode(model):
        out = [
            torch.sigmoid(model(greyed[s : s + batch_size].to(dev)).double()).cpu()
            for s in range(0, len(greyed), batch_size)
        ]
    return torch.cat(out).numpy() if out else np.zeros(0)


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
