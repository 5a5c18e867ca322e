"""helpers.answer: the kind of weighting over positions, computed."""

import numpy as np
import pytest
import torch
from torch import nn

from helpers.answer import (
    KINDS,
    ROWS,
    SEED_ROWS,
    learned_by_backprop,
    normalised,
    parameter_count,
    position_weights,
    seeds_of,
    weighting_kind,
)
from helpers.gating import GatedCNN
from helpers.models import MLP, PooledCNN, ReadoutCNN, ViT
from helpers.pooling_heads import three_heads
from helpers.saliency import gated_offset, input_gradient
from helpers.scenes import make_scenes, render_scene


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
    # a ReLU MLP's effective weights (its logit's gradient) change with the input
    assert weighting_kind(MLP(), images) == "computed from the input"
    assert weighting_kind(GatedCNN("cells").eval(), images) == "computed from the input"
    assert weighting_kind(GatedCNN("channels").eval(), images) == "none"
    assert weighting_kind(ReadoutCNN("flatten").eval(), images) == "fixed"
    assert weighting_kind(ReadoutCNN("max").eval(), images) == "computed from the input"
    assert set(KINDS) == {"none", "fixed", "computed from the input"}


def test_mlp_position_weights_are_its_effective_weights(images):
    torch.manual_seed(0)
    model = MLP(hidden=(16,))
    with torch.no_grad():
        model.layers[0].bias.normal_(0, 0.5)
    w = position_weights(model, images)
    assert w.shape == (2, 3, 48, 48)
    np.testing.assert_allclose(w, input_gradient(model, images), rtol=1e-6)
    z = model(images).detach().numpy()  # z(x) = dz/dx . x + c(x), exactly
    by_identity = (w * images.numpy()).sum(axis=(1, 2, 3)) + gated_offset(model, images)
    np.testing.assert_allclose(by_identity, z, rtol=1e-4, atol=1e-5)
    linear = MLP(hidden=())
    expected = 2 * linear.templates()[0].numpy()  # d(2x - 1)/dx = 2
    for each in position_weights(linear, images):
        np.testing.assert_allclose(each, expected, rtol=1e-5, atol=1e-7)


def test_normalised_tells_competing_weights_from_the_others(images, heads):
    assert normalised(heads["avg"], images)
    assert normalised(heads["mask"], images)
    assert normalised(heads["attention"], images)
    assert normalised(ViT().eval(), images)
    assert normalised(GatedCNN("channels").eval(), images)  # uniform over positions
    assert not normalised(GatedCNN("cells").eval(), images)
    assert not normalised(ReadoutCNN("flatten").eval(), images)
    assert not normalised(MLP(), images)


def test_pooled_and_vit_weights_are_their_maps(images, heads):
    w = position_weights(heads["attention"], images)
    np.testing.assert_allclose(
        w, heads["attention"].pool_weights(images).numpy(), rtol=1e-6
    )
    vit = ViT().eval()
    assert position_weights(vit, images).shape == (2, 6, 6)


def test_readout_weights(images):
    torch.manual_seed(0)
    flatten = ReadoutCNN("flatten").eval()
    w = position_weights(flatten, images)
    assert w.shape == (2, 64, 6, 6)
    expected = flatten.classifier.weight.detach().double().view(64, 6, 6).numpy()
    np.testing.assert_allclose(w[0], expected, rtol=1e-6)
    np.testing.assert_array_equal(w[0], w[1])  # the same for every image
    largest = ReadoutCNN("max").eval()
    chosen = position_weights(largest, images)
    assert chosen.shape == (2, 64, 6, 6)
    np.testing.assert_array_equal(chosen.sum(axis=(2, 3)), 1.0)  # one cell per channel
    with torch.no_grad():
        f = largest.backbone(images).double().numpy()
    picked = (f * chosen).sum(axis=(2, 3))
    np.testing.assert_allclose(picked, f.max(axis=(2, 3)))  # the channel's largest
    z = largest.classifier(torch.from_numpy(picked).float())[:, 0]
    torch.testing.assert_close(z, largest(images).detach(), atol=1e-5, rtol=1e-5)


def test_parameter_count_counts_shared_backbones_once(heads):
    backbone = sum(p.numel() for p in heads["avg"].backbone.parameters())
    each = {k: sum(p.numel() for p in m.parameters()) for k, m in heads.items()}
    total = parameter_count(*heads.values())
    assert total == sum(each.values()) - 2 * backbone
    assert parameter_count(PooledCNN()) == sum(p.numel() for p in PooledCNN().parameters())


def test_errors(images):
    with pytest.raises(TypeError, match="MLP, PooledCNN, ReadoutCNN or ViT"):
        position_weights(torch.nn.Linear(2, 1), images)
    with pytest.raises(ValueError, match="at least 2 images"):
        weighting_kind(MLP(), images[:1])
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        position_weights(MLP(), images[0])
    with pytest.raises(TypeError, match="nn.Module"):
        parameter_count()


