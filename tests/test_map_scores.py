"""helpers.map_scores: chapter 6's tests of maps as explanations, on one seed's models."""

import numpy as np
import pytest
import torch

from helpers.explanation import bird_per_cell
from helpers.map_scores import (
    COUNTERFACTUALS,
    OCCLUSIONS,
    VIT_MAPS,
    agreement_scores,
    counterfactual_scores,
    faithfulness_scores,
    occlusion_maps,
    seed_agreement,
    vit_maps,
)
from helpers.models import ViT
from helpers.pooling_heads import three_heads
from helpers.scenes import make_scenes


@pytest.fixture(scope="module")
def heads():
    torch.manual_seed(0)
    heads = {k: m.eval() for k, m in three_heads().items()}
    with torch.no_grad():
        heads["attention"].queries.mul_(6)
        heads["mask"].mask_logits.normal_()
    return heads


@pytest.fixture(scope="module")
def scenes():
    return make_scenes(12, seed=8, distractors=(1, 2))


def test_counterfactual_scores_cover_every_weighting(heads, scenes):
    effects, weightings = counterfactual_scores(heads["attention"], heads["mask"], scenes)
    assert list(effects) == list(COUNTERFACTUALS) == list(weightings)
    for name, w in weightings.items():
        assert w.shape == (12, 6, 6), name
        np.testing.assert_allclose(w.sum(dim=(1, 2)), 1.0, atol=1e-6, err_msg=name)
    assert effects["learned"]["change"] == 0
    assert effects["adversarial"]["change"] <= 0.01 + 1e-12
    assert set(effects["uniform"]) == {"accuracy", "change", "jsd", "mass"}


def test_occlusion_maps_four_ways(heads, scenes):
    bare = make_scenes(12, seed=8, distractors=(1, 2), main=False)
    maps = occlusion_maps(heads["avg"], scenes.images[:3], bare.images[:3])
    assert list(maps) == list(OCCLUSIONS)
    assert all(m.shape == (3, 6, 6) for m in maps.values())
    assert not np.allclose(maps["mean"], maps["blur"])


def test_agreement_scores(scenes):
    birds = scenes.labels == 1
    masks = scenes.masks[birds]
    truth = bird_per_cell(masks, (6, 6))
    rng = np.random.default_rng(0)
    scores = agreement_scores(
        {"bird": truth, "random": rng.random(truth.shape)}, truth, masks
    )
    assert scores["bird"] == {"spearman": 1.0, "top_k": 1.0, "pointing": 1.0}
    assert scores["random"]["spearman"] < 1 and 0 <= scores["random"]["pointing"] <= 1


def test_faithfulness_scores_every_model_and_ranking(heads, scenes):
    x = torch.from_numpy(scenes.images[:4])
    rng = np.random.default_rng(1)
    own = {"attention": rng.random((4, 6, 6)), "avg": rng.random((4, 6, 6))}
    out = faithfulness_scores(
        {"attention": heads["attention"], "avg": heads["avg"]},
        x,
        {"random": rng.random((4, 6, 6)), "own": own},
        ks=(1, 2),
    )
    assert set(out) == {"attention", "avg"}
    for scores in out.values():
        assert set(scores) == {"before", "random", "own"}
        assert set(scores["own"]) == {"1", "2"}
        assert 0 < scores["before"] < 1


def test_vit_maps(scenes):
    torch.manual_seed(0)
    maps = vit_maps(ViT().eval(), torch.from_numpy(scenes.images[:3]))
    assert list(maps) == list(VIT_MAPS)
    for m in maps.values():
        assert m.shape == (3, 6, 6)
        np.testing.assert_allclose(m.sum(axis=(1, 2)), 1.0)


def test_seed_agreement():
    rng = np.random.default_rng(2)
    a = rng.dirichlet(np.ones(36), 5).reshape(5, 6, 6)
    same = seed_agreement([a, a.copy(), a.copy()])
    assert same == {"spearman": 1.0, "top_k": 1.0, "jsd": 0.0}
    other = seed_agreement([a, rng.dirichlet(np.ones(36), 5).reshape(5, 6, 6)])
    assert other["spearman"] < 0.9 and other["jsd"] > 0
    assert np.isnan(seed_agreement([a - 1, a])["jsd"])  # not maps summing to 1
    with pytest.raises(ValueError, match="at least 2"):
        seed_agreement([a])


def test_the_committed_results_read_for_every_seed():
    from helpers.map_scores import explanation_over_seeds
    from helpers.results import load

    committed = load("explanation")
    assert committed["seeds"] == [0, 1, 2] and committed["scenes"] == 300
    acc = explanation_over_seeds(
        committed, "counterfactual", "right", "uniform", "accuracy"
    )
    assert acc.shape == (3,) and ((acc > 0) & (acc < 1)).all()
    first = committed["counterfactual"]["0"]["right"]["uniform"]["accuracy"]
    assert acc[0] == first
    for part, keys in [
        ("agreement", ("attention", "pointing")),
        ("occlusion", ("2x2", "spearman")),
        ("faithfulness", ("avg", "attention", "3")),
        ("vit", ("agreement", "gradient", "pointing")),
    ]:
        assert explanation_over_seeds(committed, part, *keys).shape == (3,)
    assert set(committed["across_seeds"]) >= {"attention", "occlusion", "CAM"}
    with pytest.raises(ValueError, match="part must be one of"):
        explanation_over_seeds(committed, "maps", "x")
    with pytest.raises(ValueError, match="missing 'nothing'"):
        explanation_over_seeds(committed, "agreement", "nothing", "pointing")
