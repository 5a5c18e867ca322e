"""Chapter 4's clutter sweep over three seeds (``make experiments``, about 40 minutes).

For each setting of :data:`helpers.clutter_sweep.SWEEP_SETTINGS` (bird size x clutter,
birds anywhere) and each seed, every readout of chapter 4's comparison (flatten ->
linear, max, average, fixed mask, attention) trains with its own backbone and is
tested on fresh scenes of that setting (:func:`helpers.clutter_sweep.sweep_run`).
Writes experiments/clutter_sweep.json after every run (a stopped run keeps what it
finished), with the code version (git commit) and the machine.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import torch

from helpers.clutter_sweep import SWEEP_SETTINGS, sweep_run

sys.path.insert(0, str(Path(__file__).parent))
from chapter4 import commit, machine  # noqa: E402

SEEDS = (0, 1, 2)
OUT = Path(__file__).with_suffix(".json")


def main() -> None:
    torch.set_num_threads(int(os.environ.get("THREADS", torch.get_num_threads())))
    start = time.perf_counter()
    results: dict = {
        "made_by": "experiments/clutter_sweep.py",
        "commit": commit(),
        "machine": machine(),
        "seeds": list(SEEDS),
        "settings": {
            k: {a: list(v) for a, v in s.items()} for k, s in SWEEP_SETTINGS.items()
        },
        "runs": {setting: {} for setting in SWEEP_SETTINGS},
    }
    for seed in SEEDS:
        for setting in SWEEP_SETTINGS:
            found = sweep_run(setting, seed, progress=False)
            results["runs"][setting][str(seed)] = found
            shown = ", ".join(
                f"{n} {r['accuracy']:.3f}" for n, r in found.items() if n != "bird_share"
            )
            print(f"{setting}, seed {seed}: accuracy {shown}", flush=True)
            results["total_seconds"] = time.perf_counter() - start
            OUT.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} in {results['total_seconds']:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
