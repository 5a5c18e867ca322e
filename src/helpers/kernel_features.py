"""Softmax attention as fast weights in a feature space: positive random features.

Chapter 6 writes unnormalised linear attention as a matrix the input writes,
W(x) = sum_i k_i v_i^T, and finds that no single matrix over the queries reproduces
softmax attention. That is true in the space of the queries. But exp(q . k / sqrt(d))
is a kernel: an inner product phi(q) . phi(k) of features of q and k, in a space with
more dimensions (Katharopoulos et al. 2020). Positive random features (Choromanski et
al. 2021, "Performer") approximate it with m features,

    phi(x) = exp(w_r . x' - x' . x' / 2) / sqrt(m),  r = 1 .. m,  x' = x / d^(1/4),

with w_r drawn from a standard normal: the average of phi(q) . phi(k) over draws is
exactly exp(q . k / sqrt(d)). Then softmax attention is a *normalised* fast-weight
matrix in feature space,

    out_j = phi(q_j)^T W / phi(q_j)^T z,  W = sum_i phi(k_i) v_i^T,  z = sum_i phi(k_i),

and the approximation improves as m grows (:func:`random_feature_attention`).
"""

from __future__ import annotations

import math

import torch

__all__ = ["draw_features", "softmax_features", "random_feature_attention"]


def draw_features(d: int, m: int, *, seed: int = 0) -> torch.Tensor:
    """m random directions for d-dimensional queries and keys: (m, d) float64, each
    entry standard normal, the same for the same seed."""
    for name, value in (("d", d), ("m", m)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    g = torch.Generator().manual_seed(seed)
    return torch.randn(m, d, generator=g, dtype=torch.float64)


def softmax_features(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Positive random features of queries or keys x (..., L, d) with directions w
    (m, d): (..., L, m), phi(x) = exp(w x' - x' . x' / 2) / sqrt(m), x' = x / d^(1/4).

    Averaged over the draws of w, phi(q) . phi(k) = exp(q . k / sqrt(d)).
    """
    if not isinstance(x, torch.Tensor) or not isinstance(w, torch.Tensor):
        raise TypeError("x and w must be torch tensors")
    if x.ndim < 2 or w.ndim != 2 or x.shape[-1] != w.shape[1]:
        raise ValueError(
            f"x must be (..., L, d) and w (m, d) with the same d, got {tuple(x.shape)} "
            f"and {tuple(w.shape)}"
        )
    x = x.to(w.dtype) / x.shape[-1] ** 0.25
    return torch.exp(x @ w.T - (x**2).sum(-1, keepdim=True) / 2) / math.sqrt(len(w))


def random_feature_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, w: torch.Tensor
) -> torch.Tensor:
    """Softmax attention approximated by a normalised fast-weight matrix in feature
    space: q (..., Lq, d), k (..., Lk, d), v (..., Lk, dv), directions w (m, d) ->
    (..., Lq, dv).

    out_j = phi(q_j)^T W / phi(q_j)^T z, with W = sum_i phi(k_i) v_i^T (m, dv) and
    z = sum_i phi(k_i) (m): one matrix W per input, read by every query, then
    divided by the query's normaliser (:func:`softmax_features`).
    """
    if k.shape[:-1] != v.shape[:-1] or q.shape[-1] != k.shape[-1]:
        raise ValueError(
            "q (..., Lq, d), k (..., Lk, d) and v (..., Lk, dv) must agree, got "
            f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}"
        )
    phi_q, phi_k = softmax_features(q, w), softmax_features(k, w)
    big_w = phi_k.transpose(-2, -1) @ v.to(w.dtype)  # (..., m, dv): the fast weights
    z = phi_k.sum(-2)  # (..., m)
    return (phi_q @ big_w) / (phi_q @ z[..., None])
