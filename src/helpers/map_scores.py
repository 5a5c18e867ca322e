"""Chapter 6's tests of attention maps as explanations, on one seed's models.

Chapter 6 asks whether an attention map explains the model's answer, the way the
field asks it. Each function below runs one family of tests on one seed's trained
models (chapter 4's heads, chapter 5's ViT); the notebook runs seed 0, and
``experiments/explanation.py`` repeats them over three seeds (the spread across seeds
is itself a test: :func:`seed_agreement`).

- :func:`counterfactual_scores`: replace attention pooling's weights at test time
  (:mod:`helpers.counterfactual`) and see what the model's answers do;
- :func:`occlusion_maps`: occlusion sensitivity with several fills and windows
  (:func:`helpers.occlusion.occlusion_map`);
- :func:`agreement_scores`: how well maps agree with a reference (Spearman, the top
  k cells) and point at the bird (:mod:`helpers.explanation`);
- :func:`faithfulness_scores`: P(bird) after greying the top-k cells of several
  rankings, for several models (one that attends, one that does not);
- :func:`vit_maps`: a ViT's three maps (class token, rollout, gradient rollout);
- :func:`explanation_over_seeds`: one number of the committed results for every seed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np
import torch
from torch import nn

from helpers.counterfactual import (
    adversarial_weights,
    counterfactual_effects,
    counterfactual_weights,
    js_divergence,
    other_weights,
    values_and_weights,
)
from helpers.explanation import (
    grey_top,
    pointing_game,
    rank_agreement,
    top_k_overlap,
)
from helpers.inference import eval_mode
from helpers.models import PooledCNN, ViT
from helpers.occlusion import occlusion_map
from helpers.rollout import attention_rollout, class_attention, gradient_rollout
from helpers.scenes import Scenes

__all__ = [
    "COUNTERFACTUALS",
    "counterfactual_scores",
    "OCCLUSIONS",
    "occlusion_maps",
    "agreement_scores",
    "faithfulness_scores",
    "VIT_MAPS",
    "vit_maps",
    "seed_agreement",
    "explanation_over_seeds",
]

COUNTERFACTUALS = {
    "learned": "its own weights",
    "uniform": "uniform, 1/36 each",
    "permuted": "its own, shuffled",
    "leaf query": "the leaf query's",
    "mask": "the fixed mask's",
    "adversarial": "adversarial",
}
"""The weightings :func:`counterfactual_scores` swaps in, and how tables name them."""


def counterfactual_scores(
    attention: PooledCNN,
    mask: PooledCNN,
    scenes: Scenes,
    *,
    tolerance: float = 0.01,
    seed: int = 0,
) -> tuple[dict[str, dict[str, float]], dict[str, torch.Tensor]]:
    """Attention pooling with every weighting of :data:`COUNTERFACTUALS` at test time.

    Args:
        attention: chapter 4's attention model (query 1 is its "leaf" query).
        mask: chapter 4's fixed-mask model, whose map is one of the swaps.
        scenes: test scenes, with and without birds.
        tolerance: the adversary's largest change of P(bird).
        seed: the permutations and the adversary's start.

    Returns:
        ``(effects, weightings)``: :func:`helpers.counterfactual.counterfactual_effects`
        for each weighting, and the weightings themselves, (N, h, w) each.
    """
    values, own = values_and_weights(attention, scenes.images)
    weightings = {
        "learned": own,
        "uniform": counterfactual_weights(own, "uniform"),
        "permuted": counterfactual_weights(own, "permuted", seed=seed),
        "leaf query": other_weights(attention, scenes.images, 1),
        "mask": other_weights(attention, scenes.images, mask),
        "adversarial": adversarial_weights(
            attention, values, own, tolerance=tolerance, seed=seed
        ),
    }
    effects = counterfactual_effects(
        attention, values, weightings, scenes.labels, scenes.masks
    )
    return effects, weightings


OCCLUSIONS = {
    "mean": "one cell, mean colour",
    "blur": "one cell, blurred",
    "without bird": "one cell, the scene without its bird",
    "2x2": "2 x 2 cells, mean colour",
}
"""The occlusion maps of :func:`occlusion_maps`, and how tables name them."""


def occlusion_maps(
    model: nn.Module, images: np.ndarray, bare: np.ndarray
) -> dict[str, np.ndarray]:
    """Occlusion sensitivity of ``model`` four ways (:data:`OCCLUSIONS`), (N, h, w) each.

    Args:
        model: maps images to bird logits.
        images: (N, 3, H, W) scenes.
        bare: the same scenes without their birds (``make_scenes(..., main=False)``),
            the fill of ``"without bird"``.
    """
    return {
        "mean": occlusion_map(model, images),
        "blur": occlusion_map(model, images, fill="blur"),
        "without bird": occlusion_map(model, images, fill=bare),
        "2x2": occlusion_map(model, images, window=2),
    }


def agreement_scores(
    maps: Mapping[str, np.ndarray],
    reference: np.ndarray,
    masks: np.ndarray,
    *,
    k: int = 3,
) -> dict[str, dict[str, float]]:
    """How each map agrees with ``reference`` and how often it points at the bird.

    Args:
        maps: ``{name: (N, h, w)}`` maps of the same bird scenes.
        reference: (N, h, w), e.g. occlusion sensitivity.
        masks: (N, H, W) bird masks of the scenes.
        k: the top cells compared by :func:`helpers.explanation.top_k_overlap`.

    Returns:
        ``{name: scores}``, the scores a dict: ``"spearman"``, the median rank
        agreement with the reference; ``"top_k"``, the mean share of its top k among
        the reference's top k; ``"pointing"``, the share of scenes whose top cell is
        on the bird.
    """
    out = {}
    for name, m in maps.items():
        out[name] = {
            "spearman": float(np.nanmedian(rank_agreement(m, reference))),
            "top_k": float(top_k_overlap(m, reference, k).mean()),
            "pointing": float(pointing_game(m, masks).mean()),
        }
    return out


def faithfulness_scores(
    models: Mapping[str, nn.Module],
    images: torch.Tensor,
    rankings: Mapping[str, Mapping[str, np.ndarray] | np.ndarray],
    ks: Sequence[int] = (1, 2, 3),
) -> dict[str, dict[str, Any]]:
    """Mean P(bird) of each model after greying out the top-k cells of each ranking.

    Args:
        models: ``{name: model}``, e.g. attention pooling and average pooling.
        images: (N, 3, H, W) bird scenes.
        rankings: ``{ranking: maps}``, maps (N, h, w) shared by every model, or a
            dict ``{model name: maps}`` for rankings of each model's own (its
            occlusion map).
        ks: how many cells to grey out.

    Returns:
        ``{model: {"before": mean P(bird), ranking: {k: mean P(bird)}}}``.
    """
    out: dict[str, dict[str, Any]] = {}
    for name, model in models.items():
        dev = next(model.parameters()).device
        with torch.no_grad(), eval_mode(model):
            before = torch.sigmoid(model(images.to(dev)).double()).mean().item()
        out[name] = {"before": before}
        for ranking, maps in rankings.items():
            m = maps[name] if isinstance(maps, Mapping) else maps
            out[name][ranking] = {
                str(k): float(grey_top(model, images, m, k).mean()) for k in ks
            }
    return out


VIT_MAPS = {
    "class token": "class token, last layer",
    "rollout": "attention rollout",
    "gradient": "attention × gradient",
}
"""The ViT maps of :func:`vit_maps`, and how tables name them."""


def vit_maps(vit: ViT, images: torch.Tensor) -> dict[str, np.ndarray]:
    """A ViT's three maps of :data:`VIT_MAPS` over its grid, (N, h, w), each summing
    to 1: :func:`helpers.rollout.class_attention`, :func:`~helpers.rollout.
    attention_rollout` and :func:`~helpers.rollout.gradient_rollout`."""
    attention = vit.attention_maps(images)
    return {
        "class token": class_attention(attention),
        "rollout": attention_rollout(attention),
        "gradient": gradient_rollout(vit, images),
    }


def seed_agreement(maps: Sequence[np.ndarray]) -> dict[str, float]:
    """How alike the same kind of map is across models trained with different seeds,
    on the same scenes: the noise ceiling of agreement.

    Args:
        maps: one (N, h, w) array per seed (at least 2).

    Returns:
        A dict: ``"spearman"``, the median over scenes and pairs of seeds of the rank
        agreement; ``"top_k"``, the mean top-3 overlap; ``"jsd"``, the mean
        Jensen-Shannon divergence (bits; NaN unless every map sums to 1).
    """
    if len(maps) < 2:
        raise ValueError("seed_agreement needs the maps of at least 2 seeds")
    pairs = list(combinations(range(len(maps)), 2))
    rho = np.concatenate([rank_agreement(maps[i], maps[j]) for i, j in pairs])
    top = np.concatenate([top_k_overlap(maps[i], maps[j], 3) for i, j in pairs])
    sums = [np.allclose(np.asarray(m).sum(axis=(1, 2)), 1.0) for m in maps]
    jsd = float("nan")
    if all(sums) and all((np.asarray(m) >= 0).all() for m in maps):
        jsd = float(
            np.concatenate([js_divergence(maps[i], maps[j]) for i, j in pairs]).mean()
        )
    return {"spearman": float(np.nanmedian(rho)), "top_k": float(top.mean()), "jsd": jsd}


def explanation_over_seeds(
    committed: Mapping[str, Any], part: str, *keys: str
) -> np.ndarray:
    """One number of ``experiments/explanation.json`` for every seed, e.g.
    ``explanation_over_seeds(load("explanation"), "counterfactual", "right",
    "uniform", "accuracy")``.

    Args:
        committed: the results, as :func:`helpers.results.load` reads them.
        part: ``"counterfactual"``, ``"agreement"``, ``"occlusion"``,
            ``"faithfulness"`` or ``"vit"``.
        keys: the path below each seed's entry.

    Returns:
        (seeds,) float64.
    """
    parts = ("counterfactual", "agreement", "occlusion", "faithfulness", "vit")
    if part not in parts:
        raise ValueError(f"part must be one of {parts}, got {part!r}")
    values = []
    for seed in committed["seeds"]:
        entry = committed[part][str(seed)]
        for key in keys:
            if not isinstance(entry, Mapping) or key not in entry:
                raise ValueError(f"no {'/'.join(keys)} under {part!r} (missing {key!r})")
            entry = entry[key]
        values.append(float(entry))
    return np.asarray(values)
