import copy

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from torch import nn

from helpers.models import MLP
from helpers.saliency import centroid, gated_offset, input_gradient, relu_gates, saliency

SIZE = 8  # small images keep the models (3 * 8 * 8 inputs) and the checks quick


def small_mlp(hidden=(8,), seed=0) -> MLP:
    torch.manual_seed(seed)
    return MLP(hidden, size=SIZE)


def images(n=3, seed=1) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 3, SIZE, SIZE), dtype=np.float32)


def test_input_gradient_equals_autograd():
    model, x = small_mlp(), images()
    grad = input_gradient(model, x)
    assert isinstance(grad, np.ndarray) and grad.shape == x.shape
    xt = torch.from_numpy(x).requires_grad_(True)
    copy.deepcopy(model).eval()(xt).sum().backward()
    np.testing.assert_allclose(grad, xt.grad.numpy(), rtol=1e-6, atol=1e-8)
    # the sum's gradient is each image's own: logit n depends on image n only
    for n in range(len(x)):
        xn = torch.from_numpy(x[n : n + 1]).requires_grad_(True)
        copy.deepcopy(model).eval()(xn)[0].backward()
        np.testing.assert_allclose(grad[n], xn.grad.numpy()[0], rtol=1e-6, atol=1e-8)


def test_input_gradient_agrees_with_finite_differences():
    model, x = small_mlp(), images(n=2)
    grad = input_gradient(model, x)
    double = copy.deepcopy(model).double().eval()
    x64, eps = x.astype(np.float64), 1e-6

    def logits(v):
        with torch.no_grad():
            return double(torch.from_numpy(v)).numpy()

    for n, c, i, j in [(0, 0, 0, 0), (0, 1, 3, 5), (1, 2, 7, 2), (1, 0, 4, 4)]:
        up, down = x64.copy(), x64.copy()
        up[n, c, i, j] += eps
        down[n, c, i, j] -= eps
        slope = (logits(up) - logits(down)) / (2 * eps)
        assert slope[n] == pytest.approx(grad[n, c, i, j], rel=1e-4, abs=1e-6)
        assert np.delete(slope, n) == pytest.approx(0.0, abs=1e-9)  # other images still


def test_input_gradient_leaves_the_model_as_it_was():
    model = small_mlp()
    model.train()
    model.layers[0].bias.requires_grad_(False)  # a frozen parameter stays frozen
    flags = [p.requires_grad for p in model.parameters()]
    before = copy.deepcopy(model.state_dict())
    input_gradient(model, images())
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), name
    assert all(p.grad is None for p in model.parameters())
    assert [p.requires_grad for p in model.parameters()] == flags
    assert model.training
    model.eval()
    input_gradient(model, images())
    assert not model.training  # eval stays eval


def test_input_gradient_restores_the_model_when_the_forward_pass_fails():
    model = small_mlp()
    model.train()
    wrong_size = np.zeros((1, 3, SIZE + 1, SIZE + 1), np.float32)
    with pytest.raises(ValueError, match="built for"):
        input_gradient(model, wrong_size)
    assert model.training
    assert all(p.requires_grad and p.grad is None for p in model.parameters())


def test_saliency_is_the_gradient_length_over_channels():
    model, x = small_mlp(), images()
    grad = input_gradient(model, x).astype(np.float64)
    sal = saliency(model, x)
    assert sal.shape == (len(x), SIZE, SIZE) and (sal >= 0).all()
    np.testing.assert_allclose(sal, np.sqrt((grad**2).sum(axis=1)))
    np.testing.assert_allclose(saliency(model, torch.from_numpy(x)), sal)  # torch too
    np.testing.assert_allclose(saliency(model, x.astype(np.float64)), sal)


def test_saliency_of_a_linear_model_is_its_weights():
    model = small_mlp(hidden=())
    w = model.layers[0].weight.detach().double().reshape(3, SIZE, SIZE)
    # z = w . (2 x - 1) + b, so dz/dx = 2 w for every image
    expected = np.sqrt(((2 * w) ** 2).sum(dim=0).numpy())
    np.testing.assert_allclose(saliency(model, images(n=2))[1], expected, rtol=1e-6)


_LINEAR = small_mlp(hidden=(), seed=3)


@given(
    arrays(
        np.float32,
        st.tuples(st.integers(1, 4), st.just(3), st.just(SIZE), st.just(SIZE)),
        elements=st.floats(0.0, 1.0, width=32),
    )
)
def test_saliency_of_a_linear_model_is_the_same_for_every_image(x):
    model = _LINEAR
    sal = saliency(model, x)
    reference = saliency(model, np.zeros((1, 3, SIZE, SIZE), np.float32))[0]
    for s in sal:
        np.testing.assert_allclose(s, reference, rtol=1e-6, atol=1e-12)


