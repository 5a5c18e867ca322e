import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from helpers.attention import linear_attention, scaled_dot_product_attention, softmax

shapes = st.tuples(
    st.integers(1, 3),  # batch
    st.integers(1, 3),  # heads
    st.integers(1, 6),  # Lq
    st.integers(1, 7),  # Lk
    st.integers(1, 8),  # d
    st.integers(1, 5),  # dv
)


def _random(shape, seed):
    b, h, lq, lk, d, dv = shape
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(b, h, lq, d, generator=g, dtype=torch.float64)
    k = torch.randn(b, h, lk, d, generator=g, dtype=torch.float64)
    v = torch.randn(b, h, lk, dv, generator=g, dtype=torch.float64)
    mask = torch.rand(b, h, lq, lk, generator=g) < 0.7
    mask[..., 0] = True  # every query may attend to at least one key
    return q, k, v, mask


@given(shapes, st.integers(0, 2**31), st.booleans())
def test_equals_torch_sdpa(shape, seed, masked):
    q, k, v, mask = _random(shape, seed)
    m = mask if masked else None
    out, weights = scaled_dot_product_attention(q, k, v, m)
    expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m)
    torch.testing.assert_close(out, expected)
    assert weights.shape == (*q.shape[:-1], k.shape[-2])


@given(shapes, st.integers(0, 2**31), st.booleans(), st.floats(0.2, 5.0))
def test_numpy_equals_torch(shape, seed, masked, temperature):
    q, k, v, mask = _random(shape, seed)
    m = mask if masked else None
    out_t, w_t = scaled_dot_product_attention(q, k, v, m, temperature=temperature)
    out_n, w_n = scaled_dot_product_attention(
        q.numpy(),
        k.numpy(),
        v.numpy(),
        None if m is None else m.numpy(),
        temperature=temperature,
    )
    assert isinstance(out_n, np.ndarray) and isinstance(w_n, np.ndarray)
    np.testing.assert_allclose(out_n, out_t.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w_n, w_t.numpy(), rtol=1e-10, atol=1e-12)


@given(shapes, st.integers(0, 2**31))
def test_weights_are_a_distribution(shape, seed):
    q, k, v, mask = _random(shape, seed)
    _, w = scaled_dot_product_attention(q.numpy(), k.numpy(), v.numpy(), mask.numpy())
    assert (w >= 0).all()
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-12)
    assert (w[~np.broadcast_to(mask.numpy(), w.shape)] == 0).all()  # masked keys get 0


def test_softmax_reweights_and_never_zeroes():
    scores = np.array([8.0, 0.0, -8.0])
    w = softmax(scores)
    assert (w > 0).all() and w[0] > 0.99  # tiny, but not zero
    np.testing.assert_allclose(softmax(scores + 100.0), w)  # shift invariance, no overflow


def test_temperature_flattens_and_sharpens():
    rng = np.random.default_rng(0)
    q, k, v = rng.normal(size=(1, 4)), rng.normal(size=(5, 4)), rng.normal(size=(5, 2))
    entropy = []
    for t in (0.1, 1.0, 10.0):
        _, w = scaled_dot_product_attention(q, k, v, temperature=t)
        entropy.append(-(w * np.log(w)).sum())
    assert entropy[0] < entropy[1] < entropy[2] < np.log(5)


def test_gradients_flow():
    q, k, v, mask = _random((2, 1, 3, 4, 5, 2), 0)
    for t in (q, k, v):
        t.requires_grad_(True)
    out, _ = scaled_dot_product_attention(q, k, v, mask)
    out.sum().backward()
    assert all(t.grad is not None and torch.isfinite(t.grad).all() for t in (q, k, v))
    assert v.grad.abs().sum() > 0 and q.grad.abs().sum() > 0


def test_gradcheck():
    q, k, v, mask = _random((1, 1, 2, 3, 4, 2), 1)
    fn = lambda q, k, v: scaled_dot_product_attention(q, k, v, mask, temperature=0.7)[0]  # noqa: E731
    assert torch.autograd.gradcheck(
        fn, (q.requires_grad_(), k.requires_grad_(), v.requires_grad_())
    )


def test_fully_masked_row_is_an_error_not_nan():
    q, k, v, mask = _random((1, 1, 3, 4, 5, 2), 0)
    mask[0, 0, 1] = False  # query 1 may attend to nothing
    with pytest.raises(ValueError, match="fully masked row"):
        scaled_dot_product_attention(q, k, v, mask)
    with pytest.raises(ValueError, match=r"\[\[0, 0, 1\]\]"):
        scaled_dot_product_attention(q.numpy(), k.numpy(), v.numpy(), mask.numpy())


@pytest.mark.parametrize(
    ("q", "k", "v", "words"),
    [
        (
            (2, 3, 4),
            (2, 5, 3),
            (2, 5, 6),
            r"last dimension d: q \(2, 3, 4\), k \(2, 5, 3\)",
        ),
        (
            (2, 3, 4),
            (2, 5, 4),
            (2, 6, 6),
            r"one row per key \(Lk\): k \(2, 5, 4\), v \(2, 6, 6\)",
        ),
        ((2, 3, 4), (3, 5, 4), (3, 5, 6), r"must broadcast: q \(2, 3, 4\)"),
        ((4,), (5, 4), (5, 6), r"q must have shape \(..., L, d\), got \(4,\)"),
        ((3, 4), (4,), (5, 6), r"k must have shape \(..., L, d\), got \(4,\)"),
    ],
)
@pytest.mark.parametrize("kind", ["numpy", "torch"])
@pytest.mark.parametrize("attend", [scaled_dot_product_attention, linear_attention])
def test_mismatched_shapes_name_the_shapes(q, k, v, words, kind, attend):
    """Both attentions check their arguments alike (one validator)."""
    z = np.zeros if kind == "numpy" else (lambda s: torch.zeros(s, dtype=torch.float64))
    with pytest.raises(ValueError, match=words):
        attend(z(q), z(k), z(v))


def test_bad_types_and_masks():
    q, k, v = np.zeros((3, 4)), np.zeros((5, 4)), np.zeros((5, 2))
    with pytest.raises(TypeError, match="must all be numpy arrays or all torch tensors"):
        scaled_dot_product_attention(torch.zeros(3, 4), k, v)
    with pytest.raises(TypeError, match="must hold floats"):
        scaled_dot_product_attention(q.astype(int), k, v)
    with pytest.raises(TypeError, match="booleans"):
        scaled_dot_product_attention(q, k, v, np.ones((3, 5)))
    with pytest.raises(
        ValueError, match=r"does not broadcast to \(..., Lq, Lk\) = \(3, 5\)"
    ):
        scaled_dot_product_attention(q, k, v, np.ones((3, 4), bool))
    with pytest.raises(ValueError, match="positive number"):
        scaled_dot_product_attention(q, k, v, temperature=0.0)
    with pytest.raises(TypeError, match="positive number"):
        scaled_dot_product_attention(q, k, v, temperature="hot")
