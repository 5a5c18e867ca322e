import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.attention import fast_weights, linear_attention

shapes = st.tuples(
    st.integers(1, 3),  # batch
    st.integers(1, 3),  # heads
    st.integers(1, 6),  # Lq
    st.integers(1, 7),  # Lk
    st.integers(1, 8),  # d
    st.integers(1, 5),  # dv
)
# for each of q, k, v: keep the batch dim or make it 1, keep the head dim or make it 1
broadcasting = st.tuples(*[st.tuples(st.booleans(), st.booleans())] * 3)


def _random(shape, seed, keep=((True, True),) * 3):
    b, h, lq, lk, d, dv = shape
    g = torch.Generator().manual_seed(seed)
    (qb, qh), (kb, kh), (vb, vh) = keep
    q = torch.randn(b if qb else 1, h if qh else 1, lq, d, generator=g, dtype=torch.float64)
    k = torch.randn(b if kb else 1, h if kh else 1, lk, d, generator=g, dtype=torch.float64)
    v = torch.randn(
        b if vb else 1, h if vh else 1, lk, dv, generator=g, dtype=torch.float64
    )
    return q, k, v


@given(shapes, st.integers(0, 2**31), broadcasting)
def test_numpy_equals_torch(shape, seed, keep):
    q, k, v = _random(shape, seed, keep)
    out_t, w_t = linear_attention(q, k, v), fast_weights(k, v)
    out_n, w_n = (
        linear_attention(q.numpy(), k.numpy(), v.numpy()),
        fast_weights(k.numpy(), v.numpy()),
    )
    assert isinstance(out_n, np.ndarray) and isinstance(w_n, np.ndarray)
    assert isinstance(out_t, torch.Tensor) and isinstance(w_t, torch.Tensor)
    np.testing.assert_allclose(out_n, out_t.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w_n, w_t.numpy(), rtol=1e-10, atol=1e-12)


@given(shapes, st.integers(0, 2**31), broadcasting)
def test_out_is_q_times_fast_weights(shape, seed, keep):
    q, k, v = _random(shape, seed, keep)
    _, _, lq, _, d, dv = shape
    out, w = linear_attention(q, k, v), fast_weights(k, v)
    assert out.shape == (
        *torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2]),
        lq,
        dv,
    )
    assert w.shape == (*torch.broadcast_shapes(k.shape[:-2], v.shape[:-2]), d, dv)
    torch.testing.assert_close(out, q @ w)
    qn, kn, vn = q.numpy(), k.numpy(), v.numpy()
    np.testing.assert_allclose(
        linear_attention(qn, kn, vn), qn @ fast_weights(kn, vn), rtol=1e-10, atol=1e-12
    )


