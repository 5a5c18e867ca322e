import pytest
import torch

from helpers.initialisation import deep_mlp
from helpers.residual import ResidualBlock, ResidualMLP, residual_mlp
from helpers.scenes import make_scenes


@pytest.fixture(scope="module")
def images():
    return torch.from_numpy(make_scenes(6, seed=3).images)


def test_output_is_one_logit_per_image(images):
    model = ResidualMLP(3, width=16)
    assert model(images).shape == (6,)
    assert model.hidden_layers == 7
    assert [len(list(b.parameters())) for b in model.blocks] == [6, 6, 6]


def test_residual_mlp_matches_the_plain_nets_layers():
    plain = deep_mlp(15, "relu", "he", width=32)
    res = residual_mlp(15, "relu", "he", width=32)
    assert res.hidden_layers == len(plain.layers) - 1 == 15
    assert res.first.weight.shape == plain.layers[0].weight.shape
    assert res.last.weight.shape == plain.layers[-1].weight.shape
    extra = sum(p.numel() for p in res.parameters()) - sum(
        p.numel() for p in plain.parameters()
    )
    assert extra == 2 * 32 * (7 + 1)  # the layer norms' scales and shifts, nothing else


def test_zeroed_branches_leave_the_input_and_output_layers(images):
    model = ResidualMLP(4, width=16)
    with torch.no_grad():
        for block in model.blocks:
            block.outer.weight.zero_()
            block.outer.bias.zero_()
        h = torch.relu(model.first(2 * images.flatten(1) - 1))
        expected = model.last(model.norm(h))[:, 0]
    torch.testing.assert_close(model(images), expected)


def test_a_block_written_out(images):
    block = ResidualBlock(16, "tanh")
    h = torch.randn(5, 16, generator=torch.Generator().manual_seed(0))
    x = (h - h.mean(1, keepdim=True)) / torch.sqrt(
        h.var(1, unbiased=False, keepdim=True) + 1e-5
    )
    by_hand = h + block.outer(torch.tanh(block.inner(x)))
    torch.testing.assert_close(block(h), by_hand)
    torch.testing.assert_close(block.branch(h), by_hand - h)


def test_initialisation_follows_init_and_is_seeded():
    a = residual_mlp(5, "tanh", "glorot", width=64, seed=4)
    b = residual_mlp(5, "tanh", "glorot", width=64, seed=4)
    c = residual_mlp(5, "tanh", "glorot", width=64, seed=5)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    assert not torch.equal(a.first.weight, c.first.weight)
    inner = a.blocks[0].inner
    assert abs(inner.weight.std().item() - (2 / 128) ** 0.5) < 0.02
    assert inner.bias.abs().max() == 0
    naive = ResidualMLP(1, width=64, init="naive")
    assert abs(naive.blocks[0].outer.weight.std().item() - 0.01) < 0.002


def test_depth_keeps_the_signal_where_a_naive_plain_net_loses_it(images):
    """Naive weights starve a plain net; the skip connections and norms do not."""
    plain = deep_mlp(15, "relu", "naive", seed=0)
    res = residual_mlp(15, "relu", "naive", seed=0)
    with torch.no_grad():
        assert plain(images).std() < 1e-6  # every image gets the same logit
        assert res(images).std() > 1e-3


@pytest.mark.parametrize("blocks", [-1, 25, True, "3", 2.0])
def test_bad_blocks(blocks):
    with pytest.raises(ValueError, match="blocks must be an int from 0 to 24"):
        ResidualMLP(blocks)


@pytest.mark.parametrize("depth", [0, 2, 14, 51, True, "15"])
def test_bad_depth(depth):
    with pytest.raises(ValueError, match="depth must be an odd int from 1 to 49"):
        residual_mlp(depth, "relu", "he")


def test_bad_arguments():
    with pytest.raises(ValueError, match="width must be a positive int"):
        ResidualMLP(2, width=0)
    with pytest.raises(ValueError, match="width must be a positive int"):
        ResidualBlock(0)
    with pytest.raises(ValueError, match="activation must be one of"):
        ResidualMLP(2, activation="sigmoid")
    with pytest.raises(ValueError, match="activation must be one of"):
        ResidualBlock(8, "gelu")
    with pytest.raises(ValueError, match="init must be one of"):
        residual_mlp(3, "relu", "xavier")
    with pytest.raises(ValueError, match="size must be a positive int"):
        ResidualMLP(2, size=0)


def test_bad_images(images):
    model = ResidualMLP(1, width=8)
    with pytest.raises(TypeError, match="must be a torch tensor"):
        model(images.numpy())
    with pytest.raises(ValueError, match=r"shape \(N, 3, 48, 48\)"):
        model(images[:, :, :32, :32])
    with pytest.raises(TypeError, match="use images.float"):
        model(images.double())
