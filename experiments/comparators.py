"""Chapter 4's comparators over three seeds (``make experiments``).

- ``readouts``: five readouts of one shared backbone trained together on left-half
  birds (:func:`helpers.comparators.comparator_experiment`): flatten -> linear, max
  pooling, average pooling, the fixed mask and attention pooling; accuracy, recall
  and false alarms in both halves, recall by the bird's position, head sizes.
- ``controls``: what the attention head adds to its backbone
  (:func:`helpers.comparators.backbone_controls`): attention on the average model's
  frozen backbone, and both heads on an untrained frozen backbone.

Chapter 4's notebook shows these tables and checks its claims against every seed.
Writes experiments/comparators.json with the code version (git commit) and the
machine.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import torch

from helpers.comparators import backbone_controls, comparator_experiment
from helpers.left_right import position_data

sys.path.insert(0, str(Path(__file__).parent))
from chapter4 import commit, machine  # noqa: E402

SEEDS = (0, 1, 2)
OUT = Path(__file__).with_suffix(".json")


def _shown(rows: dict) -> str:
    return ", ".join(
        f"{n} {r['left']['accuracy']:.3f} / {r['right']['accuracy']:.3f}"
        for n, r in rows.items()
    )


def main() -> None:
    torch.set_num_threads(int(os.environ.get("THREADS", torch.get_num_threads())))
    start = time.perf_counter()
    results: dict = {
        "made_by": "experiments/comparators.py",
        "commit": commit(),
        "machine": machine(),
        "seeds": list(SEEDS),
        "readouts": {},
        "controls": {},
    }
    for seed in SEEDS:
        data = position_data(seed)
        _, found = comparator_experiment(seed, data=data, progress=False)
        results["readouts"][str(seed)] = found
        rows = {n: {h: found[h][n] for h in ("left", "right")} for n in found["left"]}
        print(f"readouts seed {seed}: left / right accuracy {_shown(rows)}", flush=True)
        controls = backbone_controls(seed, data=data, progress=False)
        results["controls"][str(seed)] = controls
        print(f"controls seed {seed}: left / right {_shown(controls)}", flush=True)
    results["total_seconds"] = time.perf_counter() - start
    OUT.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} in {results['total_seconds']:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
