"""Committed results: the JSON files that ``make experiments`` writes, found from here.

A chapter loads a multi-seed table with ``load("chapter4")`` whatever folder its
notebook was opened from: the files live in the repository's ``experiments/`` folder,
found relative to this package, not to the working directory.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

__all__ = ["EXPERIMENTS", "load"]

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
"""The repository's ``experiments/`` folder, which holds each committed results file."""


def load(name: str) -> dict[str, Any]:
    """The committed results ``experiments/<name>.json``, e.g. ``load("chapter4")``.

    Raises:
        ValueError: ``name`` is not a plain file name (letters, digits, ``_``, ``-``).
        FileNotFoundError: no such file; the message says which command makes it.
    """
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        raise ValueError(f"name must be a results name such as 'chapter4', got {name!r}")
    path = EXPERIMENTS / f"{name}.json"
    if not path.exists():
        known = sorted(p.stem for p in EXPERIMENTS.glob("*.json"))
        raise FileNotFoundError(
            f"no committed results {path}; known: {known}. `make experiments` "
            "writes them (helpers must be installed from the repository, editable)"
        )
    return json.loads(path.read_text())
