"""helpers.attention.MultiHeadSelfAttention: torch's equal, written out, equivariant."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from helpers.attention import MultiHeadSelfAttention

dims = st.sampled_from([(4, 1), (8, 2), (12, 3), (16, 4), (16, 8)])


def _tokens(n, t, dim, seed):
    return torch.randn(n, t, dim, generator=torch.Generator().manual_seed(seed))


@given(dims, st.integers(1, 3), st.integers(1, 9), st.integers(0, 2**31))
def test_equals_torch_multihead_attention(dim_heads, n, t, seed):
    dim, heads = dim_heads
    torch.manual_seed(seed)
    mha = torch.nn.MultiheadAttention(dim, heads, batch_first=True)
    ours = MultiHeadSelfAttention(dim, heads).load_torch(mha)
    x = _tokens(n, t, dim, seed)
    out, weights = ours(x)
    expected, expected_weights = mha(x, x, x, average_attn_weights=False)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(weights, expected_weights, atol=1e-6, rtol=1e-5)
    assert out.shape == (n, t, dim) and weights.shape == (n, heads, t, t)
    torch.testing.assert_close(weights.sum(-1), torch.ones(n, heads, t))


def test_the_formula_written_out_per_head():
    """Q, K, V per head; softmax(Q K^T / sqrt(d)) V; heads joined; output map."""
    torch.manual_seed(1)
    dim, heads = 12, 3
    d = dim // heads
    m = MultiHeadSelfAttention(dim, heads)
    x = _tokens(2, 5, dim, 2)
    wq, wk, wv = m.qkv.weight.split(dim)
    bq, bk, bv = m.qkv.bias.split(dim)
    outs = []
    for h in range(heads):
        s = slice(h * d, (h + 1) * d)
        q = x @ wq[s].T + bq[s]
        k = x @ wk[s].T + bk[s]
        v = x @ wv[s].T + bv[s]
        a = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(d), dim=-1)
        outs.append(a @ v)
    expected = torch.cat(outs, dim=-1) @ m.out.weight.T + m.out.bias
    out, _ = m(x)
    torch.testing.assert_close(out, expected)


@given(st.integers(2, 10), st.integers(0, 2**31))
def test_permutation_equivariant(t, seed):
    torch.manual_seed(seed)
    m = MultiHeadSelfAttention(8, 2)
    x = _tokens(2, t, 8, seed)
    perm = torch.randperm(t, generator=torch.Generator().manual_seed(seed + 1))
    out, w = m(x)
    out_p, w_p = m(x[:, perm])
    torch.testing.assert_close(out_p, out[:, perm], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(w_p, w[:, :, perm][:, :, :, perm], atol=1e-6, rtol=1e-5)


def test_positional_embeddings_break_equivariance():
    torch.manual_seed(0)
    m = MultiHeadSelfAttention(8, 2)
    x = _tokens(1, 6, 8, 0)
    pos = _tokens(1, 6, 8, 1)
    perm = torch.tensor([5, 0, 3, 1, 4, 2])
    out, _ = m(x + pos)
    out_p, _ = m(x[:, perm] + pos)
    assert (out_p - out[:, perm]).abs().max() > 0.05


def test_gradients_flow():
    m = MultiHeadSelfAttention(8, 2)
    x = _tokens(2, 4, 8, 0).requires_grad_()
    m(x)[0].sum().backward()
    assert x.grad is not None and m.qkv.weight.grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((10, 3), ValueError, "divisible by heads"),
        ((0, 1), ValueError, "dim must be a positive int"),
        ((8, 0), ValueError, "heads must be a positive int"),
        ((8.0, 2), ValueError, "dim must be a positive int"),
    ],
)
def test_bad_construction(args, error, match):
    with pytest.raises(error, match=match):
        MultiHeadSelfAttention(*args)


def test_bad_tokens():
    m = MultiHeadSelfAttention(8, 2)
    with pytest.raises(ValueError, match=r"\(N, T, dim\) = \(N, T, 8\)"):
        m(torch.zeros(2, 5, 6))
    with pytest.raises(ValueError, match="shape"):
        m(torch.zeros(5, 8))
    with pytest.raises(TypeError, match="torch tensor"):
        m(torch.zeros(2, 5, 8).numpy())
    with pytest.raises(TypeError, match="float64"):
        m(torch.zeros(2, 5, 8, dtype=torch.float64))


def test_bad_load_torch():
    m = MultiHeadSelfAttention(8, 2)
    with pytest.raises(ValueError, match="4 heads"):
        m.load_torch(torch.nn.MultiheadAttention(8, 4, batch_first=True))
    with pytest.raises(TypeError, match="MultiheadAttention"):
        m.load_torch(torch.nn.Linear(8, 8))
    with pytest.raises(ValueError, match="packed input projection"):
        m.load_torch(torch.nn.MultiheadAttention(8, 2, kdim=4, vdim=4))
