"""Chapter 4's full results: every experiment over three seeds (``make experiments``).

The notebook runs seed 0 of the main experiment live and checks that its numbers fall
inside the ranges recorded here. Writes experiments/chapter4.json with the code version
(git commit) and the machine that made it. About 16 minutes on 2 CPU cores.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from helpers.left_right import CLUTTER, position_data
from helpers.models import PooledCNN
from helpers.pooling_heads import position_experiment
from helpers.scenes import make_scenes
from helpers.train import device, evaluate, fit

SEEDS = (0, 1, 2)
OUT = Path(__file__).with_suffix(".json")


def machine() -> dict[str, object]:
    """What ran the experiment: CPUs, torch threads, device, versions."""
    return {
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": str(device()),
        "processor": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "numpy": np.__version__,
    }


def commit() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(  # the code; not the results (experiments/*.json)
            ["git", "status", "--porcelain", "src", "experiments", ":!*.json"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        return rev + ("+uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def budget(seed: int) -> dict[str, float]:
    """The chapter's model alone on cluttered anywhere-birds: time and test metrics."""
    train = make_scenes(6000, distractors=CLUTTER, seed=5000 + seed)
    test = make_scenes(2000, distractors=CLUTTER, seed=6000 + seed)
    model = PooledCNN("attention")
    history = fit(model, train, seed=seed, progress=False)
    return {"seconds": history.seconds, **evaluate(model, test)}


def main() -> None:
    torch.set_num_threads(int(os.environ.get("THREADS", torch.get_num_threads())))
    results: dict = {
        "made_by": "experiments/chapter4.py",
        "commit": commit(),
        "machine": machine(),
        "seeds": list(SEEDS),
        "circular": {},
        "zeros": {},
        "separate": {},
        "budget": {},
    }
    start = time.perf_counter()
    for seed in SEEDS:
        data = position_data(seed)
        for padding in ("circular", "zeros"):
            _, r = position_experiment(seed, padding=padding, data=data, progress=False)
            results[padding][str(seed)] = r
            print(
                f"seed {seed} {padding}: right-half accuracy "
                + ", ".join(f"{k} {v['accuracy']:.3f}" for k, v in r["right"].items()),
                flush=True,
            )
        _, r = position_experiment(seed, separate=True, data=data, progress=False)
        results["separate"][str(seed)] = r
        results["budget"][str(seed)] = budget(seed)
        print(f"seed {seed}: separate and budget done", flush=True)
    results["total_seconds"] = time.perf_counter() - start
    OUT.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} in {results['total_seconds']:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
