"""Figures every chapter shares: scene grids, weight maps over images, mask outlines.

Weight maps use ``cividis``, a colormap designed to read the same for readers with
colour-vision deficiencies and in greyscale; every heatmap gets a labelled colour bar
and every image labelled axes.

**Drawn for the book's column.** This module sets, in one place, how every figure of
every chapter is sized (importing it applies :func:`use_book_style`): a figure inch is
:data:`DPI` CSS pixels on screen, saved with :data:`PIXEL_RATIO` times as many pixels
(sharp on high-density screens), at most :data:`COLUMN_WIDTH` inches wide (the text
column at 1280 px), and no text smaller than :data:`MIN_FONT_PT` points, which is
``MIN_FONT_PT * DPI / 72`` = 11 px on screen. In a notebook the figures are shown
through :func:`figure_png`, which refuses a figure that breaks these rules; the book's
browser test measures the result on every page.
"""

from __future__ import annotations

import io
import sys
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text

from helpers.scenes import Scenes

__all__ = [
    "DPI",
    "PIXEL_RATIO",
    "COLUMN_WIDTH",
    "MIN_FONT_PT",
    "use_book_style",
    "small_text",
    "check_figure",
    "figure_png",
    "CMAP",
    "DIVERGING",
    "to_hwc",
    "show_scenes",
    "outline",
    "overlay",
]

DPI = 100
"""CSS pixels per inch of a figure, so a figure 6.8 inches wide is shown 680 px wide."""

PIXEL_RATIO = 2
"""Saved pixels per CSS pixel; PNGs carry twice the pixels they are shown with."""

COLUMN_WIDTH = 6.8
"""The widest a figure may be, in inches (680 px), within the book's 688 px column."""

MIN_FONT_PT = 8.0
"""The smallest text a figure may hold, in points; 8 pt is 11 px on screen."""

_STYLE = {
    "figure.dpi": DPI,
    "savefig.dpi": "figure",
    "figure.figsize": (COLUMN_WIDTH, 3.0),
    "font.size": 9.0,
    "axes.titlesize": 9.0,
    "axes.labelsize": 9.0,
    "xtick.labelsize": MIN_FONT_PT,
    "ytick.labelsize": MIN_FONT_PT,
    "legend.fontsize": MIN_FONT_PT,
    "legend.title_fontsize": 9.0,
    "figure.titlesize": 10.0,
    "image.cmap": "cividis",
}


def use_book_style() -> None:
    """Size every figure for the book's column (rcParams) and, inside IPython, show
    figures through :func:`figure_png`. Applied when this module is imported."""
    shell = None
    if "ipykernel" in sys.modules:  # a notebook's kernel (not pytest, not a script)
        from IPython import get_ipython

        shell = get_ipython()
    if shell is not None:
        # the inline backend first: activating it later would replace our formatter
        shell.run_line_magic("matplotlib", "inline")
        shell.display_formatter.formatters["image/png"].for_type(Figure, figure_png)
    mpl.rcParams.update(_STYLE)


def small_text(fig: Figure) -> list[str]:
    """The visible texts of ``fig`` smaller than :data:`MIN_FONT_PT`, as "text (size)"."""
    return [
        f"{t.get_text()!r} ({t.get_fontsize():g} pt)"
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip() and t.get_fontsize() < MIN_FONT_PT
    ]


def check_figure(fig: Figure) -> None:
    """Raise ``ValueError`` if ``fig`` is wider than the column or holds small text.

    The figure is laid out first (drawn without rendering): tick labels exist only
    then, and they are the smallest text of most figures."""
    fig.draw_without_rendering()
    width = fig.get_figwidth()
    if width > COLUMN_WIDTH + 1e-9:
        raise ValueError(
            f"a figure {width:g} inches wide does not fit the book's column: draw it at "
            f"most helpers.viz.COLUMN_WIDTH = {COLUMN_WIDTH} inches wide"
        )
    small = small_text(fig)
    if small:
        raise ValueError(
            f"text smaller than helpers.viz.MIN_FONT_PT = {MIN_FONT_PT} pt would be "
            f"illegible in the book: {', '.join(small[:5])}"
        )


