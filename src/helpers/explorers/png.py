"""Pictures for live views: arrays -> PNG bytes in a few milliseconds.

A live explorer redraws on every slider move, so its pictures skip matplotlib's figure
machinery: a scene, a weight map or a grid of values is coloured with numpy and encoded
by Pillow. The colours are the book's (:data:`~helpers.viz.CMAP`,
:data:`~helpers.viz.DIVERGING`), so a live picture matches the static frame of the
same explorer. Only the colour bar, drawn once per explorer, uses matplotlib.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from helpers.viz import CMAP, DIVERGING, DPI, PIXEL_RATIO, to_hwc

__all__ = ["colour", "to_png", "overlay_png", "signed_png", "colorbar_png"]


def colour(values: np.ndarray, cmap: str, vmin: float, vmax: float) -> np.ndarray:
    """A map of values (H, W) in ``cmap``'s colours, vmin to vmax (clipped beyond), as
    an image (3, H, W) for :func:`to_png`: the live views' fixed colour scales.

    >>> colour(np.array([[0.0, 1.0]]), "cividis", 0.0, 1.0).shape
    (3, 1, 2)
    """
    scaled = (np.asarray(values, dtype=np.float64) - vmin) / max(vmax - vmin, 1e-12)
    return colormaps[cmap](np.clip(scaled, 0.0, 1.0))[..., :3].transpose(2, 0, 1)


def to_png(image: np.ndarray, *, scale: int = 6, mask: np.ndarray | None = None) -> bytes:
    """A PNG of an image (3, H, W) enlarged ``scale`` times, the mask outlined in magenta.

    >>> to_png(np.zeros((3, 2, 2)), scale=2)[:4]
    b'\\x89PNG'
    """
    from PIL import Image

    img = to_hwc(np.asarray(image, dtype=np.float32))
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a positive int, got {scale!r}")
    big = np.repeat(np.repeat(img, scale, axis=0), scale, axis=1)
    if mask is not None:
        m = np.repeat(np.repeat(np.asarray(mask, bool), scale, axis=0), scale, axis=1)
        inner = m.copy()
        inner[1:] &= m[:-1]
        inner[:-1] &= m[1:]
        inner[:, 1:] &= m[:, :-1]
        inner[:, :-1] &= m[:, 1:]
        big[m & ~inner] = (1.0, 0.0, 1.0)
    buffer = io.BytesIO()
    Image.fromarray((np.clip(big, 0, 1) * 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def overlay_png(
    image: np.ndarray,
    weights: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    scale: int = 6,
    alpha: float = 0.55,
    vmax: float | None = None,
) -> bytes:
    """A PNG of a weight grid (h, w) over an image (3, H, W), fast enough for widgets.

    Drawn as :func:`helpers.viz.overlay` draws it (cividis, 0 to ``vmax``), but
    without matplotlib's figure machinery. The bird ``mask`` (H, W) is outlined."""
    img = to_hwc(np.asarray(image, dtype=np.float32))
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 2:
        raise ValueError(f"expected weights of shape (h, w), got {weights.shape}")
    (big_h, big_w), (h, w) = img.shape[:2], weights.shape
    if big_h % h or big_w % w:
        raise ValueError(f"a {h}x{w} grid does not tile a {big_h}x{big_w} image")
    top = float(weights.max()) if vmax is None else float(vmax)
    colours = colormaps[CMAP](np.clip(weights / max(top, 1e-12), 0.0, 1.0))[..., :3]
    heat = np.repeat(np.repeat(colours, big_h // h, axis=0), big_w // w, axis=1)
    return to_png((1 - alpha) * img + alpha * heat, scale=scale, mask=mask)


def signed_png(
    values: np.ndarray, limit: float, *, scale: int = 8, box: tuple[int, int] | None = None
) -> bytes:
    """Signed values (H, W) as a PNG in :data:`~helpers.viz.DIVERGING` colours, -limit
    to limit (clipped beyond; 0 is white), each value ``scale`` pixels wide, the cell
    ``box`` = (row, col) framed in black.

    >>> signed_png(np.array([[-1.0, 1.0]]), 1.0, scale=2)[:4]
    b'\\x89PNG'
    """
    from PIL import Image

    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"expected values of shape (H, W), got {values.shape}")
    rgb = colormaps[DIVERGING](Normalize(-limit, limit, clip=True)(values))
    big = np.repeat(np.repeat(rgb[..., :3], scale, axis=0), scale, axis=1)
    if box is not None:  # a 2-pixel black frame just outside the boxed value
        top, left = box[0] * scale, box[1] * scale
        rows = slice(max(top - 2, 0), top + scale + 2)
        cols = slice(max(left - 2, 0), left + scale + 2)
        inner = big[top : top + scale, left : left + scale].copy()
        big[rows, cols] = 0.0
        big[top : top + scale, left : left + scale] = inner
    buffer = io.BytesIO()
    image = Image.fromarray((big * 255).round().astype(np.uint8))
    image.save(buffer, format="PNG", compress_level=1)  # fast: it goes to a kernel's view
    return buffer.getvalue()


def colorbar_png(
    cmap: str,
    vmin: float,
    vmax: float,
    label: str,
    *,
    height: int = 192,
    extend: str = "neither",
) -> bytes:
    """A vertical colour bar with ticks and ``label``, as a PNG for a live view.

    It is ``height`` CSS pixels tall (the picture it stands beside) and 90 wide, at
    :data:`~helpers.viz.PIXEL_RATIO` times the pixels; the bar spans the picture's
    height. Drawn once: the live views keep one fixed colour scale. ``extend="max"``
    ends the bar in a triangle: weights above ``vmax`` are clipped to its colour.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.cm import ScalarMappable

    fig = Figure(figsize=(0.9, height / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    tip = 0.1 if extend != "neither" else 0.0  # the triangle goes inside the picture
    bar = fig.add_axes((0.06, 0.02 + tip, 0.15, 0.96 - 2 * tip))
    fig.colorbar(ScalarMappable(Normalize(vmin, vmax), cmap), cax=bar, extend=extend)
    bar.set_ylabel(label)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI * PIXEL_RATIO)
    return buffer.getvalue()
