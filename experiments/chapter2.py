"""Chapter 2's data-hunger curves over three seeds (``make experiments``).

The MLP (``helpers.models.MLP()``, the chapter's model) trained on 500 to 8,000
scenes with birds near the centre and with birds anywhere (``helpers.hunger``), each
tested on 2,000 fresh scenes of its kind; and 15-layer plain nets, for each activation
and initialisation, trained by plain SGD (``helpers.initialisation.DEPTH_TRAINING``);
and the depth sweep (``helpers.depth_sweep``): 15-layer plain nets, a 15-layer residual
net with layer norm and a 2-layer net trained ten times longer by plain SGD, at three
learning rates for seed 0, then at each net's best rate (on the validation split) for
the other seeds. ``python experiments/chapter2.py depth`` reruns only the 300-step
trainings, ``python experiments/chapter2.py depth_sweep`` only the sweep. The notebook
runs one point of each live and checks that it falls inside the ranges recorded here.
Writes experiments/chapter2.json with the code version (git commit) and the machine
that made it. The curves and the 300-step trainings took 15 minutes on a 2-core
machine busy with other jobs, the sweep 12 minutes more (at one thread).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import torch

from helpers.depth_sweep import DEPTH_NETS, DEPTH_SWEEP, best_lr, train_depth_net
from helpers.hunger import REGIONS, SIZES, hunger_run, hunger_scenes
from helpers.initialisation import DEPTH_TRAINING, loss_summary, train_at_depth
from helpers.models import MLP

sys.path.insert(0, str(Path(__file__).parent))
from chapter4 import commit, machine  # noqa: E402

SEEDS = (0, 1, 2)
OUT = Path(__file__).with_suffix(".json")


def depth(seed: int) -> dict[str, dict[str, float]]:
    """Every (activation, init) pair of a deep plain net trained by plain SGD."""
    t = DEPTH_TRAINING
    scenes = hunger_scenes("centred", t["scenes"], seed)
    runs = train_at_depth(
        t["depth"],
        scenes,
        steps=t["steps"],
        lr=t["lr"],
        batch_size=t["batch_size"],
        seed=seed,
        progress=False,
    )
    return {f"{a} {i}": loss_summary(losses) for (a, i), losses in runs.items()}


def depth_sweep() -> dict:
    """Every net of the sweep at every learning rate for seed 0; the other seeds at
    each net's best rate on seed 0's validation split."""
    start = time.perf_counter()
    runs: dict = {name: {str(s): {} for s in SEEDS} for name in DEPTH_NETS}
    best = {}
    for name in DEPTH_NETS:
        for seed in SEEDS:
            lrs = DEPTH_SWEEP["lrs"] if seed == SEEDS[0] else [float(best[name])]
            for lr in lrs:
                r = train_depth_net(name, lr, seed, progress=False)
                runs[name][str(seed)][str(lr)] = r
                loss = "diverged" if r["diverged"] else f"loss {r['loss'][-1]:.3f}"
                print(
                    f"{name:30} seed {seed} lr {lr:<5}: {loss}, validation "
                    f"{r['validation'][-1]:.3f}, test {r['test'][-1]:.3f} "
                    f"in {r['seconds']:.0f} s",
                    flush=True,
                )
            if seed == SEEDS[0]:
                best[name] = best_lr(runs[name][str(seed)])
    return {
        "settings": {**DEPTH_SWEEP, "lrs": list(DEPTH_SWEEP["lrs"])},
        "nets": {name: list(spec) for name, spec in DEPTH_NETS.items()},
        "lr_chosen_on": f"seed {SEEDS[0]}'s validation split, last record",
        "best_lr": best,
        "runs": runs,
        "commit": commit(),
        "machine": machine(),
        "seconds": time.perf_counter() - start,
    }


def main() -> None:
    torch.set_num_threads(int(os.environ.get("THREADS", torch.get_num_threads())))
    if sys.argv[1:] == ["depth"]:  # only the deep-net trainings, into the existing file
        results = json.loads(OUT.read_text())
        results["depth"] = {str(s): depth(s) for s in SEEDS}
        results["depth_commit"] = commit()
        OUT.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
        print(f"wrote the depth trainings into {OUT}")
        return
    if sys.argv[1:] == ["depth_sweep"]:  # only the sweep, into the existing file
        results = json.loads(OUT.read_text())
        results["depth_sweep"] = depth_sweep()
        OUT.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
        print(f"wrote the depth sweep into {OUT}")
        return
    results: dict = {
        "made_by": "experiments/chapter2.py",
        "commit": commit(),
        "machine": machine(),
        "seeds": list(SEEDS),
        "sizes": list(SIZES),
        "mlp": {where: {str(n): {} for n in SIZES} for where in REGIONS},
    }
    start = time.perf_counter()
    for seed in SEEDS:
        for where in REGIONS:
            for n in SIZES:
                _, r = hunger_run(MLP, where, n, seed, progress=False)
                results["mlp"][where][str(n)][str(seed)] = r
                print(
                    f"seed {seed} {where:8} {n:5}: accuracy {r['accuracy']:.3f} "
                    f"in {r['seconds']:.1f} s",
                    flush=True,
                )
    results["depth"] = {}
    for seed in SEEDS:
        results["depth"][str(seed)] = depth(seed)
        print(f"seed {seed}: deep nets trained", flush=True)
    results["depth_sweep"] = depth_sweep()
    results["total_seconds"] = time.perf_counter() - start
    OUT.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} in {results['total_seconds']:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
