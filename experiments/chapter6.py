"""Chapter 6's own results over three seeds (``make experiments``).

- ``flatten``: the ordinary-weights row, a flatten -> linear readout trained on the
  backbone of chapter 4's three heads (:func:`helpers.pooling_heads.position_experiment`,
  the same seed), frozen (:func:`helpers.comparators.flatten_on_backbone`), tested in
  both halves;
- ``pixels``: logistic regression and chapter 2's MLP on the raw pixels of chapter 4's
  left-half birds (:func:`helpers.answer.pixel_run`), tested in both halves: why they
  are not rows of chapter 6's table (they stay at chance).

The other models chapter 6 compares are chapters 4 and 5's, whose seeds are in
``chapter4.json`` and ``chapter5.json``. The notebook runs seed 0 (through
``helpers.recipes``) and checks that it falls inside the range recorded here. Writes
experiments/chapter6.json with the code version (git commit) and the machine.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import torch

from helpers.answer import pixel_run
from helpers.comparators import flatten_on_backbone
from helpers.left_right import position_data
from helpers.pooling_heads import position_experiment

sys.path.insert(0, str(Path(__file__).parent))
from chapter4 import commit, machine  # noqa: E402

SEEDS = (0, 1, 2)
OUT = Path(__file__).with_suffix(".json")


def main() -> None:
    torch.set_num_threads(int(os.environ.get("THREADS", torch.get_num_threads())))
    start = time.perf_counter()
    results: dict = {
        "made_by": "experiments/chapter6.py",
        "commit": commit(),
        "machine": machine(),
        "seeds": list(SEEDS),
        "flatten": {},
        "pixels": {},
    }
    for seed in SEEDS:
        data = position_data(seed)
        heads, _ = position_experiment(seed, data=data, progress=False)
        _, info = flatten_on_backbone(
            heads["avg"].backbone, seed, data=data, progress=False
        )
        results["flatten"][str(seed)] = info
        left, right = (info[h]["flatten"]["accuracy"] for h in ("left", "right"))
        print(f"flatten seed {seed}: left {left:.3f}, right {right:.3f}", flush=True)
        _, info = pixel_run(seed, data=data, progress=False)
        results["pixels"][str(seed)] = info
        halves = {
            n: [info[h][n]["accuracy"] for h in ("left", "right")] for n in info["left"]
        }
        shown = ", ".join(f"{n} {a:.3f} / {b:.3f}" for n, (a, b) in halves.items())
        print(f"pixels seed {seed}: left / right accuracy {shown}", flush=True)
    results["total_seconds"] = time.perf_counter() - start
    OUT.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} in {results['total_seconds']:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
