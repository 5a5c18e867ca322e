"""Numbers that score a model or a data set.

- Where a pooling map looks: :func:`attention_mass`, the share of a map that falls on
  the bird, always shown beside :func:`flat_mass`, what an evenly spread map would get.
- Whether a *shortcut* solves the bird task: a synthetic data set is only useful if
  no trivial feature (mean brightness, mean colour) gives the label away.

``helpers.metrics.occlusion_map`` still answers (a name the course's design promises),
but the function lives beside :mod:`helpers.saliency` and :mod:`helpers.cam`, in
:mod:`helpers.occlusion`.
"""

from __future__ import annotations

import numpy as np

from helpers.occlusion import occlusion_map  # noqa: F401 (the promised name, re-exported)

__all__ = [
    "attention_mass",
    "flat_mass",
    "region_cells",
    "best_threshold_accuracy",
    "linear_probe_accuracy",
    "colour_features",
]


def _as_numpy(x: object) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def region_cells(masks: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """Which grid cells a pixel mask touches: (N, H, W) bool -> (N, h, w) bool.

    The image is cut into h x w equal cells (H and W must be multiples of h and w);
    a cell belongs to the region when any of its pixels does.
    """
    m = _as_numpy(masks)
    if m.ndim != 3 or m.dtype != bool:
        raise ValueError(
            f"masks must be booleans of shape (N, H, W), got {m.dtype} {m.shape}"
        )
    (n, big_h, big_w), (h, w) = m.shape, grid
    if h < 1 or w < 1 or big_h % h or big_w % w:
        raise ValueError(f"a {big_h}x{big_w} mask does not cut into a {h}x{w} grid")
    return m.reshape(n, h, big_h // h, w, big_w // w).any(axis=(2, 4))


def attention_mass(weights: object, masks: object) -> np.ndarray:
    """The share of each pooling map that falls on the bird: (N,) in [0, 1].

    Args:
        weights: (N, h, w) maps, each summing to 1 (numpy or torch).
        masks: (N, H, W) bool bird masks; the map is brought to the mask's resolution
            by cells: a cell is on the bird when any of its pixels is.

    Returns:
        For each scene, the summed weight of the cells the bird touches (0 for a scene
        without a bird). Compare it with :func:`flat_mass`.
    """
    w = _as_numpy(weights).astype(np.float64)
    m = _as_numpy(masks)
    if w.ndim != 3:
        raise ValueError(f"weights must have shape (N, h, w), got {w.shape}")
    if m.ndim != 3 or len(m) != len(w):
        raise ValueError(f"masks must have shape ({len(w)}, H, W), got {m.shape}")
    if not np.allclose(w.sum(axis=(1, 2)), 1.0, atol=1e-4):
        raise ValueError("each map of weights must sum to 1 (a pooling or attention map)")
    return (w * region_cells(m, w.shape[1:])).sum(axis=(1, 2))


def flat_mass(masks: object, grid: tuple[int, int]) -> np.ndarray:
    """The mass an evenly spread map puts on the bird: its share of the grid, (N,)."""
    return region_cells(masks, grid).mean(axis=(1, 2))


def _check_xy(
    features: np.ndarray, labels: np.ndarray, ndim: int
) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels)
    if x.ndim != ndim:
        raise ValueError(f"expected features with {ndim} dimension(s), got shape {x.shape}")
    if y.shape != (len(x),):
        raise ValueError(f"expected labels of shape ({len(x)},), got {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 or 1")
    return x, y.astype(np.int64)


def colour_features(images: np.ndarray) -> np.ndarray:
    """Per-image mean of each channel and mean brightness: (N, 3, H, W) -> (N, 4)."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"expected images of shape (N, 3, H, W), got {images.shape}")
    rgb = images.mean(axis=(2, 3), dtype=np.float64)
    return np.concatenate([rgb, rgb.mean(axis=1, keepdims=True)], axis=1)


def best_threshold_accuracy(
    train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray
) -> float:
    """Accuracy on the test set of the best one-number rule "x > t" (or "x < t").

    The threshold and direction are chosen on the training set. Inputs: (N,) features
    and (N,) 0/1 labels.
    """
    x, y = _check_xy(train_x, train_y, 1)
    tx, ty = _check_xy(test_x, test_y, 1)
    order = np.argsort(x)
    xs, ys = x[order], y[order]
    # accuracy of "x > xs[i]" for every cut i: ones above the cut plus zeros at or below
    zeros_below = np.concatenate([[0], np.cumsum(ys == 0)])
    ones_above = np.concatenate([[0], np.cumsum(ys[::-1] == 1)])[::-1]
    acc_above = (zeros_below + ones_above) / len(x)
    cut = int(np.argmax(np.maximum(acc_above, 1 - acc_above)))
    t = -np.inf if cut == 0 else xs[cut - 1]
    above = acc_above[cut] >= 0.5
    pred = (tx > t) if above else (tx <= t)
    return float((pred.astype(np.int64) == ty).mean())


def linear_probe_accuracy(
    train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray
) -> float:
    """Test accuracy of a least-squares linear classifier on (N, D) features."""
    x, y = _check_xy(train_x, train_y, 2)
    tx, ty = _check_xy(test_x, test_y, 2)
    if tx.shape[1] != x.shape[1]:
        raise ValueError(f"train has {x.shape[1]} features, test has {tx.shape[1]}")
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-12
    design = np.column_stack([(x - mean) / std, np.ones(len(x))])
    w, *_ = np.linalg.lstsq(design, 2.0 * y - 1.0, rcond=None)
    scores = np.column_stack([(tx - mean) / std, np.ones(len(tx))]) @ w
    return float(((scores > 0).astype(np.int64) == ty).mean())