@settings(max_examples=20)
@given(shapes, st.integers(0, 2**31), broadcasting)
def test_equals_a_loop_over_keys(shape, seed, keep):
    q, k, v = (x.numpy() for x in _random(shape, seed, keep))
    out, w = linear_attention(q, k, v), fast_weights(k, v)
    _, _, lq, lk, _, _ = shape
    for bi, hi in np.ndindex(out.shape[:2]):
        qs, ks, vs = (x[min(bi, len(x) - 1), min(hi, x.shape[1] - 1)] for x in (q, k, v))
        w_loop = sum(np.outer(ks[j], vs[j]) for j in range(lk))  # sum_j k_j v_j^T
        for i in range(lq):
            out_i = sum((qs[i] @ ks[j]) * vs[j] for j in range(lk))  # sum_j (q_i.k_j) v_j
            np.testing.assert_allclose(out[bi, hi, i], out_i, rtol=1e-10, atol=1e-12)
        wb = w[min(bi, len(w) - 1), min(hi, w.shape[1] - 1)]
        np.testing.assert_allclose(wb, w_loop, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_batch_and_head_dims_broadcast(kind):
    q, k, v = _random((2, 3, 4, 5, 3, 2), 0, ((True, True), (False, True), (True, False)))
    assert (q.shape[:2], k.shape[:2], v.shape[:2]) == ((2, 3), (1, 3), (2, 1))
    if kind == "numpy":
        q, k, v = q.numpy(), k.numpy(), v.numpy()
    out, w = linear_attention(q, k, v), fast_weights(k, v)
    assert out.shape == (2, 3, 4, 2) and w.shape == (2, 3, 3, 2)
    for b, h in np.ndindex(2, 3):  # each (batch, head) on its own, without broadcasting
        kb, vb = k[0, h], v[b, 0]
        np.testing.assert_allclose(out[b, h], linear_attention(q[b, h], kb, vb), rtol=1e-12)
        np.testing.assert_allclose(w[b, h], fast_weights(kb, vb), rtol=1e-12)


def test_no_softmax_no_scaling():
    q = np.array([[1.0, 0.0], [0.0, 2.0]])
    k = np.array([[2.0, 0.0], [0.0, -1.0], [3.0, 3.0]])
    v = np.array([[1.0], [10.0], [100.0]])
    # query 0: 2*1 + 0*10 + 3*100; query 1: 0*1 - 2*10 + 6*100 (weights negative, > 1)
    np.testing.assert_array_equal(linear_attention(q, k, v), [[302.0], [580.0]])
    np.testing.assert_array_equal(fast_weights(k, v), [[302.0], [290.0]])


def test_float32_stays_float32():
    q, k, v = (x.float() for x in _random((2, 1, 3, 4, 5, 2), 0))
    assert linear_attention(q, k, v).dtype == torch.float32
    assert fast_weights(k.numpy(), v.numpy()).dtype == np.float32


def test_gradients_flow():
    q, k, v = _random((2, 3, 4, 5, 3, 2), 0)
    for t in (q, k, v):
        t.requires_grad_(True)
    (linear_attention(q, k, v).sum() + fast_weights(k, v).square().sum()).backward()
    assert all(t.grad is not None and torch.isfinite(t.grad).all() for t in (q, k, v))
    assert all(t.grad.abs().sum() > 0 for t in (q, k, v))


def test_gradcheck():
    q, k, v = (x.requires_grad_() for x in _random((1, 2, 2, 3, 4, 2), 1))
    assert torch.autograd.gradcheck(linear_attention, (q, k, v))
    assert torch.autograd.gradcheck(fast_weights, (k, v))


@pytest.mark.parametrize(
    ("k", "v", "words"),
    [
        ((2, 5, 4), (2, 6, 6), r"one row per key \(Lk\): k \(2, 5, 4\), v \(2, 6, 6\)"),
        ((2, 5, 4), (3, 5, 6), r"k and v must broadcast: k \(2, 5, 4\), v \(3, 5, 6\)"),
        ((4,), (5, 6), r"k must have shape \(..., L, d\), got \(4,\)"),
        ((5, 4), (6,), r"v must have shape \(..., L, d\), got \(6,\)"),
    ],
)
@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_fast_weights_names_mismatched_shapes(k, v, words, kind):
    z = np.zeros if kind == "numpy" else (lambda s: torch.zeros(s, dtype=torch.float64))
    with pytest.raises(ValueError, match=words):
        fast_weights(z(k), z(v))


def test_bad_types():
    q, k, v = np.zeros((3, 4)), np.zeros((5, 4)), np.zeros((5, 2))
    tq, tk, tv = (torch.from_numpy(x) for x in (q, k, v))
    with pytest.raises(TypeError, match="must all be numpy arrays or all torch tensors"):
        linear_attention(tq, k, v)
    with pytest.raises(TypeError, match="must all be numpy arrays or all torch tensors"):
        linear_attention(q.tolist(), k, v)
    with pytest.raises(TypeError, match="k and v must both be numpy arrays or both torch"):
        fast_weights(tk, v)
    with pytest.raises(TypeError, match="got list and ndarray"):
        fast_weights(k.tolist(), v)
    with pytest.raises(TypeError, match="q must hold floats, got dtype int64"):
        linear_attention(q.astype(np.int64), k, v)
    with pytest.raises(TypeError, match="v must hold floats, got dtype torch.int64"):
        linear_attention(tq, tk, tv.long())
    with pytest.raises(TypeError, match="k must hold floats, got dtype int64"):
        fast_weights(k.astype(np.int64), v)
    with pytest.raises(TypeError, match="v must hold floats, got dtype torch.bool"):
        fast_weights(tk, tv.bool())
    with pytest.raises(TypeError, match="q and k must share a dtype"):
        linear_attention(tq.float(), tk, tv)
    with pytest.raises(TypeError, match="k and v must share a dtype"):
        fast_weights(tk, tv.float())
