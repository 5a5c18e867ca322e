"""What the explorers' tests share: a figure to draw a frame on, the widgets inside a
live explorer, and a check that every text of a drawn figure is readable."""

from __future__ import annotations

from collections.abc import Iterator

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from helpers.viz import DPI


def frame_figure(figsize: tuple[float, float]) -> Figure:
    """An empty figure at the book's scale, as
    :func:`helpers.explorers.framework.scrubber` draws its frames on."""
    fig = Figure(figsize=figsize, dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def widgets_in(widget) -> Iterator:
    """A widget and every widget inside it, depth first."""
    yield widget
    for child in getattr(widget, "children", ()):
        yield from widgets_in(child)


def text_problems(fig) -> list[str]:
    """Texts of a figure, as drawn, that stick out of it, overlap each other or
    overlap axes they do not belong to (a title over a neighbouring map, say)."""
    drawn, draw = [], Text.draw

    def record(text, renderer):
        draw(text, renderer)
        if text.get_visible() and text.get_text().strip():
            drawn.append((text, text.get_window_extent(renderer)))

    Text.draw = record
    try:
        fig.canvas.draw()
    finally:
        Text.draw = draw
    renderer, frame, problems = fig.canvas.get_renderer(), fig.bbox, []
    for i, (t, box) in enumerate(drawn):
        name = repr(t.get_text())
        if not (frame.x0 - 1 <= box.x0 and box.x1 <= frame.x1 + 1):
            problems.append(f"{name} sticks out of the figure")
        if not (frame.y0 - 1 <= box.y0 and box.y1 <= frame.y1 + 1):
            problems.append(f"{name} sticks out of the figure")
        for other, other_box in drawn[i + 1 :]:
            if box.overlaps(other_box):
                problems.append(f"{name} overlaps {other.get_text()!r}")
        for ax in fig.axes:
            if ax is not t.axes and box.overlaps(ax.get_window_extent(renderer)):
                problems.append(f"{name} overlaps the axes of {ax.get_title()!r}")
    return problems
