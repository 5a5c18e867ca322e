"""Numbers that score a model or a data set.

For now: how well a *shortcut* solves the bird task. A synthetic data set is only useful
if no trivial feature (mean brightness, mean colour) gives the label away.
"""

from __future__ import annotations

import numpy as np

__all__ = ["best_threshold_accuracy", "linear_probe_accuracy", "colour_features"]


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
