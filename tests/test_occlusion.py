import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from helpers.occlusion import blurred, occlusion_map


class LinearLogit(nn.Module):
    """logit = sum(weight * image) + bias: a fixed linear function of the pixels."""

    def __init__(self, h=48, w=48, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.weight = nn.Parameter(torch.randn(3, h, w, generator=g, dtype=torch.float64))
        self.bias = nn.Parameter(torch.tensor(0.5, dtype=torch.float64))
        self.seen = []  # (training, grad enabled) at each call

    def forward(self, images):
        self.seen.append((self.training, torch.is_grad_enabled()))
        return (images * self.weight).sum(dim=(1, 2, 3)) + self.bias


class OneCell(nn.Module):
    """logit = the sum of the green pixels in one cell; no parameters at all."""

    def __init__(self, i, j, patch=8):
        super().__init__()
        self.rows, self.cols = (
            slice(i * patch, (i + 1) * patch),
            slice(j * patch, (j + 1) * patch),
        )

    def forward(self, images):
        return images[:, 1, self.rows, self.cols].sum(dim=(1, 2))


def _images(n, h=48, w=48, seed=0):
    return np.random.default_rng(seed).random((n, 3, h, w))


def _by_hand(weight, images, patch):
    """The exact drop for a linear logit: sum over the cell of weight * (x - mean)."""
    n, _, big_h, big_w = images.shape
    mean = images.mean(axis=(2, 3), keepdims=True)
    change = weight[None] * (images - mean)  # what occluding a pixel takes away
    cells = change.reshape(n, 3, big_h // patch, patch, big_w // patch, patch)
    return cells.sum(axis=(1, 3, 5))


@pytest.mark.parametrize(("patch", "grid"), [(8, (6, 6)), (16, (3, 3))])
def test_linear_model_matches_the_hand_computation(patch, grid):
    model, x = LinearLogit(), _images(5)
    got = occlusion_map(model, x, patch=patch)
    assert got.shape == (5, *grid) and got.dtype == np.float64
    expected = _by_hand(model.weight.detach().numpy(), x, patch)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)
    # the cells' drops add up to occluding the whole image with its mean
    whole = (model.weight.detach().numpy() * (x - x.mean(axis=(2, 3), keepdims=True))).sum(
        axis=(1, 2, 3)
    )
    np.testing.assert_allclose(got.sum(axis=(1, 2)), whole, rtol=1e-9, atol=1e-9)


@settings(max_examples=10)
@given(
    st.integers(1, 4),  # N
    st.sampled_from([(16, 32, 8), (24, 16, 4), (12, 12, 3), (8, 8, 8)]),  # H, W, patch
    st.integers(1, 50),  # batch_size
    st.integers(0, 2**31),  # seed
)
def test_any_grid_and_batch_size(n, hwp, batch_size, seed):
    big_h, big_w, patch = hwp
    model, x = LinearLogit(big_h, big_w, seed), _images(n, big_h, big_w, seed)
    got = occlusion_map(model, x, patch=patch, batch_size=batch_size)
    assert got.shape == (n, big_h // patch, big_w // patch)  # rows, then columns
    expected = _by_hand(model.weight.detach().numpy(), x, patch)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)


def test_numpy_and_torch_inputs_agree():
    model, x = LinearLogit(), _images(3).astype(np.float32)
    from_numpy = occlusion_map(model, x)
    from_torch = occlusion_map(model, torch.from_numpy(x))
    np.testing.assert_array_equal(from_numpy, from_torch)
    assert isinstance(from_torch, np.ndarray) and from_torch.dtype == np.float64


def test_flipped_and_read_only_arrays():
    model, x = LinearLogit(), _images(2)
    flipped = x[..., ::-1]  # negative strides
    frozen = x.copy()
    frozen.flags.writeable = False
    np.testing.assert_array_equal(occlusion_map(model, frozen), occlusion_map(model, x))
    np.testing.assert_allclose(
        occlusion_map(model, flipped),
        _by_hand(model.weight.detach().numpy(), np.ascontiguousarray(flipped), 8),
        rtol=1e-9,
        atol=1e-9,
    )


def test_only_the_cell_the_logit_reads_matters():
    x = _images(4)
    got = occlusion_map(OneCell(2, 3), torch.from_numpy(x), batch_size=7)
    cell = x[:, 1, 16:24, 24:32]
    expected = cell.sum(axis=(1, 2)) - 64 * x[:, 1].mean(axis=(1, 2))
    np.testing.assert_allclose(got[:, 2, 3], expected, rtol=1e-9, atol=1e-12)
    others = np.ones((6, 6), bool)
    others[2, 3] = False
    np.testing.assert_allclose(got[:, others], 0.0, atol=1e-12)
    assert np.abs(got[:, 2, 3]).min() > 1e-6


@pytest.mark.parametrize("training", [True, False])
def test_eval_mode_no_grad_and_flags_restored(training):
    model = LinearLogit()
    model.add_module("inner", nn.Dropout())
    model.train(training)
    model.inner.train(not training)  # mixed flags come back as they were
    occlusion_map(model, _images(2))
    assert model.seen and all(s == (False, False) for s in model.seen)
    assert model.training is training and model.inner.training is (not training)


def test_restores_flags_after_an_error():
    model = LinearLogit().train()
    with pytest.raises(RuntimeError):
        occlusion_map(model, _images(2, 40, 40))  # the weight is 48x48: torch complains
    assert model.training


def test_untrained_pooled_cnn():
    from helpers.models import PooledCNN
    from helpers.scenes import make_scenes

    torch.manual_seed(0)
    model = PooledCNN("attention")
    images = make_scenes(4, seed=0).images
    got = occlusion_map(model, images)
    assert got.shape == (4, 6, 6) and got.dtype == np.float64
    assert np.isfinite(got).all()
    assert model.training  # a fresh module is in training mode, and stays so
    assert occlusion_map(model, images, patch=16).shape == (4, 3, 3)


def test_bad_input():
    model, x = LinearLogit(), _images(2)
    with pytest.raises(TypeError, match=r"model must be a torch.nn.Module, got function"):
        occlusion_map(lambda im: im.sum((1, 2, 3)), x)
    with pytest.raises(TypeError, match="numpy array or a torch tensor, got list"):
        occlusion_map(model, x.tolist())
    with pytest.raises(TypeError, match="images must hold floats, got dtype uint8"):
        occlusion_map(model, (x * 255).astype(np.uint8))
    with pytest.raises(TypeError, match="images must hold floats, got dtype torch.int64"):
        occlusion_map(model, torch.zeros(2, 3, 48, 48, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\), got \(3, 48, 48\)"):
        occlusion_map(model, x[0])
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\), got \(2, 1, 48, 48\)"):
        occlusion_map(model, x[:, :1])
    with pytest.raises(ValueError, match="patch 5 does not divide 48x48 images"):
        occlusion_map(model, x, patch=5)
    for bad in (0, -8, 8.0, True, "8"):
        with pytest.raises(ValueError, match=f"patch must be a positive int, got {bad!r}"):
            occlusion_map(model, x, patch=bad)
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        occlusion_map(model, x, batch_size=0)


def test_model_must_return_one_logit_per_image():
    class Column(LinearLogit):
        def forward(self, images):
            return super().forward(images)[:, None]

    with pytest.raises(ValueError, match=r"\(N,\) logits; got \(2, 1\)"):
        occlusion_map(Column(), _images(2))


def test_the_promised_name_still_answers():
    import helpers.metrics

    assert helpers.metrics.occlusion_map is occlusion_map


def test_blurred_keeps_flat_images_and_total_light():
    flat = torch.full((2, 3, 16, 16), 0.3, dtype=torch.float64)
    torch.testing.assert_close(blurred(flat, sigma=2.0), flat)
    dot = torch.zeros(1, 3, 24, 24, dtype=torch.float64)
    dot[..., 12, 12] = 1.0
    spread = blurred(dot, sigma=2.0)
    assert spread.shape == dot.shape
    assert float(spread.sum()) == pytest.approx(3.0, rel=1e-6)  # away from the edges
    assert float(spread[..., 12, 12].max()) < 0.1
    with pytest.raises(ValueError, match="sigma"):
        blurred(dot, sigma=0)
    with pytest.raises(ValueError, match="too large"):
        blurred(dot, sigma=20.0)


@pytest.mark.parametrize("fill", ["blur", "images"])
def test_a_linear_model_drops_by_what_the_fill_changes(fill):
    model = LinearLogit(16, 16, seed=2)
    x = torch.from_numpy(_images(3, 16, 16, seed=5))
    other = torch.from_numpy(_images(3, 16, 16, seed=6))
    used = blurred(x, sigma=2.0) if fill == "blur" else other
    got = occlusion_map(model, x, patch=4, fill=used if fill == "images" else "blur")
    w = model.weight.detach()
    expected = ((x - used) * w).reshape(3, 3, 4, 4, 4, 4).sum(dim=(1, 3, 5))
    np.testing.assert_allclose(got, expected.numpy(), rtol=1e-9, atol=1e-9)
    same = occlusion_map(model, x, patch=4, fill=x)  # filling a cell with itself
    np.testing.assert_allclose(same, 0.0, atol=1e-9)


def test_a_window_is_the_mean_of_the_squares_that_cover_a_cell():
    model = LinearLogit(16, 16, seed=3)
    x = _images(2, 16, 16, seed=7)
    one = occlusion_map(model, x, patch=4)  # linear: a square's drop is its cells' sum
    squares = sum(np.roll(one, (-a, -b), axis=(1, 2)) for a in (0, 1) for b in (0, 1))
    expected = sum(np.roll(squares, (a, b), axis=(1, 2)) for a in (0, 1) for b in (0, 1))
    got = occlusion_map(model, x, patch=4, window=2)
    np.testing.assert_allclose(got, expected / 4, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(occlusion_map(model, x, patch=4, window=1), one)


def test_fill_and_window_errors():
    model = LinearLogit(16, 16)
    x = torch.from_numpy(_images(2, 16, 16))
    with pytest.raises(ValueError, match="fill must be one of"):
        occlusion_map(model, x, patch=4, fill="noise")
    with pytest.raises(ValueError, match="fill images must have"):
        occlusion_map(model, x, patch=4, fill=x[:1])
    for bad in (0, 5, 1.5, True):
        with pytest.raises(ValueError, match="window must be an int from 1 to 4"):
            occlusion_map(model, x, patch=4, window=bad)
