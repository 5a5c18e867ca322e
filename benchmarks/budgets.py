"""The budgets of COURSE.md §7, and how a benchmark's measurements are judged.

Pure functions, no timing here: :mod:`bench` measures, this module summarises the
measurements (median, 95th percentile), judges each against its budget and renders
the table that ``make bench`` prints and writes into benchmarks/README.md.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

NOTEBOOK_SECONDS = 60.0
"""Every notebook executes in a fresh kernel within this many seconds ..."""
HEAVIEST_NOTEBOOKS = ("04_attention", "05_self_attention")
HEAVIEST_SECONDS = 120.0
"""... except chapters 4 and 5, the heaviest, which have this many."""
COLD_NOTEBOOK = "06_answer"
COLD = " (cold model cache)"
"""Chapter 6 loads the earlier chapters' models from helpers.zoo; run on an empty model
cache (it trains them all), it too has HEAVIEST_SECONDS, and it must print the same
numbers as when it loads them."""
COURSE_SECONDS = 360.0
"""All notebooks executed and the book built, from nothing: 6 minutes."""
SCENES = 10_000
SCENES_SECONDS = 3.0
"""10,000 scenes generated within 3 s."""
REDRAW_MS = 100.0
"""A widget redraw (95th percentile) within 100 ms."""
TRAIN_ACCURACY = 0.95
TRAIN_SECONDS = 60.0
"""The attention-pooling model: >= 95% test accuracy within 60 s of training."""


_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_NOT_NUMBERS = re.compile(
    r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]*|<script.*?</script>", re.S
)
_WIDGET = "application/vnd.jupyter.widget-view+json"


def printed_numbers(nb: Any) -> list[str]:
    """Every number an executed notebook printed, cell by cell, in order.

    From what a reader reads: standard output, and each result's text/plain and
    text/html (tables), with inline images and scripts left out. Not stderr and not
    widget outputs (progress bars and explorers, whose text is elapsed time).
    """
    found = []
    for i, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                texts = [output.get("text", "")] if output.get("name") == "stdout" else []
            else:
                data = output.get("data", {})
                if _WIDGET in data:
                    continue
                texts = [data.get(k, "") for k in ("text/plain", "text/html")]
            for text in texts:
                text = _NOT_NUMBERS.sub("", "".join(text))
                found += [f"{i}:{n}" for n in _NUMBER.findall(text)]
    return found


def digest(numbers: Sequence[str]) -> str:
    """A short fingerprint of :func:`printed_numbers`: equal runs, equal digests."""
    return hashlib.sha256("\n".join(numbers).encode()).hexdigest()[:16]


def summary(seconds: Sequence[float]) -> dict[str, float]:
    """Median and 95th percentile of repeated timings (any unit), with the count.

    >>> summary([1.0, 2.0, 3.0])["median"]
    2.0
    """
    values = np.asarray(seconds, dtype=float)
    if values.ndim != 1 or values.size == 0 or not np.isfinite(values).all():
        raise ValueError(f"timings must be a non-empty list of numbers, got {seconds!r}")
    return {
        "median": float(np.median(values)),
        "p95": float(np.percentile(values, 95)),
        "n": int(values.size),
    }


def _check(what: str, measured: float, limit: float, unit: str, *, most: bool = True):
    """A ceiling ("under", strictly) or, with ``most=False``, a floor ("at least")."""
    passed = measured < limit if most else measured >= limit
    digits = 2 if unit == "%" else 1
    return {
        "budget": what,
        "limit": f"{'<' if most else '>='} {limit:g} {unit}",
        "measured": f"{measured:.{digits}f} {unit}",
        "passed": bool(passed),
    }


def verdicts(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each budget of COURSE.md §7 against the measurements, one row per check.

    ``results`` is what :mod:`bench` collects: ``notebooks`` {name: {"median": s,
    "digests": [one per run], "numbers": count}},
    ``course`` {"seconds"}, ``scenes`` {"median"}, ``widgets`` {name: {"redraw":
    {"p95": ms}}}, ``training`` {"budget": {"device", "seeds": {seed: {"accuracy",
    "seconds"}}}} and ``device`` {"expected", "used"}.
    """
    rows = []
    for name, nb in sorted(results["notebooks"].items()):
        heavy = name in HEAVIEST_NOTEBOOKS or name == COLD_NOTEBOOK + COLD
        limit = HEAVIEST_SECONDS if heavy else NOTEBOOK_SECONDS
        rows.append(_check(f"notebook {name} (median of runs)", nb["median"], limit, "s"))
        distinct = len(set(nb["digests"]))
        rows.append(
            {
                "budget": f"notebook {name}: printed numbers, run to run",
                "limit": "identical",
                "measured": (
                    f"{nb['numbers']} numbers, identical over {len(nb['digests'])} runs"
                    if distinct == 1
                    else f"{distinct} different results over {len(nb['digests'])} runs"
                ),
                "passed": distinct == 1,
            }
        )
    notebooks = results["notebooks"]
    if COLD_NOTEBOOK in notebooks and COLD_NOTEBOOK + COLD in notebooks:
        warm, cold = (
            set(notebooks[n]["digests"]) for n in (COLD_NOTEBOOK, COLD_NOTEBOOK + COLD)
        )
        rows.append(
            {
                "budget": f"notebook {COLD_NOTEBOOK}: printed numbers, cold vs warm cache",
                "limit": "identical",
                "measured": "identical" if warm == cold and len(warm) == 1 else "different",
                "passed": warm == cold and len(warm) == 1,
            }
        )
    rows.append(
        _check(
            "whole course: notebooks + book build",
            results["course"]["seconds"],
            COURSE_SECONDS,
            "s",
        )
    )
    rows.append(
        _check(
            f"{SCENES:,} scenes (median)", results["scenes"]["median"], SCENES_SECONDS, "s"
        )
    )
    for name, widget in sorted(results["widgets"].items()):
        row = _check(f"redraw: {name} (p95)", widget["redraw"]["p95"], REDRAW_MS, "ms")
        row["measured"] += f" (median {widget['redraw']['median']:.1f} ms"
        if "frame" in widget:  # its "parameters -> data to draw" function alone
            frame = widget["frame"]["median"]
            row["measured"] += f"; frame function {frame:.{1 if frame >= 1 else 2}f} ms"
        row["measured"] += ")"
        rows.append(row)
    model = results["training"]["budget"]
    for seed, run in sorted(model["seeds"].items()):
        rows.append(
            _check(
                f"attention model, seed {seed}: accuracy",
                100 * run["accuracy"],
                100 * TRAIN_ACCURACY,
                "%",
                most=False,
            )
        )
        rows.append(
            _check(
                f"attention model, seed {seed}: training time on {model['device']}",
                run["seconds"],
                TRAIN_SECONDS,
                "s",
            )
        )
    device = results["device"]
    rows.append(
        {
            "budget": "models train on the GPU when one is present",
            "limit": f"on {device['expected']}",
            "measured": f"on {device['used']}",
            "passed": device["used"] == device["expected"],
        }
    )
    return rows


