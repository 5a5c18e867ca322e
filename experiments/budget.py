"""The training budget of COURSE.md §7, measured (``make budget``, ~3 minutes).

``fit(PooledCNN("attention"), scenes, seed=seed)`` with fit's defaults on 6,000 scenes
of cluttered anywhere-birds, tested on 2,000 held-out scenes (other seeds): the budget
is >= 95% accuracy within 60 s of CPU training. "Cluttered" here means every scene
holds 1 to 5 distractors (leaves, blobs, branches) and every scene without a bird holds
a decoy of a bird's colour and size. Chapter 4's heavier clutter (2 to 6 distractors,
``helpers.left_right.CLUTTER``) is harder: the same recipe's runs on it are the "budget"
entries of chapter4.json (``make experiments``).

Writes experiments/budget.json with the code version and the machine.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from helpers.models import PooledCNN
from helpers.scenes import make_scenes
from helpers.train import evaluate, fit

sys.path.insert(0, str(Path(__file__).parent))
from chapter4 import commit, machine  # noqa: E402

SEEDS = (0, 1, 2)
BUDGET_CLUTTER = (1, 5)
OUT = Path(__file__).with_suffix(".json")


def run(seed: int) -> dict[str, float]:
    train = make_scenes(6000, distractors=BUDGET_CLUTTER, seed=5000 + seed)
    test = make_scenes(2000, distractors=BUDGET_CLUTTER, seed=6000 + seed)
    model = PooledCNN("attention")
    history = fit(model, train, seed=seed, progress=False)
    return {"seconds": history.seconds, **evaluate(model, test)}


def main() -> None:
    results: dict = {
        "made_by": "experiments/budget.py",
        "commit": commit(),
        "machine": machine(),
        "distractors": list(BUDGET_CLUTTER),
        "train_scenes": 6000,
        "test_scenes": 2000,
        "budget": {"accuracy": 0.95, "seconds": 60.0},
        "seeds": {},
    }
    start = time.perf_counter()
    for seed in SEEDS:
        r = run(seed)
        results["seeds"][str(seed)] = r
        print(
            f"seed {seed}: accuracy {r['accuracy']:.4f} (recall {r['recall']:.3f}, "
            f"false alarms {r['false_alarm']:.3f}) in {r['seconds']:.1f} s",
            flush=True,
        )
    runs = results["seeds"].values()
    results["passed"] = all(r["accuracy"] >= 0.95 and r["seconds"] <= 60.0 for r in runs)
    results["total_seconds"] = time.perf_counter() - start
    OUT.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print(f"budget {'PASSED' if results['passed'] else 'FAILED'}; wrote {OUT}")
    sys.exit(0 if results["passed"] else 1)


if __name__ == "__main__":
    main()