# ----------------------------------------------------------------------------------
# learned_by_backprop, ROWS and course_models


@pytest.fixture(scope="module")
def batch():
    scenes = make_scenes(6, seed=5, distractors=2)
    labels = torch.from_numpy(scenes.labels)
    assert 0 < int(labels.sum()) < len(labels)  # birds and no birds
    return torch.from_numpy(scenes.images), labels


class Unused(nn.Module):
    """A model with one parameter its forward pass never reads."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 1)
        self.spare = nn.Parameter(torch.ones(4))

    def forward(self, images):
        return self.linear(images.mean(dim=(2, 3)))[:, 0]


@pytest.mark.parametrize(
    "build",
    [MLP, lambda: PooledCNN("attention"), lambda: ReadoutCNN("flatten"), ViT],
    ids=["mlp", "attention", "flatten", "vit"],
)
def test_course_models_are_learned_by_backprop(batch, build):
    torch.manual_seed(0)
    model = build()
    assert learned_by_backprop(model, *batch) is True
    assert model.training  # its mode is restored
    assert all(p.grad is None for p in model.parameters())  # no gradient left behind
    model.eval()
    assert learned_by_backprop(model, *batch) is True
    assert not model.training


def test_a_frozen_parameter_is_not_learned(batch):
    torch.manual_seed(0)
    model = PooledCNN("mask")
    assert learned_by_backprop(model, *batch) is True
    model.mask_logits.requires_grad_(False)
    assert learned_by_backprop(model, *batch) is False
    frozen = MLP(hidden=())
    for p in frozen.parameters():
        p.requires_grad_(False)
    assert learned_by_backprop(frozen, *batch) is False


def test_an_unused_parameter_is_not_learned(batch):
    torch.manual_seed(0)
    model = Unused()
    marker = torch.full((1, 3), 7.0)
    model.linear.weight.grad = marker.clone()
    assert learned_by_backprop(model, *batch) is False
    torch.testing.assert_close(model.linear.weight.grad, marker)  # left as it was
    assert model.linear.bias.grad is None and model.spare.grad is None
    del model.spare  # without it every parameter gets a gradient
    assert learned_by_backprop(model, *batch) is True


def test_learned_by_backprop_errors(batch):
    images, labels = batch
    for bad in (object(), lambda x: x, nn.ReLU()):  # not a module, or no parameters
        with pytest.raises(TypeError, match="nn.Module"):
            learned_by_backprop(bad, images, labels)
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        learned_by_backprop(MLP(), images[0], labels)
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        learned_by_backprop(MLP(), images.numpy(), labels)
    for bad in (labels[:-1], labels[:, None], labels.numpy()):
        with pytest.raises(ValueError, match=rf"labels must be .*\({len(images)},\)"):
            learned_by_backprop(MLP(), images, bad)


def test_rows_order():
    assert list(ROWS) == ["flatten", "avg", "mask", "attention", "vit"]
    assert all(isinstance(v, str) and v for v in ROWS.values())


def test_seeds_of_reads_each_rows_experiment():
    from helpers.results import load

    committed = {n: load(n) for n in ("chapter4", "chapter5", "chapter6", "comparators")}
    assert set(ROWS) < set(SEED_ROWS)
    for row in SEED_ROWS:
        for half in ("left", "right"):
            for metric in ("accuracy", "recall", "false_alarm"):
                values = seeds_of(committed, row, half, metric)
                assert values.shape == (3,) and ((values >= 0) & (values <= 1)).all()
    ch4, ch6 = committed["chapter4"], committed["chapter6"]
    assert (
        seeds_of(committed, "mask", "right", "recall")[1]
        == (ch4["circular"]["1"]["right"]["mask"]["recall"])
    )
    assert (
        seeds_of(committed, "flatten", "left")[2]
        == (ch6["flatten"]["2"]["left"]["flatten"]["accuracy"])
    )
    own = committed["comparators"]["readouts"]["0"]["right"]["flatten"]["accuracy"]
    assert seeds_of(committed, "flatten_own", "right")[0] == own
    vit = committed["chapter5"]["positions"]["conv"]["0"]["left"]["learned"]["accuracy"]
    assert seeds_of(committed, "vit", "left")[0] == vit
    with pytest.raises(ValueError, match="row must be one of"):
        seeds_of(committed, "linear", "left")
    with pytest.raises(ValueError, match="unknown half"):
        seeds_of(committed, "avg", "top")
    with pytest.raises(ValueError, match="unknown half .* or metric"):
        seeds_of(committed, "avg", "left", "loss")
    with pytest.raises(ValueError, match="needs committed\\['chapter6'\\]"):
        seeds_of({"chapter4": ch4}, "flatten", "left")
