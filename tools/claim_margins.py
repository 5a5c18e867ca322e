"""How close each claim came to failing, over several runs: tightest first.

Each run is a file of records that ``helpers.check.claim`` appended while
``$COURSE_CLAIM_LOG`` named it (``helpers.margins``): for instance nbval with PyTorch
on one thread and on four (``COURSE_TORCH_THREADS``, read by the kernels' config:
``OMP_NUM_THREADS`` is capped at the number of cores), each on an empty model cache::

    COURSE_CLAIM_LOG=/tmp/t1.jsonl COURSE_TORCH_THREADS=1 COURSE_ZOO=/tmp/z1 \\
        .venv/bin/python -m pytest --nbval --nbval-current-env \\
        --nbval-sanitize-with tests/nbval_sanitize.cfg notebooks
    .venv/bin/python tools/claim_margins.py /tmp/t1.jsonl /tmp/t4.jsonl

prints, per claim, its chapter, each run's smallest margin relative to the size of
the numbers compared (0.05: the numbers may move 5% before the claim fails; negative:
it failed; a comparison that gave NaN counts as failed), the smallest over the runs
and that comparison's absolute margin, as a Markdown table, the tightest ``--top``
claims first; then the claims whose condition has no comparison to measure.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def chapters() -> dict[str, str]:
    """Each claim's text -> the notebook whose saved outputs state it."""
    where = {}
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            for out in cell.get("outputs", []):
                for line in "".join(out.get("text", "")).splitlines():
                    if line.startswith("CLAIM HOLDS: "):
                        where[line.removeprefix("CLAIM HOLDS: ")] = notebook.stem
    return where


def tightest(entry: dict) -> tuple[float, float] | None:
    """A record's smallest (relative, absolute) margin: a failed claim's at most 0, a
    NaN one -inf; None when it has no comparison to measure."""
    margins = [
        (-math.inf, -math.inf)
        if math.isnan(t["relative"])
        else (t["relative"], t["margin"])
        for t in entry["terms"]
    ]
    if not entry["holds"]:
        margins.append((-0.0, -0.0))
    return min(margins) if margins else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="claim logs (.jsonl)")
    parser.add_argument("--top", type=int, default=25, help="rows to show")
    args = parser.parse_args()
    names = [run.stem for run in args.runs]
    table: dict[str, dict[str, tuple[float, float] | None]] = {}
    for name, run in zip(names, args.runs, strict=True):
        for line in run.read_text().splitlines():
            entry = json.loads(line)
            row = table.setdefault(entry["claim"], {})
            found = [m for m in (row.get(name), tightest(entry)) if m is not None]
            row[name] = min(found) if found else None  # a claim made twice: its worst
    where = chapters()
    measured = {c: r for c, r in table.items() if any(r.values())}
    order = sorted(measured, key=lambda c: min(v for v in measured[c].values() if v))
    print(f"| chapter | claim | {' | '.join(names)} | smallest | absolute |")
    print(f"|---|---|{'---|' * len(names)}---|---|")
    for claim in order[: args.top]:
        row = measured[claim]
        cells = [f"{row[n][0]:+.3f}" if row.get(n) else "" for n in names]
        relative, absolute = min(v for v in row.values() if v)
        text = claim if len(claim) <= 90 else claim[:87] + "..."
        print(
            f"| {where.get(claim, '?')} | {text} | {' | '.join(cells)} "
            f"| {relative:+.3f} | {absolute:+.3g} |"
        )
    unmeasured = sorted(set(table) - set(measured))
    print(
        f"\n{len(measured)} claims measured; {len(unmeasured)} without a comparison", end=""
    )
    print(" to measure:")
    for claim in unmeasured:
        print(f"- {where.get(claim, '?')}: {claim}")


if __name__ == "__main__":
    main()
