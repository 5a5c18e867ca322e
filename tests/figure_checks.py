"""A check the explorers' tests share: is every text of a drawn figure readable?"""

from __future__ import annotations

from matplotlib.text import Text


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
