"""Numbers that score a model or a data set.

- Where a pooling map looks: :func:`attention_mass`, the share of a map that falls on
  the bird, always shown beside :func:`flat_mass`, what an evenly spread map would get.
- What a model's decision rests on: :func:`occlusion_map`, the drop in the bird logit
  when each patch of an image is greyed out to the image's mean colour.
- Whether a *shortcut* solves the bird task: a synthetic data set is only useful if
  no trivial feature (mean brightness, mean colour) gives the label away.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from helpers.inference import eval_mode

__all__ = [
    "attention_mass",
    "flat_mass",
    "occlusion_map",
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


def _check_images(images: object) -> torch.Tensor:
    """N x 3 x H x W float images (numpy or torch) -> a torch tensor, or a clear error."""
    if isinstance(images, np.ndarray):
        if not np.issubdtype(images.dtype, np.floating):
            raise TypeError(f"images must hold floats, got dtype {images.dtype}")
        images = torch.from_numpy(np.array(images))  # a copy: any strides, writable
    elif not isinstance(images, torch.Tensor):
        raise TypeError(
            f"images must be a numpy array or a torch tensor, got {type(images).__name__}"
        )
    elif not torch.is_floating_point(images):
        raise TypeError(f"images must hold floats, got dtype {images.dtype}")
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must have shape (N, 3, H, W), got {tuple(images.shape)}")
    return images


def _logits(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    out = model(images)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (len(images),):
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"model must map N images to (N,) logits; got {got}")
    return out.double()


def occlusion_map(
    model: nn.Module, images: object, *, patch: int = 8, batch_size: int = 256
) -> np.ndarray:
    """How much the bird logit drops when each patch is replaced by the image's mean.

    The image is cut into h x w cells of patch x patch pixels. For image n and cell
    (i, j), the cell's pixels are set to the image's mean colour (each channel's mean
    over the whole image) and::

        map[n, i, j] = logit(image n) - logit(image n with cell (i, j) occluded)

    Positive: the cell supported "bird"; negative: it spoke against it. The model runs
    in eval mode without gradients on its parameters' device and dtype, on the N*h*w
    occluded copies in chunks of ``batch_size``; its training flags are restored after.

    Args:
        model: a ``torch.nn.Module`` mapping (B, 3, H, W) float images to (B,) logits.
        images: (N, 3, H, W) floats, a numpy array or a torch tensor.
        patch: the cell's side in pixels, a positive int dividing H and W.
        batch_size: how many occluded images the model sees at once.

    Returns:
        (N, h, w) float64 numpy array, h = H / patch, w = W / patch.

    Raises:
        TypeError: a model that is not an ``nn.Module``, images that are not a float
            numpy array or torch tensor.
        ValueError: images not (N, 3, H, W), a patch that is not a positive int or does
            not divide H and W, a batch_size that is not a positive int, a model that
            does not return (B,) logits.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    x = _check_images(images)
    for name, value in (("patch", patch), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    n, _, big_h, big_w = x.shape
    if big_h % patch or big_w % patch:
        raise ValueError(f"patch {patch} does not divide {big_h}x{big_w} images")
    h, w = big_h // patch, big_w // patch

    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None and param.is_floating_point() else x.dtype
    x = x.to(device=device, dtype=dtype)
    mean = x.mean(dim=(2, 3), keepdim=True)  # (N, 3, 1, 1)
    row = torch.arange(big_h, device=device) // patch  # (H,) the cell row of each pixel
    col = torch.arange(big_w, device=device) // patch  # (W,) the cell column
    with eval_mode(model), torch.no_grad():
        base = torch.zeros(n, dtype=torch.float64, device=device)
        for s in range(0, n, batch_size):
            base[s : s + batch_size] = _logits(model, x[s : s + batch_size])
        drops = torch.zeros(n * h * w, dtype=torch.float64, device=device)
        for s in range(0, n * h * w, batch_size):  # copy t: image t // hw, cell t % hw
            t = torch.arange(s, min(s + batch_size, n * h * w), device=device)
            img, cell = t // (h * w), t % (h * w)
            in_row = row[None, :] == (cell // w)[:, None]  # (B, H)
            in_col = col[None, :] == (cell % w)[:, None]  # (B, W)
            inside = in_row[:, None, :, None] & in_col[:, None, None, :]  # (B, 1, H, W)
            occluded = torch.where(inside, mean[img], x[img])
            drops[t] = base[img] - _logits(model, occluded)
    return drops.reshape(n, h, w).cpu().numpy()


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
