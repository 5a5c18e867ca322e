"""Chapter 3: translation equivariance of a CNN backbone, measured.

A map f is *equivariant* to shifts when shifting the input shifts the output the same
way: f(shift(x)) = shift(f(x)). Convolutions are, by construction, on an image that
wraps around (circular padding): every position is computed by the same filter. The
course's :class:`~helpers.models.Backbone` then max-pools three times, so its grid
cell is ``stride`` = 8 pixels: a shift by a multiple of 8 pixels moves the grid by
whole cells, exactly; other shifts move the bird *within* the pooling windows, and the
features change. Zero padding breaks equivariance near the border: there the filters
see zeros, so the features know where the border is (Islam et al. 2020, Kayhan & van
Gemert 2020).

:func:`shift_errors` measures f(shift(x)) against shift(f(x)) for a list of shifts;
:func:`border_profile` measures where, across the grid, zero padding breaks it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from helpers.inference import eval_mode
from helpers.models import Backbone

__all__ = ["shift_images", "shift_errors", "border_profile"]


def _check(backbone: object, images: object) -> torch.Tensor:
    if not isinstance(backbone, Backbone):
        raise TypeError(
            f"backbone must be a helpers.models.Backbone, got {type(backbone).__name__}"
        )
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(np.ascontiguousarray(images))
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] != 3:
        shape = getattr(images, "shape", None)
        raise ValueError(f"images must be (N, 3, H, W) floats, got shape {shape}")
    if images.dtype != torch.float32:
        raise TypeError(f"images must be float32, got {images.dtype}")
    return images


def shift_images(images: torch.Tensor, dx: int) -> torch.Tensor:
    """Images (N, 3, H, W) shifted right by ``dx`` pixels, wrapping around.

    >>> images = torch.arange(4.0).expand(1, 3, 1, 4)  # one row of 4 pixels
    >>> shift_images(images, 1)[0, 0, 0]
    tensor([3., 0., 1., 2.])
    """
    if isinstance(dx, bool) or not isinstance(dx, (int, np.integer)):
        raise TypeError(f"dx must be an int number of pixels, got {dx!r}")
    return torch.roll(images, shifts=int(dx), dims=-1)


@torch.no_grad()
def shift_errors(
    backbone: Backbone, images: np.ndarray | torch.Tensor, shifts: Sequence[int]
) -> dict[str, np.ndarray]:
    """How far the backbone is from equivariant, for each horizontal shift.

    For a shift of ``dx`` pixels, the features of the shifted images are compared
    with the features of the originals rolled by the nearest whole number of cells,
    round(dx / stride), and with the originals' global average (the "avg" head's
    pooled vector), which a shift by whole cells leaves unchanged.

    Returns:
        ``shifts`` (S,); ``map_error`` (S,): ``norm(f(shift x) - roll(f(x))) / norm(f(x))``
        over all features (0 = exactly equivariant); ``pooled_error`` (S,): the same for
        the features averaged over the grid (0 = exactly invariant).

    An untrained backbone (circular padding) shifted by one cell (8 pixels), then by
    half a cell:

    >>> from helpers.models import Backbone
    >>> _ = torch.manual_seed(0)
    >>> backbone = Backbone(channels=(4, 4, 4, 4))
    >>> images = torch.rand(2, 3, 32, 32)
    >>> errors = shift_errors(backbone, images, shifts=[8, 4])["map_error"]
    >>> bool(errors[0] < 1e-5), bool(errors[1] > 0.1)
    (True, True)
    """
    images = _check(backbone, images)
    with eval_mode(backbone):
        f = backbone(images)
        pooled = f.mean(dim=(2, 3))
        map_error, pooled_error = [], []
        for dx in shifts:
            g = backbone(shift_images(images, dx))
            cells = int(round(dx / backbone.stride))
            rolled = torch.roll(f, shifts=cells, dims=-1)
            map_error.append(float((g - rolled).norm() / f.norm()))
            pooled_error.append(float((g.mean(dim=(2, 3)) - pooled).norm() / pooled.norm()))
    return {
        "shifts": np.asarray(list(shifts)),
        "map_error": np.asarray(map_error),
        "pooled_error": np.asarray(pooled_error),
    }


@torch.no_grad()
def border_profile(backbone: Backbone, images: np.ndarray | torch.Tensor) -> np.ndarray:
    """Where across the grid a shift by one cell breaks equivariance: (w,) errors.

    The images are shifted right by ``stride`` pixels (one cell); for each grid column
    the error ``norm(f(shift x) - roll(f(x), 1)) / norm(f(x))`` over that column's
    features. With circular padding every column is 0; with zero padding the columns
    next to the borders are not.

    >>> from helpers.models import Backbone
    >>> _ = torch.manual_seed(0)
    >>> images = torch.rand(2, 3, 32, 32)  # a 4x4 grid of cells
    >>> small = Backbone(channels=(4, 4, 4, 4))
    >>> np.round(border_profile(small, images), 4).tolist()
    [0.0, 0.0, 0.0, 0.0]
    >>> zeros = Backbone(channels=(4, 4, 4, 4), padding="zeros")
    >>> bool(border_profile(zeros, images)[0] > 0.01)
    True
    """
    images = _check(backbone, images)
    with eval_mode(backbone):
        f = backbone(images)
        g = backbone(shift_images(images, backbone.stride))
    diff = (g - torch.roll(f, shifts=1, dims=-1)).pow(2).sum(dim=(0, 1, 2)).sqrt()
    scale = f.pow(2).sum(dim=(0, 1, 2)).sqrt()
    return (diff / scale).numpy()
