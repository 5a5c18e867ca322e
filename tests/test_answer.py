"""helpers.answer: the kind of weighting over positions, computed."""

import numpy as np
import pytest
import torch

from helpers.answer import KINDS, parameter_count, position_weights, weighting_kind
from helpers.compare import three_heads
from helpers.models import MLP, PooledCNN, ViT
from helpers.scenes import render_scene


@pytest.fixture(scope="module")
def images():
    left = render_scene((0.5, 0.25), distractors=3, seed=1).images
    right = render_scene((0.5, 0.75), distractors=3, seed=2).images
    return torch.from_numpy(np.concatenate([left, right]))


@pytest.fixture(scope="module")
def heads():
    torch.manual_seed(0)
    heads = three_heads()
    with torch.no_grad():
        heads["mask"].mask_logits.normal_()  # a learned-looking, non-uniform mask
    return {k: m.eval() for k, m in heads.items()}


def test_each_model_gets_its_kind(images, heads):
    torch.manual_seed(0)
    assert weighting_kind(heads["avg"], images) == "none"
    assert weighting_kind(heads["mask"], images) == "fixed"
    assert weighting_kind(heads["attention"], images) == "computed from the input"
    assert weighting_kind(ViT().eval(), images) == "computed from the input"
    assert weighting_kind(MLP(hidden=()), images) == "fixed"
    assert weighting_kind(MLP(), images) == "fixed"
    assert set(KINDS) == {"none", "fixed", "computed from the input"}


def test_mlp_position_weights_are_its_first_layer(images):
    torch.manual_seed(0)
    model = MLP(hidden=(16,))
    w = position_weights(model, images)
    assert w.shape == (2, 8, 3, 48, 48)
    expected = 2 * model.templates()[:8].numpy()  # d(2x - 1)/dx = 2
    np.testing.assert_allclose(w[0], expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(w[1], expected, rtol=1e-5, atol=1e-7)
    linear = position_weights(MLP(hidden=()), images)
    assert linear.shape == (2, 1, 3, 48, 48)


def test_pooled_and_vit_weights_are_their_maps(images, heads):
    w = position_weights(heads["attention"], images)
    np.testing.assert_allclose(
        w, heads["attention"].pool_weights(images).numpy(), rtol=1e-6
    )
    vit = ViT().eval()
    assert position_weights(vit, images).shape == (2, 6, 6)


def test_parameter_count_counts_shared_backbones_once(heads):
    backbone = sum(p.numel() for p in heads["avg"].backbone.parameters())
    each = {k: sum(p.numel() for p in m.parameters()) for k, m in heads.items()}
    total = parameter_count(*heads.values())
    assert total == sum(each.values()) - 2 * backbone
    assert parameter_count(PooledCNN()) == sum(p.numel() for p in PooledCNN().parameters())


def test_errors(images):
    with pytest.raises(TypeError, match="MLP, PooledCNN or ViT"):
        position_weights(torch.nn.Linear(2, 1), images)
    with pytest.raises(ValueError, match="at least 2 images"):
        weighting_kind(MLP(), images[:1])
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        position_weights(MLP(), images[0])
    with pytest.raises(TypeError, match="nn.Module"):
        parameter_count()
