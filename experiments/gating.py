"""Attention pooling beside other weights computed from the input, over three seeds.

For each seed, chapter 4's three heads are trained on left-half birds
(:func:`helpers.pooling_heads.position_experiment`); on a frozen copy of their
backbone, :func:`helpers.gating.gates_on_backbone` trains a fresh attention-pooling
head, a sigmoid gate per cell and a squeeze-and-excitation head together, and tests
them in both halves, with the share of each head's weight over cells that falls on
right-half birds. Chapter 6 runs seed 0 (recipe ``chapter6-gates``) and checks that
it falls inside the ranges recorded here. Writes experiments/gating.json with the code
version and the machine.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import torch

from helpers.gating import gates_on_backbone
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
        "made_by": "experiments/gating.py",
        "commit": commit(),
        "machine": machine(),
        "seeds": list(SEEDS),
        "gates": {},
    }
    for seed in SEEDS:
        data = position_data(seed)
        heads, _ = position_experiment(seed, data=data, progress=False)
        _, info = gates_on_backbone(heads["avg"].backbone, seed, data=data, progress=False)
        results["gates"][str(seed)] = info
        shown = ", ".join(
            f"{k} {info['left'][k]['accuracy']:.3f} / {info['right'][k]['accuracy']:.3f}"
            f" (share {info['share'][k]:.2f})"
            for k in info["left"]
        )
        print(f"seed {seed}: left / right {shown}", flush=True)
    results["total_seconds"] = time.perf_counter() - start
    OUT.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} in {results['total_seconds']:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