def test_a_deep_model_saliency_depends_on_the_image():
    model = small_mlp(hidden=(16, 16))
    sal = saliency(model, images(n=2))
    assert not np.allclose(sal[0], sal[1])


@pytest.mark.parametrize("h, w", [(4, 6), (5, 5)])
def test_centroid_of_one_hot_pixel_is_its_centre(h, w):
    for i, j in [(0, 0), (h - 1, w - 1), (2, 3)]:
        m = np.zeros((1, h, w))
        m[0, i, j] = 2.5
        np.testing.assert_allclose(centroid(m), [[(i + 0.5) / h, (j + 0.5) / w]])


def test_centroid_of_a_uniform_map_is_the_middle_and_maps_are_independent():
    maps = np.ones((3, 6, 10))
    maps[1] = 0.0
    maps[1, 0, 0] = 1.0
    c = centroid(maps)
    assert c.shape == (3, 2)
    np.testing.assert_allclose(c[[0, 2]], 0.5)
    np.testing.assert_allclose(c[1], [0.5 / 6, 0.5 / 10])
    # two equal hot pixels: halfway between them
    m = np.zeros((1, 4, 4))
    m[0, 0, 0] = m[0, 2, 2] = 1.0
    np.testing.assert_allclose(centroid(m), [[1.5 / 4, 1.5 / 4]])


def test_centroid_rejects_bad_maps():
    with pytest.raises(ValueError, match="shape"):
        centroid(np.ones((4, 4)))
    with pytest.raises(ValueError, match="shape"):
        centroid(np.ones((1, 1, 4, 4)))
    with pytest.raises(ValueError, match="non-negative"):
        centroid(-np.ones((1, 4, 4)))
    with pytest.raises(ValueError, match="positive mass"):
        centroid(np.zeros((1, 4, 4)))
    with pytest.raises(ValueError, match="positive mass"):
        centroid(np.stack([np.ones((4, 4)), np.zeros((4, 4))]))  # one empty map


def test_bad_images_and_models_are_rejected():
    model, x = small_mlp(), images(n=1)
    with pytest.raises(TypeError, match="numpy array or torch tensor"):
        input_gradient(model, x.tolist())
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        input_gradient(model, x[:, :1])
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        input_gradient(model, x[0])
    with pytest.raises(TypeError, match="floats"):
        input_gradient(model, (x * 255).astype(np.uint8))
    with pytest.raises(TypeError, match="floats"):
        saliency(model, torch.zeros((1, 3, SIZE, SIZE), dtype=torch.int64))
    with pytest.raises(TypeError, match="nn.Module"):
        input_gradient(lambda v: v.sum(), x)
    with pytest.raises(TypeError, match="nn.Module"):
        saliency(object(), x)


def test_input_gradient_works_for_any_module():
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * SIZE * SIZE, 1), nn.Flatten(0))
    grad = input_gradient(model, images(n=2))
    w = model[1].weight.detach().numpy().reshape(3, SIZE, SIZE)
    np.testing.assert_allclose(grad, np.stack([w, w]), rtol=1e-6)


def test_a_relu_mlp_is_its_gradient_times_the_input_plus_the_gated_offset():
    torch.manual_seed(3)
    model = MLP(hidden=(32, 16)).eval()
    with torch.no_grad():
        for layer in model.layers:
            layer.bias.normal_(0, 0.3)
    x = torch.rand(4, 3, 48, 48)
    gates = relu_gates(model, x)
    assert [tuple(g.shape) for g in gates] == [(4, 32), (4, 16)]
    assert all(set(g.unique().tolist()) <= {0.0, 1.0} for g in gates)
    z = model(x).detach().numpy()
    g = input_gradient(model, x)
    np.testing.assert_allclose(
        (g * x.numpy()).sum(axis=(1, 2, 3)) + gated_offset(model, x), z, atol=1e-4
    )
    # the offset is not the logit of the zero image: its gates are x's
    assert not np.allclose(gated_offset(model, x), model(torch.zeros(1, 3, 48, 48)).item())


def test_gated_offset_needs_a_relu_mlp():
    x = torch.rand(2, 3, 48, 48)
    with pytest.raises(ValueError, match="activation='relu'"):
        gated_offset(MLP(activation="tanh"), x)
    with pytest.raises(ValueError, match="activation='relu'"):
        relu_gates(torch.nn.Linear(3, 1), x)
