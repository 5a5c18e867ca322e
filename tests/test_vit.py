"""helpers.models.ViT, helpers.rollout and helpers.vit_positions."""

import numpy as np
import pytest
import torch

from helpers.left_right import LEFT, RIGHT
from helpers.models import POSITIONS, STEMS, ViT
from helpers.rollout import attention_rollout, class_attention, gradient_rollout
from helpers.scenes import make_scenes
from helpers.train import VIT_LR
from helpers.vit_positions import (
    VIT_VARIANTS,
    measure_vit,
    merge_runs,
    position_run,
    position_vits,
    vit_live_table,
    vit_over_seeds,
    vit_seeds_table,
)


@pytest.fixture(scope="module")
def images():
    return torch.from_numpy(make_scenes(6, seed=4).images)


@pytest.mark.parametrize("stem", STEMS)
@pytest.mark.parametrize("position", POSITIONS)
def test_shapes_and_rows_sum_to_one(stem, position, images):
    torch.manual_seed(0)
    m = ViT(stem=stem, position=position, depth=3, heads=2).eval()
    assert m(images).shape == (6,)
    maps = m.attention_maps(images)
    assert maps.shape == (6, 3, 2, 37, 37)
    torch.testing.assert_close(maps.sum(-1), torch.ones(6, 3, 2, 37))
    assert (maps >= 0).all()
    assert m.attention_maps(images[:0]).shape == (0, 3, 2, 37, 37)


def test_the_forward_pass_written_out(images):
    torch.manual_seed(0)
    m = ViT().eval()
    with torch.no_grad():
        patches = m.embed(images).flatten(2).transpose(1, 2)
        x = torch.cat([m.cls.expand(6, -1, -1), patches], 1) + m.pos
        for block in m.blocks:
            a, _ = block.attention(block.norm1(x))
            x = x + a
            x = x + block.mlp(block.norm2(x))
        expected = m.head(m.norm(x[:, 0]))[:, 0]
        torch.testing.assert_close(m(images), expected)


def test_defaults_are_the_chapters_hybrid():
    m = ViT()
    assert m.stem == "conv" and m.position == "learned" and len(m.blocks) == 2
    assert m.grid == (6, 6) and m.pos.shape == (1, 37, 64)
    assert not hasattr(ViT(position="none"), "pos")


def test_without_positions_patch_shuffles_only_shuffle_the_maps():
    """A pure ViT without positional embeddings sees a bag of patches: shuffle whole
    8x8 patches and the logit stays, the attention rows/columns permute."""
    torch.manual_seed(0)
    m = ViT(stem="patches", position="none").eval()
    x = torch.from_numpy(make_scenes(2, seed=1).images)
    perm = torch.randperm(36, generator=torch.Generator().manual_seed(3))
    cells = x.reshape(2, 3, 6, 8, 6, 8).permute(0, 2, 4, 1, 3, 5).reshape(2, 36, 3, 8, 8)
    shuffled = cells[:, perm].reshape(2, 6, 6, 3, 8, 8).permute(0, 3, 1, 4, 2, 5)
    shuffled = shuffled.reshape(2, 3, 48, 48)
    with torch.no_grad():
        torch.testing.assert_close(m(shuffled), m(x), atol=1e-5, rtol=1e-5)
        tokens = torch.cat([torch.zeros(1, dtype=torch.long), perm + 1])
        a, b = m.attention_maps(x), m.attention_maps(shuffled)
        torch.testing.assert_close(b, a[..., tokens, :][..., tokens], atol=1e-5, rtol=1e-4)
    learned = ViT(stem="patches").eval()
    with torch.no_grad():
        learned.pos.normal_()
        assert (learned(shuffled) - learned(x)).abs().max() > 1e-3


def test_bad_input():
    with pytest.raises(ValueError, match="position must be one of"):
        ViT(position="sincos")
    with pytest.raises(ValueError, match="stem must be one of"):
        ViT(stem="resnet")
    with pytest.raises(ValueError, match="divisible by heads"):
        ViT(dim=30, heads=4)
    with pytest.raises(ValueError, match="multiple of 8"):
        ViT(size=44)
    m = ViT()
    with pytest.raises(ValueError, match="48x48 images"):
        m(torch.zeros(1, 3, 32, 32))
    with pytest.raises(TypeError, match="torch tensor"):
        m(np.zeros((1, 3, 48, 48), np.float32))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        m(torch.zeros(3, 48, 48))
    with pytest.raises(TypeError, match="float"):
        m(torch.zeros(1, 3, 48, 48, dtype=torch.uint8))


