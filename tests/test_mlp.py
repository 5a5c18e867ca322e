import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from helpers.models import ACTIVATIONS, INITS, MLP, NAIVE_STD, init_std
from helpers.scenes import make_scenes
from helpers.train import fit, reset_parameters


def images(n=4, size=48, seed=0):
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def test_contract_names():
    assert ACTIVATIONS == ("relu", "tanh")
    assert INITS == ("naive", "glorot", "he")
    assert NAIVE_STD == 0.01
    model = MLP(hidden=(256, 256), activation="relu", init="he")
    assert isinstance(model, nn.Module)
    assert (model.activation, model.init, model.size) == ("relu", "he", 48)


def test_default_layers_and_widths():
    model = MLP()
    assert [type(m) for m in model.layers] == [nn.Linear] * 3
    widths = [(m.in_features, m.out_features) for m in model.layers]
    assert widths == [(6912, 256), (256, 256), (256, 1)]


def test_no_hidden_layer_is_logistic_regression():
    model = MLP(hidden=())
    assert [type(m) for m in model.layers] == [nn.Linear]
    assert (model.layers[0].in_features, model.layers[0].out_features) == (6912, 1)


def test_n_images_give_n_logits():
    model = MLP((8,), size=24)
    assert model(images(5, size=24)).shape == (5,)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_forward_is_the_written_computation(activation):
    torch.manual_seed(0)
    model = MLP((7, 5), activation=activation, size=16)
    with torch.no_grad():
        for layer in model.layers:
            layer.bias.normal_()  # non-zero biases, so they are checked too
    x = images(3, size=16)
    act = torch.relu if activation == "relu" else torch.tanh
    (w1, b1), (w2, b2), (w3, b3) = [(m.weight, m.bias) for m in model.layers]
    h = 2 * x.reshape(3, -1) - 1
    h = act(h @ w1.T + b1)
    h = act(h @ w2.T + b2)
    expected = (h @ w3.T + b3)[:, 0]
    torch.testing.assert_close(model(x), expected)


def _assert_init(model):
    for layer in model.layers:
        fan_out, fan_in = layer.weight.shape
        expected = init_std(model.init, fan_in, fan_out)
        # the sample std of n normal draws is off by about 1 / sqrt(2 n): allow 5 of those
        tolerance = 5 / math.sqrt(2 * layer.weight.numel())
        assert float(layer.weight.detach().std()) == pytest.approx(expected, rel=tolerance)
        assert (layer.bias == 0).all()


@pytest.mark.parametrize("init", INITS)
def test_initial_weights_have_the_init_std_and_zero_biases(init):
    torch.manual_seed(0)
    _assert_init(MLP((256, 64), init=init))


def test_init_std_formulas():
    assert init_std("naive", 6912, 256) == 0.01
    assert init_std("glorot", 6912, 256) == pytest.approx(math.sqrt(2 / (6912 + 256)))
    assert init_std("he", 6912, 256) == pytest.approx(math.sqrt(2 / 6912))


@given(st.integers(1, 10_000), st.integers(1, 10_000))
def test_init_std_properties(fan_in, fan_out):
    glorot = init_std("glorot", fan_in, fan_out)
    assert glorot == init_std("glorot", fan_out, fan_in)  # symmetric
    assert init_std("he", fan_in, fan_out) ** 2 * fan_in == pytest.approx(2)
    assert init_std("naive", fan_in, fan_out) == NAIVE_STD


@pytest.mark.parametrize("init", INITS)
def test_reset_parameters_reapplies_the_mlp_init(init):
    torch.manual_seed(0)
    model = MLP((256, 64), init=init)
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(1.0)
    reset_parameters(model)
    _assert_init(model)


def test_torch_default_init_would_differ():
    """So the test above can tell: torch's Linear init has another std, and biases."""
    torch.manual_seed(0)
    layer = nn.Linear(6912, 256)
    std = float(layer.weight.detach().std())
    for init in INITS:
        assert std != pytest.approx(init_std(init, 6912, 256), rel=0.1)
    assert (layer.bias != 0).any()


def test_bad_arguments():
    with pytest.raises(ValueError, match="activation must be one of"):
        MLP(activation="sigmoid")
    with pytest.raises(ValueError, match="init must be one of"):
        MLP(init="xavier")
    for hidden in [(0,), (8, -1), (2.5,), ("8",), (True,), 8]:
        with pytest.raises(ValueError, match="hidden must be a tuple of positive ints"):
            MLP(hidden)


def test_bad_images():
    model = MLP((8,))
    with pytest.raises(TypeError, match="torch tensor"):
        model(np.zeros((2, 3, 48, 48), np.float32))
    with pytest.raises(ValueError, match=r"shape \(N, 3, H, W\)"):
        model(torch.zeros(2, 1, 48, 48))
    with pytest.raises(ValueError, match="built for 48x48 images"):
        model(torch.zeros(2, 3, 24, 24))


def test_bad_init_std():
    with pytest.raises(ValueError, match="fan_in must be a positive int"):
        init_std("he", 0, 10)
    with pytest.raises(ValueError, match="fan_out must be a positive int"):
        init_std("glorot", 10, -1)
    with pytest.raises(ValueError, match="init must be one of"):
        init_std("kaiming", 10, 10)


def test_fit_is_deterministic_per_seed():
    scenes = make_scenes(64, seed=5)

    def trained(seed):
        model = MLP((16,))
        fit(model, scenes, epochs=2, seed=seed, lr=3e-4, progress=False)
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    first = trained(0)
    torch.testing.assert_close(trained(0), first, rtol=0, atol=0)
    assert not torch.allclose(trained(1), first)
