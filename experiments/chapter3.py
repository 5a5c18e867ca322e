"""Chapter 3's sample-efficiency curve over three seeds (``make experiments``).

The CNN with average pooling (``helpers.models.PooledCNN("avg")``, chapter 4's "avg"
head, trained by ``fit`` with its defaults but for ``helpers.hunger.epochs_for``
epochs) on 500 to 8,000 scenes with birds anywhere, on chapter 2's axes
(``helpers.hunger``), each tested on 2,000 fresh scenes. The notebook runs one point
live and checks that it falls inside the range recorded here. Writes
experiments/chapter3.json with the code version (git commit) and the machine that
made it. It took 10 minutes on a 2-core machine partly busy with other jobs.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import torch

from helpers.hunger import SIZES, hunger_run
from helpers.models import PooledCNN
from helpers.train import CNN_LR

sys.path.insert(0, str(Path(__file__).parent))
from chapter4 import commit, machine  # noqa: E402

SEEDS = (0, 1, 2)
OUT = Path(__file__).with_suffix(".json")


def cnn() -> PooledCNN:
    """The chapter's CNN: chapter 4's backbone with the average-pooling head."""
    return PooledCNN("avg")


def main() -> None:
    torch.set_num_threads(int(os.environ.get("THREADS", torch.get_num_threads())))
    results: dict = {
        "made_by": "experiments/chapter3.py",
        "commit": commit(),
        "machine": machine(),
        "seeds": list(SEEDS),
        "sizes": list(SIZES),
        "cnn": {"anywhere": {str(n): {} for n in SIZES}},
    }
    start = time.perf_counter()
    for seed in SEEDS:
        for n in SIZES:
            _, r = hunger_run(cnn, "anywhere", n, seed, lr=CNN_LR, progress=False)
            results["cnn"]["anywhere"][str(n)][str(seed)] = r
            print(
                f"seed {seed} anywhere {n:5}: accuracy {r['accuracy']:.3f} "
                f"in {r['seconds']:.1f} s",
                flush=True,
            )
    results["total_seconds"] = time.perf_counter() - start
    OUT.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} in {results['total_seconds']:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
