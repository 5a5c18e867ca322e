"""Occlusion: what a model's decision rests on, measured by greying out its input.

:func:`occlusion_map` cuts an image into cells and greys out one at a time (to the
image's mean colour): the drop in the bird logit says how much the decision rested on
that cell. What "greyed out" means is a choice (Zeiler & Fergus 2014 used grey; a
flat grey square is itself something the model never saw in training), so the fill
can also be the image blurred (:func:`blurred`) or the same cell of another image (a
scene without the bird), and the occluded square can span several cells (``window``).

It sits beside :mod:`helpers.saliency` (the gradient: what a small change
would do) and :mod:`helpers.cam` (the classifier read over the feature grid); chapter
6 scores attention maps against it (:mod:`helpers.explanation`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from helpers.inference import eval_mode

__all__ = ["FILLS", "blurred", "occlusion_map"]

FILLS = ("mean", "blur")
"""The named fills of :func:`occlusion_map` (an array of images is the third kind)."""


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


def blurred(images: torch.Tensor, sigma: float = 4.0) -> torch.Tensor:
    """(N, 3, H, W) images blurred by a Gaussian of ``sigma`` pixels (edges reflected):
    a fill that keeps each region's colours but not its shapes.

    >>> x = torch.zeros(1, 3, 16, 16)
    >>> x[..., 8, 8] = 1.0
    >>> y = blurred(x, sigma=2.0)
    >>> round(float(y.sum() / x.sum()), 3), bool(y.max() < 0.1)
    (1.0, True)
    """
    x = _check_images(images)
    if not (isinstance(sigma, (int, float)) and not isinstance(sigma, bool) and sigma > 0):
        raise ValueError(f"sigma must be a positive number, got {sigma!r}")
    radius = max(1, int(3 * sigma))
    if radius >= min(x.shape[-2:]):
        raise ValueError(f"sigma {sigma} is too large for {tuple(x.shape[-2:])} images")
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    g = torch.exp(-(t**2) / (2 * sigma**2))
    kernel = torch.outer(g, g) / g.sum() ** 2  # (k, k), sums to 1
    padded = torch.nn.functional.pad(x, (radius,) * 4, mode="reflect")
    return torch.nn.functional.conv2d(padded, kernel.expand(3, 1, -1, -1), groups=3)


def occlusion_map(
    model: nn.Module,
    images: object,
    *,
    patch: int = 8,
    fill: str | object = "mean",
    window: int = 1,
    batch_size: int = 256,
) -> np.ndarray:
    """How much the bird logit drops when each patch is replaced by the image's mean.

    The image is cut into h x w cells of patch x patch pixels. For image n and cell
    (i, j), the cell's pixels are set to the image's mean colour (each channel's mean
    over the whole image) and::

        map[n, i, j] = logit(image n) - logit(image n with cell (i, j) occluded)

    Positive: the cell supported "bird"; negative: it spoke against it. The model runs
    in eval mode without gradients on its parameters' device and dtype, on the N*h*w
    occluded copies in chunks of ``batch_size``; its training flags are restored after.

    With ``window`` k > 1, each occluded square is k x k cells (wrapping around the
    edges, as the course's circular backbone does), one square per top-left cell, and
    a cell's value is the mean drop of the k * k squares that cover it.

    Args:
        model: a ``torch.nn.Module`` mapping (B, 3, H, W) float images to (B,) logits.
        images: (N, 3, H, W) floats, a numpy array or a torch tensor.
        patch: the cell's side in pixels, a positive int dividing H and W.
        fill: what replaces the occluded pixels: ``"mean"`` (each image's mean
            colour), ``"blur"`` (the image blurred, :func:`blurred` with sigma =
            patch / 2), or (N, 3, H, W) images whose pixels are used (e.g. the same
            scenes without the bird).
        window: the occluded square's side in cells, from 1 to min(h, w).
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
    if (
        isinstance(window, bool)
        or not isinstance(window, int)
        or not 1 <= window <= min(h, w)
    ):
        raise ValueError(f"window must be an int from 1 to {min(h, w)}, got {window!r}")
    if isinstance(fill, str):
        if fill not in FILLS:
            raise ValueError(f"fill must be one of {FILLS} or images, got {fill!r}")
    else:
        fill = _check_images(fill)
        if fill.shape != x.shape:
            raise ValueError(
                f"fill images must have the images' shape {tuple(x.shape)}, "
                f"got {tuple(fill.shape)}"
            )

    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None and param.is_floating_point() else x.dtype
    x = x.to(device=device, dtype=dtype)
    if isinstance(fill, torch.Tensor):
        fills = fill.to(device=device, dtype=dtype)
    elif fill == "blur":
        fills = blurred(x, sigma=patch / 2)
    else:
        fills = x.mean(dim=(2, 3), keepdim=True).expand_as(x)  # (N, 3, H, W)
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
            in_row = (row[None, :] - (cell // w)[:, None]) % h < window  # (B, H)
            in_col = (col[None, :] - (cell % w)[:, None]) % w < window  # (B, W)
            inside = in_row[:, None, :, None] & in_col[:, None, None, :]  # (B, 1, H, W)
            occluded = torch.where(inside, fills[img], x[img])
            drops[t] = base[img] - _logits(model, occluded)
    squares = drops.reshape(n, h, w)  # by the top-left cell of each square
    covered = sum(  # each cell: the mean of the squares that cover it
        torch.roll(squares, (a, b), dims=(1, 2))
        for a in range(window)
        for b in range(window)
    )
    return (covered / window**2).cpu().numpy()
