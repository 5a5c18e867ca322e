"""How far each claim was from failing: a maintainer's record, off unless asked for.

A claim (``helpers.check.claim``) is a yes or no, so a run that passes says nothing
about how close it came to failing on another machine, whose thread count, CPU or
GPU changes a training's last digits. With ``$COURSE_CLAIM_LOG`` set to a file,
every claim appends one JSON line there: its text, whether it held, and for each
comparison in its condition (``a >= b + 0.1``, joined by ``and``) both sides and the
*margin*, how far the left side may move before the comparison fails:

    margin = left - right  for > and >=;   right - left  for < and <=

(the smallest over the elements when the sides are arrays), and that margin relative
to the larger side's size. ``tools/claim_margins.py`` gathers the records of several
runs (thread counts, seeds, machines) into one table, tightest claims first.

The sides are found by reading the claim's call in its source (a notebook cell or a
file) and evaluated a second time in the caller's namespace, so they must be pure
(no random draws, no side effects: the course's are); a condition written another
way (``all(...)`` over a generator, a function's result) is recorded without margins.
"""

from __future__ import annotations

import ast
import json
import linecache
import os
import types
from typing import Any

import numpy as np

__all__ = ["LOG", "margin", "record"]

LOG = "COURSE_CLAIM_LOG"
"""The environment variable naming the file the records are appended to."""

_OPS = {ast.Gt: ">", ast.GtE: ">=", ast.Lt: "<", ast.LtE: "<="}


def margin(left: Any, op: str, right: Any) -> float:
    """How far ``left`` may move before ``left op right`` fails (negative: failed).

    Args:
        left, right: numbers or arrays that broadcast together.
        op: one of ``">", ">=", "<", "<="``.

    Returns:
        The smallest signed distance over the elements.

    >>> round(margin(0.95, ">=", 0.9), 3)
    0.05
    >>> round(margin([0.1, 0.3], "<", 0.2), 3)
    -0.1
    """
    signs = {">": 1.0, ">=": 1.0, "<": -1.0, "<=": -1.0}
    if op not in signs:
        raise ValueError(f"op must be one of {sorted(signs)}, got {op!r}")
    diff = _numbers(left) - _numbers(right)
    return float(np.min(signs[op] * diff))


def _numbers(x: Any) -> np.ndarray:
    """A number, array or tensor (any device, with or without grad) as float64."""
    if hasattr(x, "detach"):
        x = x.detach().cpu()
    return np.asarray(x, dtype=float)


def _claim_call(frame: types.FrameType) -> ast.Call | None:
    """The ``claim(...)`` call the frame is executing, parsed from its source."""
    lines = linecache.getlines(frame.f_code.co_filename, frame.f_globals)
    try:
        tree = ast.parse("".join(lines))
    except (SyntaxError, ValueError):
        return None
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and len(node.args) >= 2
        and getattr(node.func, "id", getattr(node.func, "attr", None)) == "claim"
    ]
    # the instruction being executed spans exactly its call (two calls on one line too)
    positions = list(frame.f_code.co_positions())
    here = positions[frame.f_lasti // 2] if frame.f_lasti // 2 < len(positions) else ()
    for node in calls:
        if (node.lineno, node.end_lineno, node.col_offset, node.end_col_offset) == here:
            return node
    line = frame.f_lineno  # else the innermost call around the current line
    around = [n for n in calls if n.lineno <= line <= (n.end_lineno or n.lineno)]
    return min(around, key=lambda n: (n.end_lineno or n.lineno) - n.lineno, default=None)


def _comparisons(node: ast.expr) -> list[ast.Compare]:
    """The comparisons whose conjunction is the condition (through ``bool(...)``,
    ``and``, ``np.all(...)``/``.all()``); none when it is built another way."""
    if isinstance(node, ast.Call) and not node.keywords and len(node.args) <= 1:
        name = getattr(node.func, "id", getattr(node.func, "attr", None))
        if name in ("bool", "all") and node.args:
            return _comparisons(node.args[0])
        if name == "all" and isinstance(node.func, ast.Attribute) and not node.args:
            return _comparisons(node.func.value)
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
        return [c for value in node.values for c in _comparisons(value)]
    if isinstance(node, ast.Compare) and all(type(op) in _OPS for op in node.ops):
        return [node]
    return []


def _terms(call: ast.Call, frame: types.FrameType) -> list[dict[str, Any]]:
    """Each comparison of the claim's condition, its sides evaluated again."""
    terms = []
    for compare in _comparisons(call.args[1]):
        sides = [compare.left, *compare.comparators]
        try:  # the claim's own expressions, in the claim's own namespace
            code = [compile(ast.Expression(side), "<claim>", "eval") for side in sides]
            values = [eval(c, frame.f_globals, frame.f_locals) for c in code]
            for i, op in enumerate(compare.ops):
                left, right = values[i], values[i + 1]
                m = margin(left, _OPS[type(op)], right)
                size = max(np.abs(_numbers(v)).max() for v in (left, right))
                terms.append(
                    {
                        "left": ast.unparse(sides[i]),
                        "op": _OPS[type(op)],
                        "right": ast.unparse(sides[i + 1]),
                        "margin": m,
                        "relative": m / size if size else m,
                    }
                )
        except Exception:  # noqa: BLE001 - a side that will not evaluate has no margin
            continue
    return terms


def record(text: str, holds: bool, frame: types.FrameType | None) -> None:
    """Append the claim's record to ``$COURSE_CLAIM_LOG`` (nothing when it is unset)."""
    where = os.environ.get(LOG)
    if not where:
        return
    call = _claim_call(frame) if frame is not None else None
    terms = _terms(call, frame) if call is not None and frame is not None else []
    entry = {"claim": text, "holds": bool(holds), "terms": terms}
    with open(where, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")
