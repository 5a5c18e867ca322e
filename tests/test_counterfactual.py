"""helpers.counterfactual: attention pooling with other weights swapped in at test time."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.counterfactual import (
    adversarial_weights,
    counterfactual_effects,
    counterfactual_weights,
    js_divergence,
    other_weights,
    pooled_logits,
    values_and_weights,
)
from helpers.models import PooledCNN
from helpers.pooling_heads import three_heads
from helpers.scenes import make_scenes


@pytest.fixture(scope="module")
def heads():
    torch.manual_seed(0)
    heads = {k: m.eval() for k, m in three_heads().items()}  # attention: 2 queries
    with torch.no_grad():
        heads["attention"].queries.mul_(6)  # sharper maps than at initialisation
        heads["attention"].classifier.weight.normal_()  # logits of a few units
        heads["mask"].mask_logits.normal_()
    return heads


@pytest.fixture(scope="module")
def scenes():
    return make_scenes(24, seed=4, distractors=(1, 3))


@pytest.fixture(scope="module")
def parts(heads, scenes):
    return values_and_weights(heads["attention"], scenes.images)


def test_own_weights_give_the_models_logits(heads, scenes, parts):
    values, own = parts
    model = heads["attention"]
    assert values.shape == (24, 36, 64) and own.shape == (24, 6, 6)
    np.testing.assert_allclose(own.sum(dim=(1, 2)), 1.0, atol=1e-6)
    with torch.no_grad():
        logits = model(torch.from_numpy(scenes.images)).double()
    torch.testing.assert_close(pooled_logits(model, values, own), logits, atol=1e-5, rtol=0)
    torch.testing.assert_close(
        pooled_logits(model, values, own.flatten(1)), logits, atol=1e-5, rtol=0
    )


def test_uniform_weights_average_the_values(heads, parts):
    values, own = parts
    model = heads["attention"]
    uniform = counterfactual_weights(own, "uniform")
    w, b = model.classifier.weight[0].detach().double(), model.classifier.bias[0].item()
    expected = values.mean(dim=1) @ w + b
    torch.testing.assert_close(pooled_logits(model, values, uniform), expected)


def test_permuted_weights_are_each_images_own_shuffled(parts):
    _, own = parts
    shuffled = counterfactual_weights(own, "permuted", seed=3)
    for a, b in zip(own, shuffled, strict=True):
        np.testing.assert_allclose(np.sort(a.flatten()), np.sort(b.flatten()))
    assert not torch.allclose(shuffled, own)
    torch.testing.assert_close(shuffled, counterfactual_weights(own, "permuted", seed=3))
    torch.testing.assert_close(counterfactual_weights(own, "learned"), own)


def test_other_weights(heads, scenes):
    x = torch.from_numpy(scenes.images)
    leaf = other_weights(heads["attention"], scenes.images, 1)
    torch.testing.assert_close(leaf, heads["attention"].pool_weights(x, query=1).double())
    mask = other_weights(heads["attention"], scenes.images, heads["mask"])
    torch.testing.assert_close(mask, mask[:1].expand_as(mask))  # one map for every image
    with pytest.raises(TypeError, match="query index"):
        other_weights(heads["attention"], scenes.images, "leaf")


@given(st.integers(0, 2**31), st.integers(2, 9))
@settings(max_examples=30, deadline=None)
def test_js_divergence_is_a_bounded_symmetric_divergence(seed, cells):
    rng = np.random.default_rng(seed)
    p, q = rng.dirichlet(np.ones(cells), 4), rng.dirichlet(np.ones(cells), 4)
    d = js_divergence(p, q)
    assert ((d >= 0) & (d <= 1)).all()
    np.testing.assert_allclose(d, js_divergence(q, p))
    np.testing.assert_allclose(js_divergence(p, p), 0.0, atol=1e-12)


def test_js_divergence_of_disjoint_maps_is_one_bit():
    np.testing.assert_allclose(js_divergence([[0.5, 0.5, 0, 0]], [[0, 0, 0.3, 0.7]]), [1.0])
    with pytest.raises(ValueError, match="one shape"):
        js_divergence([[0.5, 0.5]], [[1.0]])


def test_the_adversary_moves_the_map_but_not_the_answer(heads, parts):
    values, own = parts
    model = heads["attention"]
    before = torch.sigmoid(pooled_logits(model, values, own))
    adv = adversarial_weights(model, values, own, tolerance=0.01, steps=150)
    assert adv.shape == own.shape
    np.testing.assert_allclose(adv.sum(dim=(1, 2)), 1.0, atol=1e-9)
    after = torch.sigmoid(pooled_logits(model, values, adv))
    assert ((after - before).abs() <= 0.01 + 1e-12).all()
    moved = js_divergence(adv, own)
    assert moved.mean() > 0.3  # far from the learned maps, same answers
    tight = adversarial_weights(model, values, own, tolerance=1e-9, steps=5)
    assert (
        (torch.sigmoid(pooled_logits(model, values, tight)) - before).abs() <= 1e-9
    ).all()


def test_counterfactual_effects(heads, scenes, parts):
    values, own = parts
    model = heads["attention"]
    weightings = {"learned": own, "uniform": counterfactual_weights(own, "uniform")}
    out = counterfactual_effects(model, values, weightings, scenes.labels, scenes.masks)
    assert set(out) == {"learned", "uniform"}
    assert out["learned"]["change"] == 0 and out["learned"]["jsd"] == 0
    p = torch.sigmoid(pooled_logits(model, values, own)).numpy()
    assert out["learned"]["accuracy"] == pytest.approx(
        ((p > 0.5) == (scenes.labels == 1)).mean()
    )
    assert out["uniform"]["mass"] < out["learned"]["mass"] or out["uniform"]["mass"] > 0
    assert np.isnan(
        counterfactual_effects(model, values, weightings, scenes.labels)["learned"]["mass"]
    )


def test_errors(heads, scenes, parts):
    values, own = parts
    with pytest.raises(TypeError, match='PooledCNN\\("attention"\\)'):
        values_and_weights(heads["avg"], scenes.images)
    with pytest.raises(TypeError, match='PooledCNN\\("attention"\\)'):
        pooled_logits(PooledCNN("mask"), values, own)
    with pytest.raises(ValueError, match="weights must be"):
        pooled_logits(heads["attention"], values, own[:, :3])
    with pytest.raises(ValueError, match="kind must be"):
        counterfactual_weights(own, "adversarial")
    with pytest.raises(ValueError, match=r"\(N, h, w\)"):
        counterfactual_weights(own.numpy(), "uniform")
    with pytest.raises(ValueError, match="tolerance"):
        adversarial_weights(heads["attention"], values, own, tolerance=0)
    with pytest.raises(ValueError, match="steps"):
        adversarial_weights(heads["attention"], values, own, steps=0)
    with pytest.raises(ValueError, match="'learned'"):
        counterfactual_effects(heads["attention"], values, {"uniform": own}, scenes.labels)
    with pytest.raises(ValueError, match="labels"):
        counterfactual_effects(
            heads["attention"], values, {"learned": own}, scenes.labels[:3]
        )
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        values_and_weights(heads["attention"], scenes.images[0])
