"""Occlusion: what a model's decision rests on, measured by greying out its input.

:func:`occlusion_map` cuts an image into cells and greys out one at a time (to the
image's mean colour): the drop in the bird logit says how much the decision rested on
that cell. It sits beside :mod:`helpers.saliency` (the gradient: what a small change
would do) and :mod:`helpers.cam` (the classifier read over the feature grid); chapter
6 scores attention maps against it (:mod:`helpers.explanation`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from helpers.inference import eval_mode

__all__ = ["occlusion_map"]


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
