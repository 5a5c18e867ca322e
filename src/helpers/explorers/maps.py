"""Maps over an image, the way chapters 4 to 6 show pooling and attention weights.

A static frame draws several maps over one scene side by side with one shared colour
bar (:func:`draw_maps`, sized by :func:`maps_figsize`); a live view shows the same as
pictures with captions and a colour bar (:class:`MapPanels`). Both use one fixed colour
scale, 0 to :func:`largest_weight` of the static frames, so that colours compare
across frames and between the book and a kernel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure, SubFigure

from helpers.explorers.framework import colour_bar
from helpers.explorers.png import overlay_png
from helpers.viz import CMAP, overlay, to_hwc

__all__ = ["maps_figsize", "draw_maps", "largest_weight", "PICTURE", "MapPanels"]


def _inches(fig: Figure | SubFigure) -> tuple[float, float]:
    """The size in inches of a figure or of a subfigure (its share of the figure)."""
    return fig.bbox.width / fig.dpi, fig.bbox.height / fig.dpi


def _layout(title_lines: int, suptitle: bool) -> tuple[float, float, float, float, float]:
    """The margins of :func:`draw_maps` in inches: (top, bottom, left, gap between
    maps, width of the colour bar with its gap, ticks and label)."""
    top = 0.1 + 0.17 * title_lines + (0.28 if suptitle else 0.0)
    return top, 0.45, 0.5, 0.12, 0.1 + 0.12 + 0.62


def maps_figsize(
    n: int,
    *,
    side: float = 1.55,
    title_lines: int = 1,
    suptitle: bool = False,
    width: float | None = None,
) -> tuple[float, float]:
    """The (width, height) in inches that fits ``n`` maps ``side`` inches square in
    :func:`draw_maps`, with titles of ``title_lines`` lines and, if asked, a suptitle;
    ``width`` widens it (the maps stay centred)."""
    top, bottom, left, gap, bar = _layout(title_lines, suptitle)
    needed = left + n * side + (n - 1) * gap + bar + 0.05
    if width is not None and width < needed - 1e-9:
        raise ValueError(f"{n} maps {side} inches wide need {needed:.2f} inches")
    return (width or round(needed, 2), round(top + side + bottom, 2))


def draw_maps(
    fig: Figure | SubFigure,
    image: np.ndarray,
    maps: Mapping[str, np.ndarray],
    *,
    titles: Mapping[str, str],
    mask: np.ndarray | None = None,
    vmax: float | None = None,
    suptitle: str | None = None,
    extend: str = "neither",
    label: str = "pooling weight",
) -> None:
    """Maps over one image, side by side, with one shared, labelled colour bar.

    Laid out in inches for the book's column (legible at any size): the maps are
    squares as large as the figure or subfigure ``fig`` allows, centred, y ticks on
    the first only; titles may have several lines. The colour bar runs from 0 to
    ``vmax`` (the largest weight if ``None``); ``extend="max"`` marks weights above
    it, which are clipped to its top colour; ``label`` names it. :func:`maps_figsize`
    gives a figure size that fits the maps without empty space.
    """
    vmax = vmax if vmax is not None else max(float(m.max()) for m in maps.values())
    n = len(maps)
    size_h, size_w = to_hwc(image).shape[:2]
    width, height = _inches(fig)
    lines = max(str(titles[name]).count("\n") + 1 for name in maps)
    top, bottom, left, gap, bar = _layout(lines, suptitle is not None)
    side = min(height - top - bottom, (width - left - (n - 1) * gap - bar - 0.05) / n)
    if side <= 0.3:
        raise ValueError(
            f"a figure {width:.2f} x {height:.2f} inches is too small for {n} maps"
        )
    x = (width - (left + n * side + (n - 1) * gap + bar)) / 2 + left
    y = height - top - side
    inch = np.array([width, height, width, height])
    for i, (name, weights) in enumerate(maps.items()):
        ax = fig.add_axes(np.array([x + i * (side + gap), y, side, side]) / inch)
        overlay(ax, image, weights, vmin=0.0, vmax=vmax, colorbar=False, mask=mask)
        ax.set_title(titles[name])
        ax.set_xticks(np.arange(0, size_w + 1, 20))  # every 20 pixels of the scene
        ax.set_yticks(np.arange(0, size_h + 1, 20))
        if i:
            ax.set_ylabel("")
            ax.tick_params(labelleft=False)
    cax = fig.add_axes(np.array([x + n * side + (n - 1) * gap + 0.1, y, 0.12, side]) / inch)
    bar = fig.colorbar(ScalarMappable(Normalize(0.0, vmax), CMAP), cax=cax, extend=extend)
    bar.set_label(label)
    if suptitle:
        fig.suptitle(suptitle, y=1 - 0.05 / height, va="top")


def largest_weight(frames: Sequence[dict[str, Any]]) -> float:
    """The largest weight of all the frames' maps (``frame["maps"]``, a dict of arrays):
    the fixed top of a colour scale.

    >>> frames = [{"maps": {"a": np.array([0.2, 0.5]), "b": np.ones(1)}}]
    >>> largest_weight(frames)
    1.0
    """
    return max(float(m.max()) for f in frames for m in f["maps"].values())


PICTURE = 216
"""The live views' pictures are this many CSS pixels square (unless told otherwise)."""


