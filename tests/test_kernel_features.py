"""helpers.kernel_features: softmax attention through positive random features."""

import math

import pytest
import torch

from helpers.attention import scaled_dot_product_attention
from helpers.kernel_features import (
    draw_features,
    random_feature_attention,
    softmax_features,
)


def test_draw_features_is_seeded_and_checked():
    a, b = draw_features(4, 8, seed=3), draw_features(4, 8, seed=3)
    assert a.shape == (8, 4) and a.dtype == torch.float64
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, draw_features(4, 8, seed=4))
    with pytest.raises(ValueError, match="m must be a positive int"):
        draw_features(4, 0)
    with pytest.raises(ValueError, match="d must be a positive int"):
        draw_features(True, 3)


def test_features_are_positive_and_estimate_the_softmax_kernel():
    g = torch.Generator().manual_seed(0)
    q = torch.randn(3, 4, generator=g, dtype=torch.float64) * 0.5
    k = torch.randn(5, 4, generator=g, dtype=torch.float64) * 0.5
    w = draw_features(4, 200_000, seed=1)
    phi_q, phi_k = softmax_features(q, w), softmax_features(k, w)
    assert phi_q.shape == (3, 200_000) and (phi_q > 0).all()
    exact = torch.exp(q @ k.T / math.sqrt(4))
    torch.testing.assert_close(phi_q @ phi_k.T, exact, rtol=0.03, atol=0)


def test_random_feature_attention_is_the_normalised_fast_weight_readout():
    g = torch.Generator().manual_seed(2)
    q = torch.randn(6, 4, generator=g, dtype=torch.float64) * 0.5
    k = torch.randn(7, 4, generator=g, dtype=torch.float64) * 0.5
    v = torch.randn(7, 3, generator=g, dtype=torch.float64)
    w = draw_features(4, 16, seed=0)
    phi_q, phi_k = softmax_features(q, w), softmax_features(k, w)
    written_out = (phi_q @ (phi_k.T @ v)) / (phi_q @ phi_k.sum(0))[:, None]
    torch.testing.assert_close(random_feature_attention(q, k, v, w), written_out)
    exact = scaled_dot_product_attention(q, k, v)[0]
    errors = [
        (random_feature_attention(q, k, v, draw_features(4, m, seed=0)) - exact).norm()
        for m in (16, 200_000)
    ]
    assert errors[1] < 0.2 * errors[0] and errors[1] < 0.05


def test_bad_shapes_get_clear_errors():
    w = draw_features(4, 8)
    with pytest.raises(ValueError, match="same d"):
        softmax_features(torch.rand(3, 5), w)
    with pytest.raises(TypeError, match="torch tensors"):
        softmax_features([[1.0] * 4], w)
    with pytest.raises(ValueError, match="must agree"):
        random_feature_attention(torch.rand(2, 4), torch.rand(3, 4), torch.rand(2, 5), w)