def _maps(n=3, layers=2, heads=2, t=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(torch.randn(n, layers, heads, t, t, generator=g), -1)


def test_class_attention_is_the_class_row_renormalised():
    maps = _maps()
    got = class_attention(maps, layer=0, head=1)
    row = maps[:, 0, 1, 0, 1:].double()
    np.testing.assert_allclose(got, (row / row.sum(1, keepdim=True)).reshape(3, 3, 3))
    mean = class_attention(maps)
    row = maps[:, -1, :, 0, 1:].double().mean(1)
    np.testing.assert_allclose(mean, (row / row.sum(1, keepdim=True)).reshape(3, 3, 3))
    np.testing.assert_allclose(mean.sum((1, 2)), 1.0)


def test_rollout_chains_the_layers():
    maps = _maps(layers=3)
    eye = torch.eye(10, dtype=torch.float64)
    r = eye
    for layer in range(3):
        r = 0.5 * (maps[0, layer].double().mean(0) + eye) @ r
    row = r[0, 1:] / r[0, 1:].sum()
    np.testing.assert_allclose(attention_rollout(maps)[0], row.reshape(3, 3).numpy())
    one_layer = _maps(layers=1)
    b = 0.5 * (one_layer[:, 0].double().mean(1) + eye)
    row = b[:, 0, 1:] / b[:, 0, 1:].sum(1, keepdim=True)
    np.testing.assert_allclose(attention_rollout(one_layer), row.reshape(3, 3, 3).numpy())


def test_uniform_attention_rolls_out_flat():
    maps = torch.full((2, 3, 2, 10, 10), 0.1)
    np.testing.assert_allclose(attention_rollout(maps), np.full((2, 3, 3), 1 / 9))
    np.testing.assert_allclose(class_attention(maps.numpy()), np.full((2, 3, 3), 1 / 9))


def test_rollout_bad_input():
    with pytest.raises(ValueError, match=r"\(N, layers, heads, T, T\)"):
        attention_rollout(torch.zeros(2, 37, 37))
    with pytest.raises(ValueError, match="square grid"):
        attention_rollout(torch.zeros(1, 1, 1, 11, 11))
    with pytest.raises(TypeError, match="attention_maps"):
        class_attention([[0.5]])
    with pytest.raises(ValueError, match="layer must be"):
        class_attention(_maps(), layer=2)
    with pytest.raises(ValueError, match="head must be"):
        class_attention(_maps(), head=2)


def test_position_run_trains_both_and_measures_both_halves():
    train = make_scenes(64, region=LEFT, seed=1)
    data = {
        "train": train,
        "left": make_scenes(40, region=LEFT, seed=2),
        "right": make_scenes(40, region=RIGHT, seed=3),
    }
    models, result = position_run(0, data=data, stem="patches", progress=False)
    assert set(models) == set(VIT_VARIANTS) == {"learned", "none"}
    assert models["none"].position == "none" and models["learned"].stem == "patches"
    for half in ("left", "right"):
        for name, r in result[half].items():
            assert r == measure_vit(models[name], data[half])
            assert 0 <= r["mass"] <= 1 and 0 < r["flat"] < 1
    again = position_run(0, data=data, stem="patches", progress=False)[1]
    assert again["right"] == result["right"]  # deterministic
    # each model trains alone: trained without the other, it is the same model
    alone = position_run(0, data=data, stem="patches", variants=("none",), progress=False)
    assert alone[1]["right"]["none"] == result["right"]["none"]
    first = position_run(
        0, data=data, stem="patches", variants=("learned",), progress=False
    )
    merged_models, merged = merge_runs(first, alone)
    assert set(merged_models) == {"learned", "none"}
    assert merged["right"] == result["right"] and merged["seconds"] > 0
    with pytest.raises(ValueError, match="runs overlap"):
        merge_runs(first, first)
    with pytest.raises(ValueError, match="variants must be"):
        position_run(0, data=data, variants=("learned", "learned"))
    with pytest.raises(ValueError, match="variants must be"):
        position_run(0, data=data, variants=("relative",))
    table = vit_live_table(result, "seed 0")
    assert len(table.rows) == 4 and "0." in table.rows[0][1]
    committed = {"seeds": [0, 1], "positions": {"patches": {"0": result, "1": result}}}
    acc = vit_over_seeds(committed, "patches", "right", "none", "accuracy")
    assert acc == [result["right"]["none"]["accuracy"]] * 2
    assert len(vit_seeds_table(committed, "patches").rows) == 4
    assert VIT_LR < 5e-3


def test_positions_bad_input():
    with pytest.raises(ValueError, match="stem must be one of"):
        position_vits("resnet")
    with pytest.raises(TypeError, match="ViT"):
        measure_vit(torch.nn.Linear(2, 2), make_scenes(4, seed=0))
    with pytest.raises(ValueError, match="at least one bird"):
        measure_vit(ViT(), make_scenes(4, seed=0)[:0])
    with pytest.raises(ValueError, match="variant in"):
        vit_over_seeds({}, "conv", "right", "fixed", "accuracy")
    with pytest.raises(ValueError, match="key must be one of"):
        vit_over_seeds({}, "conv", "right", "none", "loss")


def test_recall_by_position_takes_vision_transformers():
    from helpers.left_right import recall_by_position
    from helpers.train import predict_logits

    torch.manual_seed(0)
    models = {"a": ViT().eval(), "b": ViT(position="none").eval()}
    scenes = make_scenes(40, seed=5)
    got = recall_by_position(models, scenes, bins=2)
    bird = scenes.labels == 1
    for name, m in models.items():
        found = predict_logits(m, scenes.images[bird]) > 0
        weighted = np.nansum(got["recall"][name] * got["counts"]) / got["counts"].sum()
        assert weighted == pytest.approx(found.mean())  # every bird counted once


def test_gradient_rollout_weights_each_layer_by_its_gradient():
    torch.manual_seed(0)
    vit = ViT().eval()
    with torch.no_grad():
        for block in vit.blocks:
            block.attention.qkv.weight.mul_(3)  # attention that is not near uniform
    images = torch.rand(3, 3, 48, 48)
    got = gradient_rollout(vit, images, batch_size=2)  # two batches
    assert got.shape == (3, 6, 6)
    np.testing.assert_allclose(got.sum(axis=(1, 2)), 1.0)
    assert all(p.grad is None for p in vit.parameters())  # the model is left alone
    # by hand for one image, through ViT.run's attention maps
    x = vit.tokens(images[:1])
    maps = []
    for block in vit.blocks:
        x, w = block(x)
        maps.append(w)
    z = vit.head(vit.norm(x[:, 0]))[:, 0]
    grads = torch.autograd.grad(z.sum(), maps)
    r = torch.eye(37)
    for a, g in zip(maps, grads, strict=True):
        r = r + (g * a).clamp_min(0).mean(dim=1)[0] @ r
    row = r[0, 1:].double()
    np.testing.assert_allclose(
        got[0], (row / row.sum()).reshape(6, 6).detach().numpy(), rtol=1e-5
    )
    with pytest.raises(TypeError, match="ViT"):
        gradient_rollout(torch.nn.Linear(2, 2), images)
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        gradient_rollout(vit, images[0])


def test_rolled_positions_move_the_cells_embeddings_only():
    from helpers.vit_positions import roll_effect, rolled_positions

    torch.manual_seed(0)
    vit = ViT().eval()
    before = vit.pos.detach().clone()
    moved = rolled_positions(vit, 1)
    torch.testing.assert_close(vit.pos, before)  # the model itself is left alone
    torch.testing.assert_close(moved.pos[0, 0], before[0, 0])  # the class token's
    cells, new = before[0, 1:].reshape(6, 6, -1), moved.pos[0, 1:].reshape(6, 6, -1)
    torch.testing.assert_close(new[:, 1:], cells[:, :-1])
    torch.testing.assert_close(new[:, 0], cells[:, -1])  # wraps around
    torch.testing.assert_close(rolled_positions(vit, 6).pos, before)
    for name, p in moved.named_parameters():
        if name != "pos":
            torch.testing.assert_close(p, dict(vit.named_parameters())[name])
    with pytest.raises(TypeError, match="learned positions"):
        rolled_positions(ViT(position="none"), 1)
    with pytest.raises(ValueError, match="columns must be an int"):
        rolled_positions(vit, 1.5)
    data = {
        "left": make_scenes(20, region=LEFT, seed=1),
        "right": make_scenes(20, region=RIGHT, seed=2),
    }
    found = roll_effect(vit, data, 3)
    assert set(found) == {"as trained", "rolled"}
    assert all(set(v) == {"left", "right"} for v in found.values())
    assert all(0 <= a <= 1 for v in found.values() for a in v.values())
