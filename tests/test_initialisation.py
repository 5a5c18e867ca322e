import numpy as np
import pytest
import torch

from helpers.initialisation import (
    PROBE,
    deep_mlp,
    depth_frame,
    layer_stats,
    probe_scenes,
    sgd_losses,
    train_at_depth,
)
from helpers.models import ACTIVATIONS, INITS, MLP, PooledCNN
from helpers.scenes import make_scenes


@pytest.fixture(scope="module")
def probe():
    return probe_scenes()


def stats(depth, activation, init, probe):
    return layer_stats(deep_mlp(depth, activation, init), probe)


def test_probe_scenes_are_fixed_and_cached():
    assert len(probe_scenes()) == PROBE["n"]
    assert probe_scenes() is probe_scenes()


def test_deep_mlp_is_plain_and_seeded():
    model = deep_mlp(3, "tanh", "glorot", width=32)
    assert isinstance(model, MLP)
    assert [m.out_features for m in model.layers] == [32, 32, 32, 1]
    again = deep_mlp(3, "tanh", "glorot", width=32)
    torch.testing.assert_close(model.layers[0].weight, again.layers[0].weight)


def test_layer_stats_has_one_value_per_hidden_layer(probe):
    s = stats(4, "relu", "he", probe)
    assert set(s) == {"activation_std", "gradient_std"}
    assert s["activation_std"].shape == s["gradient_std"].shape == (4,)


def test_layer_stats_updates_nothing(probe):
    model = deep_mlp(2, "relu", "he")
    before = [p.detach().clone() for p in model.parameters()]
    layer_stats(model, probe)
    for p, b in zip(model.parameters(), before, strict=True):
        torch.testing.assert_close(p.detach(), b, rtol=0, atol=0)
        assert p.grad is None


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_naive_activations_vanish_with_depth(activation, probe):
    act = stats(10, activation, "naive", probe)["activation_std"]
    assert act[-1] < 1e-6 * act[0]  # measured ~1e-8 .. 1e-9


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_naive_gradients_vanish_with_depth(activation, probe):
    shallow = stats(1, activation, "naive", probe)["gradient_std"][0]
    deep = stats(10, activation, "naive", probe)["gradient_std"]
    assert (deep < 1e-6 * shallow).all()  # measured ~1e-7 .. 1e-9 of shallow


def test_he_keeps_relu_activations(probe):
    act = stats(15, "relu", "he", probe)["activation_std"]
    assert 1 / 3 < act[-1] / act[0] < 3  # measured ~0.95
    assert act.max() / act.min() < 3


def test_glorot_keeps_tanh_alive(probe):
    s = stats(15, "tanh", "glorot", probe)
    act, grad = s["activation_std"], s["gradient_std"]
    assert act[-1] / act[0] > 0.1  # measured ~0.28
    assert grad.min() / grad.max() > 0.2  # measured ~0.7: no layer's gradient vanished


def test_glorot_starves_relu(probe):
    act = stats(15, "relu", "glorot", probe)["activation_std"]
    assert act[-1] < act[0] / 10  # measured ~0.007: ReLU halves the variance per layer


def test_depth_frame_layers_and_stats():
    frame = depth_frame(6, "relu", "he", width=32)
    np.testing.assert_array_equal(frame["layer"], np.arange(1, 7))
    assert frame["activation_std"].shape == frame["gradient_std"].shape == (6,)
    assert frame["params"] == {"depth": 6, "activation": "relu", "init": "he", "width": 32}


def test_depth_frame_is_cached_and_returns_copies():
    first = depth_frame(5, "tanh", "naive", width=32)
    saved = first["activation_std"].copy()
    first["activation_std"][:] = -1.0
    first["gradient_std"][:] = -1.0
    second = depth_frame(5, "tanh", "naive", width=32)
    np.testing.assert_array_equal(second["activation_std"], saved)  # same values again
    assert (second["gradient_std"] > 0).all()


def test_sgd_losses_is_deterministic(probe):
    a = sgd_losses(deep_mlp(2, "relu", "he", width=32), probe, steps=5, seed=3)
    b = sgd_losses(deep_mlp(2, "relu", "he", width=32), probe, steps=5, seed=3)
    assert a.shape == (5,)
    np.testing.assert_array_equal(a, b)


def test_shallow_he_relu_learns(probe):
    losses = sgd_losses(deep_mlp(2, "relu", "he"), probe, steps=50)
    assert losses[-10:].mean() < losses[0]  # measured 0.77 -> 0.58


def test_deep_naive_net_barely_moves(probe):
    losses = sgd_losses(deep_mlp(10, "relu", "naive", width=64), probe, steps=20)
    assert abs(losses[-10:].mean() - np.log(2)) < 0.02  # measured ~2e-4


def test_train_at_depth_covers_every_pair(probe):
    out = train_at_depth(2, probe, steps=3, width=16, progress=False)
    assert set(out) == {(a, i) for a in ACTIVATIONS for i in INITS}
    assert all(losses.shape == (3,) for losses in out.values())


@pytest.mark.parametrize("depth", [0, 51, "3", 2.0, True])
def test_bad_depth(depth):
    with pytest.raises(ValueError, match="depth must be an int from 1 to 50"):
        deep_mlp(depth, "relu", "he")


def test_bad_names():
    with pytest.raises(ValueError, match="activation must be one of"):
        depth_frame(3, "sigmoid", "he")
    with pytest.raises(ValueError, match="init must be one of"):
        depth_frame(3, "relu", "xavier")
    with pytest.raises(ValueError, match="activation must be one of"):
        deep_mlp(3, "sigmoid", "he")
    with pytest.raises(ValueError, match="depth must be an int"):
        depth_frame(0, "relu", "he")


def test_bad_layer_stats_arguments(probe):
    with pytest.raises(TypeError, match="must be a helpers.models.MLP"):
        layer_stats(PooledCNN("avg"), probe)
    with pytest.raises(TypeError, match="non-empty Scenes"):
        layer_stats(deep_mlp(2, "relu", "he"), probe.images)
    with pytest.raises(ValueError, match="no hidden layer"):
        layer_stats(MLP(()), probe)


def test_bad_sgd_arguments():
    few = make_scenes(16, seed=1)
    model = MLP((4,))
    with pytest.raises(ValueError, match="batch_size 64 is more than the 16 scenes"):
        sgd_losses(model, few)
    for lr in (0, -0.1):
        with pytest.raises(ValueError, match="lr must be a positive number"):
            sgd_losses(model, few, lr=lr, batch_size=8)
    with pytest.raises(ValueError, match="steps must be a positive int"):
        sgd_losses(model, few, steps=0, batch_size=8)
    with pytest.raises(TypeError, match="non-empty Scenes"):
        sgd_losses(model, few[:0], batch_size=8)