def table(rows: Sequence[dict[str, Any]]) -> str:
    """Verdicts (and facts, ``passed`` None) as a Markdown table."""
    lines = ["| what | budget | measured | |", "|---|---|---|---|"]
    for row in rows:
        mark = {True: "PASS", False: "**FAIL**", None: ""}[row["passed"]]
        lines.append(f"| {row['budget']} | {row['limit']} | {row['measured']} | {mark} |")
    return "\n".join(lines)


def facts(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Measurements without a budget of their own, as table rows (``passed`` None):
    each chapter's training time and accuracy, and peak memory."""
    rows = []
    for name, run in results["training"].items():
        if name == "budget":
            continue
        accuracy = run["test_accuracy"]
        if isinstance(accuracy, dict):  # {half: {head: accuracy}}
            heads = accuracy["right"]
            shown = ", ".join(
                f"{h} {accuracy['left'][h]:.3f} / {heads[h]:.3f}" for h in heads
            )
            shown = f"left / right half: {shown}"
        else:
            shown = f"{accuracy:.3f}"
        rows.append(
            {
                "budget": f"training, {name}",
                "limit": "",
                "measured": f"{run['seconds']:.1f} s; test accuracy {shown}",
                "passed": None,
            }
        )
    kernels = max(nb["kernel_peak_mb"] for nb in results["notebooks"].values())
    rows.append(
        {
            "budget": "peak memory",
            "limit": "",
            "measured": f"benchmark process {results['bench_peak_mb']:.0f} MB, "
            f"largest notebook kernel {kernels:.0f} MB, "
            f"book build (its largest process) {results['course']['peak_mb']:.0f} MB",
            "passed": None,
        }
    )
    return rows
