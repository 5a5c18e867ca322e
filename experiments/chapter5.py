"""Chapter 5's results over three seeds (``make experiments``).

- ``positions``: the position experiment (:func:`helpers.vit_positions.position_run`):
  vision transformers with learned positional embeddings and without, trained on
  left-half birds in clutter (chapter 4's scenes), tested in both halves; for the
  hybrid (``stem="conv"``, the chapter's model) and the pure ViT (``"patches"``).
- ``vit`` and ``hybrid``: the pure ViT and the hybrid on chapter 3's sample-efficiency
  axes (``helpers.hunger``, birds anywhere, 500 to 8,000 scenes).
- ``equal_seen``: the 8,000-scene point of the pure ViT and chapter 3's CNN again,
  trained for 5 epochs instead of 10, so that it sees 40,000 scenes like every smaller
  size (:func:`equal_seen`).

The notebook runs seed 0 of the hybrid's position experiment and one point of the pure
ViT's curve live, and checks that they fall inside the ranges recorded here. Writes
experiments/chapter5.json with the code version (git commit) and the machine that made
it (after each part, so a stopped run keeps what it finished).

``python experiments/chapter5.py positions`` runs the position experiment again and
keeps the committed curves (for a change that touches only the former);
``python experiments/chapter5.py seen`` only the equal-scenes-seen runs.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import torch

from helpers.hunger import SIZES, hunger_run
from helpers.models import ViT
from helpers.train import CNN_LR, VIT_LR
from helpers.vit_positions import position_run

sys.path.insert(0, str(Path(__file__).parent))
from chapter3 import cnn  # noqa: E402
from chapter4 import commit, machine  # noqa: E402

SEEDS = (0, 1, 2)
OUT = Path(__file__).with_suffix(".json")


def vit() -> ViT:
    """The pure vision transformer: 8x8 patches as tokens, learned positions."""
    return ViT(stem="patches")


def hybrid() -> ViT:
    """The hybrid: chapter 4's convolutional backbone's 6x6 grid as tokens."""
    return ViT(stem="conv")


SEEN = 40_000
"""Scenes seen by every run of :func:`equal_seen`: what the smaller sizes see."""


def equal_seen() -> dict[str, dict[str, dict[str, float]]]:
    """The 8,000-scene point again, trained for 5 epochs instead of 10: 40,000 scenes
    seen, as at every smaller size (:func:`helpers.hunger.epochs_for`), for the pure
    ViT and chapter 3's CNN, three seeds."""
    found: dict[str, dict[str, dict[str, float]]] = {"vit": {}, "cnn": {}}
    for name, make, lr in (("vit", vit, VIT_LR), ("cnn", cnn, CNN_LR)):
        for seed in SEEDS:
            _, r = hunger_run(
                make, "anywhere", 8000, seed, lr=lr, epochs=SEEN // 8000, progress=False
            )
            found[name][str(seed)] = r
            print(f"{name} seed {seed}, 8,000 scenes x 5 epochs: {r['accuracy']:.3f}")
    return found


def main(parts: list[str]) -> None:
    torch.set_num_threads(int(os.environ.get("THREADS", torch.get_num_threads())))
    if parts == ["seen"]:  # only the equal-scenes-seen point, into the existing file
        results = json.loads(OUT.read_text())
        results["equal_seen"] = equal_seen()
        results["equal_seen_commit"] = commit()
        OUT.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
        print(f"wrote the equal-scenes-seen runs into {OUT}")
        return
    if parts not in ([], ["positions"]):
        raise SystemExit(f"usage: {sys.argv[0]} [positions | seen]; got {parts}")
    only_positions = parts == ["positions"]
    results: dict = {
        "made_by": "experiments/chapter5.py",
        "commit": commit(),
        "machine": machine(),
        "seeds": list(SEEDS),
        "sizes": list(SIZES),
        "positions": {"conv": {}, "patches": {}},
        "vit": {"anywhere": {str(n): {} for n in SIZES}},
        "hybrid": {"anywhere": {str(n): {} for n in SIZES}},
    }
    if only_positions:
        kept = json.loads(OUT.read_text())
        results |= {"vit": kept["vit"], "hybrid": kept["hybrid"]}
        results["curves_made_by_commit"] = kept.get("curves_made_by_commit", kept["commit"])
    start = time.perf_counter()

    def save() -> None:
        results["total_seconds"] = time.perf_counter() - start
        OUT.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")

    for stem in ("conv", "patches"):
        for seed in SEEDS:
            _, r = position_run(seed, stem=stem, progress=False)
            results["positions"][stem][str(seed)] = r
            print(
                f"positions {stem} seed {seed}: right-half accuracy learned "
                f"{r['right']['learned']['accuracy']:.3f}, none "
                f"{r['right']['none']['accuracy']:.3f} in {r['seconds']:.1f} s",
                flush=True,
            )
            save()
    for name, make, lr in (("vit", vit, VIT_LR), ("hybrid", hybrid, CNN_LR)):
        if only_positions:
            break
        for seed in SEEDS:
            for n in SIZES:
                _, r = hunger_run(make, "anywhere", n, seed, lr=lr, progress=False)
                results[name]["anywhere"][str(n)][str(seed)] = r
                print(
                    f"{name} seed {seed} anywhere {n:5}: accuracy {r['accuracy']:.3f} "
                    f"in {r['seconds']:.1f} s",
                    flush=True,
                )
            save()
    if not only_positions:
        results["equal_seen"] = equal_seen()
    else:
        results["equal_seen"] = kept["equal_seen"]
    save()
    print(f"wrote {OUT} in {results['total_seconds']:.0f} s")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
