"""Chapter 4's experiment trained by plain SGD with momentum instead of AdamW.

Chapter 1 says every network of the course learns by gradient descent; from chapter 2
on, :func:`helpers.train.fit` uses AdamW (per-parameter step sizes, decoupled weight
decay). Here chapter 4's three heads on one backbone
(:func:`helpers.pooling_heads.position_experiment`) are trained on left-half birds by
SGD with momentum 0.9 (``fit(..., optimizer="sgd")``), the same one-cycle schedule,
epochs and scenes, at two peak learning rates, over three seeds; AdamW's numbers are
chapter4.json's. Writes experiments/optimizers.json with the code version and the
machine. About 6 minutes on 2 CPU cores.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import torch

from helpers.left_right import position_data
from helpers.pooling_heads import position_experiment

sys.path.insert(0, str(Path(__file__).parent))
from chapter4 import commit, machine  # noqa: E402

SEEDS = (0, 1, 2)
LRS = (0.05, 0.2)
OUT = Path(__file__).with_suffix(".json")


def main() -> None:
    torch.set_num_threads(int(os.environ.get("THREADS", torch.get_num_threads())))
    start = time.perf_counter()
    results: dict = {
        "made_by": "experiments/optimizers.py",
        "commit": commit(),
        "machine": machine(),
        "seeds": list(SEEDS),
        "lrs": list(LRS),
        "sgd": {},
    }
    for lr in LRS:
        results["sgd"][str(lr)] = {}
        for seed in SEEDS:
            _, info = position_experiment(
                seed, data=position_data(seed), optimizer="sgd", lr=lr, progress=False
            )
            results["sgd"][str(lr)][str(seed)] = info
            acc = {
                h: [info[s][h]["accuracy"] for s in ("left", "right")] for h in info["left"]
            }
            shown = ", ".join(f"{h} {a:.3f} / {b:.3f}" for h, (a, b) in acc.items())
            print(f"sgd lr {lr} seed {seed}: left / right {shown}", flush=True)
    results["total_seconds"] = time.perf_counter() - start
    OUT.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} in {results['total_seconds']:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