def figure_png(fig: Figure) -> tuple[bytes, dict[str, Any]] | None:
    """A figure as a PNG for a notebook output: :data:`PIXEL_RATIO` times the pixels,
    shown at its size in CSS pixels (the ``width``/``height`` metadata).

    Returns ``None`` for a figure with nothing drawn (as IPython does). Raises
    ``ValueError`` from :func:`check_figure` for a figure the book could not show
    legibly, so a regression fails the notebook's tests instead of reaching a reader.
    """
    if not fig.axes and not fig.texts and not fig.images:
        return None
    check_figure(fig)
    buffer = io.BytesIO()
    fig.savefig(
        buffer, format="png", dpi=DPI * PIXEL_RATIO, bbox_inches="tight", pad_inches=0.05
    )
    data = buffer.getvalue()
    from PIL import Image

    w, h = Image.open(io.BytesIO(data)).size
    if w / PIXEL_RATIO > COLUMN_WIDTH * DPI + 2:  # the tight box took in an outside legend
        raise ValueError(
            f"the figure's content is {w / PIXEL_RATIO / DPI:.2f} inches wide (a legend "
            f"or label outside it?): at most helpers.viz.COLUMN_WIDTH = {COLUMN_WIDTH}"
        )
    return data, {"width": w // PIXEL_RATIO, "height": h // PIXEL_RATIO}


CMAP = "cividis"
"""The course's colormap for weights and attention (colour-blind safe)."""

DIVERGING = "PuOr_r"
"""The colormap for signed weights, ColorBrewer's purple-orange (colour-blind safe).

Purple is negative, orange positive; always drawn with limits symmetric about 0, so
white means 0.
"""

OUTLINE = "#ff00ff"
"""The colour of mask outlines, magenta, which stands out on sky, leaves and cividis."""


def to_hwc(image: np.ndarray) -> np.ndarray:
    """A (3, H, W) image as (H, W, 3) for matplotlib; (H, W, 3) is passed through.

    Raises:
        ValueError: if ``image`` is not a 3-D array with 3 channels first or last.
    """
    image = np.asarray(image)
    if image.ndim != 3 or 3 not in (image.shape[0], image.shape[-1]):
        raise ValueError(
            f"expected an image of shape (3, H, W) or (H, W, 3), got {image.shape}"
        )
    return image.transpose(1, 2, 0) if image.shape[0] == 3 else image


def _pixel_axes(ax: Axes, labels: bool = True) -> None:
    if labels:
        ax.set_xlabel("x (pixels)")
        ax.set_ylabel("y (pixels)")
    else:
        ax.set_xticks([])
        ax.set_yticks([])


def outline(
    ax: Axes, mask: np.ndarray, color: str = OUTLINE, linewidth: float = 1.0
) -> None:
    """Draw the outline of a boolean (H, W) mask on ``ax`` (nothing if it is empty)."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"expected a mask of shape (H, W), got {mask.shape}")
    if mask.any():
        ax.contour(mask.astype(float), levels=[0.5], colors=[color], linewidths=linewidth)


def show_scenes(
    scenes: Scenes,
    n: int = 16,
    *,
    ncols: int = 8,
    masks: bool = False,
    title: str | None = None,
) -> Figure:
    """A grid of the first ``n`` scenes titled "bird" or "no bird".

    Args:
        scenes: the scenes to show.
        n: how many (at most ``len(scenes)``).
        ncols: scenes per row.
        masks: outline each bird's mask.
        title: a title above the grid.

    Returns:
        The matplotlib figure.
    """
    if not isinstance(scenes, Scenes):
        raise TypeError(
            f"scenes must be a Scenes (from make_scenes), got {type(scenes).__name__}"
        )
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    n = min(n, len(scenes))
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    side = min(1.2, COLUMN_WIDTH / ncols)  # inches per scene: the grid fits the column
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(side * ncols, (side + 0.3) * nrows), squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.axis("off")
            continue
        ax.imshow(to_hwc(scenes.images[i]))
        if masks:
            outline(ax, scenes.masks[i])
        ax.set_title("bird" if scenes.labels[i] == 1 else "no bird")
        _pixel_axes(ax, labels=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def overlay(
    ax: Axes,
    image: np.ndarray,
    weights: np.ndarray,
    *,
    alpha: float = 0.55,
    vmin: float | None = 0.0,
    vmax: float | None = None,
    label: str = "weight",
    colorbar: bool = True,
    mask: np.ndarray | None = None,
) -> None:
    """Show a grid of weights (h, w) as a heatmap over an image (3, H, W).

    Each weight covers its block of ``H/h`` by ``W/w`` pixels (nearest, not smoothed:
    a weight belongs to a region). The colour bar is labelled with ``label``; a bird
    ``mask`` (H, W), when given, is outlined.
    """
    img = to_hwc(image)
    weights = np.asarray(weights, dtype=float)
    if weights.ndim != 2:
        raise ValueError(f"expected weights of shape (h, w), got {weights.shape}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    h, w = img.shape[:2]
    ax.imshow(img, extent=(0, w, h, 0))
    shown = ax.imshow(
        weights,
        cmap=CMAP,
        alpha=alpha,
        extent=(0, w, h, 0),
        interpolation="nearest",
        vmin=vmin,
        vmax=vmax,
    )
    if mask is not None:
        outline(ax, mask)
    _pixel_axes(ax)
    if colorbar:
        bar = ax.figure.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
        bar.set_label(label)
        bar.solids.set_alpha(1.0)


use_book_style()
