"""Results as real tables: HTML in the book and in JupyterLab, aligned text elsewhere.

A chapter builds a :class:`Table` from rows of already formatted cells and shows it as
a cell's last expression. The book and JupyterLab render its ``_repr_html_`` (a
``<table class="results">``, styled by the book's CSS); a terminal or a text-only
output gets the same table as aligned text.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import numpy as np

__all__ = ["Table", "spread"]


def spread(values: Sequence[float], digits: int = 2) -> str:
    """The mean of ``values`` with its range, e.g. ``"0.95 (0.94-0.96)"``.

    Over seeds, a mean alone hides how far one run may land from it; the range
    (lowest to highest) shows it. One value gives just that value.

    Raises:
        ValueError: for no values or a negative ``digits``.

    >>> spread([0.94, 0.95, 0.96])
    '0.95 (0.94–0.96)'
    >>> spread([0.9])
    '0.90'
    """
    values = np.asarray(values, dtype=float).ravel()
    if values.size == 0:
        raise ValueError("spread needs at least one value")
    if not isinstance(digits, int) or digits < 0:
        raise ValueError(f"digits must be a non-negative int, got {digits!r}")
    mean = f"{values.mean():.{digits}f}"
    if values.size == 1:
        return mean
    return f"{mean} ({values.min():.{digits}f}\u2013{values.max():.{digits}f})"


class Table:
    """A table of results: column headers, rows of cells (shown as given), a caption.

    Args:
        columns: the header of each column (the first column names the rows).
        rows: one sequence of cells per row, as many as ``columns``; numbers should
            arrive formatted (``f"{x:.3f}"``, :func:`spread`) so the reader sees what
            the chapter means to show.
        caption: a line above the table saying what it holds.

    Raises:
        ValueError: no columns, or a row whose length differs from ``columns``.

    >>> rows = [["avg", "0.91"], ["attention", "0.97"]]
    >>> Table(["head", "accuracy"], rows, caption="Test accuracy")
    Test accuracy
    head       accuracy
    avg            0.91
    attention      0.97
    """

    def __init__(
        self,
        columns: Sequence[str],
        rows: Sequence[Sequence[object]],
        *,
        caption: str | None = None,
    ):
        if not columns:
            raise ValueError("a table needs at least one column")
        self.columns = [str(c) for c in columns]
        """The column headers as strings; the first one names the rows."""
        self.rows = [[str(cell) for cell in row] for row in rows]
        """The rows, each a list of one string per column (the first is the row's name)."""
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(
                    f"row {i} has {len(row)} cells, expected {len(self.columns)} "
                    f"(one per column: {self.columns})"
                )
        self.caption = caption
        """The line shown above the table (HTML ``<caption>``), or None for no caption."""

    def _repr_html_(self) -> str:
        head = "".join(f'<th scope="col">{escape(c)}</th>' for c in self.columns)
        body = "".join(
            "<tr>"
            + f'<th scope="row">{escape(row[0])}</th>'
            + "".join(f"<td>{escape(c)}</td>" for c in row[1:])
            + "</tr>"
            for row in self.rows
        )
        caption = f"<caption>{escape(self.caption)}</caption>" if self.caption else ""
        return (
            f'<table class="results">{caption}<thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>"
        )

    def __repr__(self) -> str:
        grid = [self.columns, *self.rows]
        widths = [max(len(r[j]) for r in grid) for j in range(len(self.columns))]
        lines = [
            "  ".join(
                c.ljust(w) if j == 0 else c.rjust(w)
                for j, (c, w) in enumerate(zip(r, widths, strict=True))
            )
            for r in grid
        ]
        return "\n".join(([self.caption] if self.caption else []) + lines)
