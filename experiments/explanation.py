"""Chapter 6's tests of attention maps as explanations, over three seeds.

For each seed, chapter 4's three heads and chapter 5's ViT are trained on that seed's
left-half birds (the recipes' own calls), then every model is tested on the *same*
scenes, seed 0's test scenes (no model trained on them), so that maps of different
seeds can be compared cell by cell:

- ``counterfactual``: attention pooling with other weights at test time
  (:func:`helpers.map_scores.counterfactual_scores`), on all 2,000 test scenes of
  each half;
- ``agreement``: on the first 300 left-half bird scenes, each map (attention, the
  average model's CAM, the bird itself, random numbers, the occlusion variants)
  against occlusion sensitivity (mean-colour fill), and how often its top cell is on
  the bird; ``occlusion``: attention against each occlusion variant;
- ``faithfulness``: P(bird) of the attention and the average model after greying the
  top-k cells by attention, the bird, each model's own occlusion map, and at random;
- ``vit``: the ViT's class-token attention, rollout and attention x gradient, scored
  the same two ways with the ViT's own occlusion map;
- ``across_seeds``: how alike each kind of map is between the seeds' models on the
  same scenes (:func:`helpers.map_scores.seed_agreement`): the noise ceiling.

Writes experiments/explanation.json with the code version (git commit) and machine.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from helpers.cam import class_activation_map
from helpers.explanation import bird_per_cell
from helpers.left_right import position_data
from helpers.map_scores import (
    agreement_scores,
    counterfactual_scores,
    faithfulness_scores,
    occlusion_maps,
    seed_agreement,
    vit_maps,
)
from helpers.occlusion import occlusion_map
from helpers.pooling_heads import position_experiment
from helpers.vit_positions import position_run

sys.path.insert(0, str(Path(__file__).parent))
from chapter4 import commit, machine  # noqa: E402

SEEDS = (0, 1, 2)
SCENES = 300
OUT = Path(__file__).with_suffix(".json")


def evaluation() -> dict:
    """Seed 0's test scenes, the bird scenes the maps are drawn on, and the same
    scenes without their birds."""
    data, bare = position_data(0), position_data(0, main=False)
    left = data["left"]
    birds = np.flatnonzero(left.labels == 1)[:SCENES]
    return {
        "halves": {h: data[h] for h in ("left", "right")},
        "images": left.images[birds],
        "bare": bare["left"].images[birds],
        "masks": left.masks[birds],
    }


def one_seed(seed: int, scenes: dict) -> tuple[dict, dict]:
    """Every score of one seed's models, and the maps kept for the seed comparison."""
    heads, _ = position_experiment(seed, progress=False)
    vit = position_run(seed, variants=("learned",), progress=False)[0]["learned"]
    attention, avg = heads["attention"], heads["avg"]
    images, masks = scenes["images"], scenes["masks"]
    x = torch.from_numpy(images)
    counterfactual = {
        half: counterfactual_scores(attention, heads["mask"], s, seed=seed)[0]
        for half, s in scenes["halves"].items()
    }
    occluded = occlusion_maps(attention, images, scenes["bare"])
    own_avg = occlusion_map(avg, images)
    att = attention.pool_weights(x).double().numpy()
    bird = bird_per_cell(masks, att.shape[1:])
    rand = np.random.default_rng(seed).random(att.shape)
    maps = {
        "attention": att,
        "CAM": class_activation_map(avg, images),
        "bird": bird,
        "random": rand,
        **{f"occlusion, {k}": v for k, v in occluded.items()},
    }
    agreement = agreement_scores(maps, occluded["mean"], masks)
    occlusion = {
        variant: agreement_scores({"attention": att}, m, masks)["attention"]
        for variant, m in occluded.items()
    }
    faithfulness = faithfulness_scores(
        {"attention": attention, "avg": avg},
        x,
        {
            "attention": att,
            "bird": bird,
            "occlusion": {"attention": occluded["mean"], "avg": own_avg},
            "random": rand,
        },
    )
    seen = vit_maps(vit, x)
    own_vit = occlusion_map(vit, images)
    vit_scores = {
        "agreement": agreement_scores({**seen, "bird": bird}, own_vit, masks),
        "faithfulness": faithfulness_scores(
            {"vit": vit}, x, {**seen, "occlusion": own_vit, "random": rand}
        )["vit"],
    }
    scores = {
        "counterfactual": counterfactual,
        "agreement": agreement,
        "occlusion": occlusion,
        "faithfulness": faithfulness,
        "vit": vit_scores,
    }
    kept = {
        "attention": att,
        "occlusion": occluded["mean"],
        "CAM": maps["CAM"],
        "ViT class token": seen["class token"],
        "ViT attention x gradient": seen["gradient"],
    }
    return scores, kept


def main() -> None:
    torch.set_num_threads(int(os.environ.get("THREADS", torch.get_num_threads())))
    start = time.perf_counter()
    results: dict = {
        "made_by": "experiments/explanation.py",
        "commit": commit(),
        "machine": machine(),
        "seeds": list(SEEDS),
        "scenes": SCENES,
    }
    scenes = evaluation()
    kept = []
    for seed in SEEDS:
        scores, maps = one_seed(seed, scenes)
        for part, value in scores.items():
            results.setdefault(part, {})[str(seed)] = value
        kept.append(maps)
        cf = scores["counterfactual"]["right"]
        shown = ", ".join(f"{k} {v['accuracy']:.3f}" for k, v in cf.items())
        print(f"seed {seed}: right-half accuracy with {shown}", flush=True)
    results["across_seeds"] = {
        kind: seed_agreement([m[kind] for m in kept]) for kind in kept[0]
    }
    results["total_seconds"] = time.perf_counter() - start
    OUT.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} in {results['total_seconds']:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
