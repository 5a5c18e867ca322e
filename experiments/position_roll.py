"""Chapter 5's intervention on learned positions, over three seeds (``make experiments``).

For each seed, the hybrid ViT with learned positions is trained on left-half birds
(the chapter 5 recipe's call, :func:`helpers.vit_positions.position_run`), then its
positional embeddings are rolled by half the grid (3 columns,
:func:`helpers.vit_positions.roll_effect`): no training, only the parameters tied to
positions moved. If the right-half deficit comes from them, it moves with them.
Writes experiments/position_roll.json with the code version (git commit) and machine.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import torch

from helpers.left_right import position_data
from helpers.vit_positions import position_run, roll_effect

sys.path.insert(0, str(Path(__file__).parent))
from chapter4 import commit, machine  # noqa: E402

SEEDS = (0, 1, 2)
COLUMNS = 3
OUT = Path(__file__).with_suffix(".json")


def main() -> None:
    torch.set_num_threads(int(os.environ.get("THREADS", torch.get_num_threads())))
    start = time.perf_counter()
    results: dict = {
        "made_by": "experiments/position_roll.py",
        "commit": commit(),
        "machine": machine(),
        "seeds": list(SEEDS),
        "columns": COLUMNS,
        "runs": {},
    }
    for seed in SEEDS:
        data = position_data(seed)
        vit = position_run(seed, variants=("learned",), data=data, progress=False)[0]
        found = roll_effect(vit["learned"], data, COLUMNS)
        results["runs"][str(seed)] = found
        print(f"seed {seed}: {found}", flush=True)
    results["total_seconds"] = time.perf_counter() - start
    OUT.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} in {results['total_seconds']:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