class MapPanels:
    """A live view of maps over one image: caption over picture for each map, one
    colour bar, all of fixed sizes (a longer caption moves nothing).

    Args:
        names: the maps' names, in order (the keys of :meth:`show`'s ``maps``).
        vmax: the fixed colour scale's top (the scale runs from 0).
        clipped: weights above ``vmax`` can occur (shown in the top colour; the
            colour bar ends in a triangle).
        label: the colour bar's label.
        side: the pictures' size in CSS pixels.
        scale: each image pixel is this many picture pixels.
    """

    def __init__(
        self,
        names: Iterable[str],
        *,
        vmax: float,
        clipped: bool,
        label: str = "pooling weight",
        side: int = PICTURE,
        scale: int = 6,
    ) -> None:
        import ipywidgets as w

        self.names = list(names)
        """The maps' names, in order."""
        self.vmax, self.side, self.scale = float(vmax), side, scale
        self.pictures = {
            n: w.Image(format="png", width=side, height=side) for n in self.names
        }
        """One ipywidgets Image per map, by name."""
        self.captions = {n: w.Label(layout=w.Layout(width=f"{side}px")) for n in self.names}
        """One ipywidgets Label over each picture, by name."""
        extend = "max" if clipped else "neither"
        self.bar = colour_bar(CMAP, 0.0, self.vmax, label, height=side, extend=extend)
        """The colour bar, 0 to ``vmax``, as tall as the pictures."""

    def boxes(self, names: Iterable[str] | None = None) -> list[Any]:
        """Caption over picture for each of ``names`` (all by default)."""
        import ipywidgets as w

        width = w.Layout(width=f"{self.side + 8}px")
        names = self.names if names is None else names
        return [w.VBox([self.captions[n], self.pictures[n]], layout=width) for n in names]

    def row(self) -> Any:
        """Every map's box in a row, the colour bar at the right."""
        import ipywidgets as w

        row = [*self.boxes(), w.VBox([w.Label(" "), self.bar])]
        return w.HBox(row, layout=w.Layout(align_items="flex-start"))

    def show(
        self,
        image: np.ndarray,
        maps: Mapping[str, np.ndarray],
        mask: np.ndarray | None = None,
        captions: Mapping[str, str] | None = None,
    ) -> None:
        """Draw each map (h, w) over ``image`` (3, H, W), the bird ``mask`` outlined,
        on the fixed colour scale; set the captions given."""
        for name, weights in maps.items():
            self.pictures[name].value = overlay_png(
                image, weights, mask=mask, vmax=self.vmax, scale=self.scale
            )
        for name, text in (captions or {}).items():
            self.captions[name].value = text
