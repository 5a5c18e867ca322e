"""Scaled dot-product attention, written out, for numpy arrays and torch tensors.

For queries q, keys k and values v::

    scores  = q @ k^T / (sqrt(d) * temperature)        (..., Lq, Lk)
    weights = softmax(scores) over the keys             each row sums to 1
    out     = weights @ v                               (..., Lq, dv)

A mask (True = may attend) sets the scores of forbidden keys to minus infinity before
the softmax, so their weights are exactly zero. Without a mask no weight is ever zero:
the softmax *reweights* every region, it does not cut any out.

:class:`MultiHeadSelfAttention` (chapter 5) lets every token of one sequence ask its own
question of all the others: each token's query, key and value are linear maps of the
token, split into heads that attend independently, and the heads' outputs are joined
and mapped back to the token's width.

:func:`linear_attention` drops the softmax: out = (q @ k^T) @ v. Matrix products
associate, so out = q @ W with W = k^T @ v (:func:`fast_weights`), a (d, dv) matrix
computed from the input, written by the keys and values and read by the queries.
Computed that way, the cost grows linearly with the sequence length, not quadratically.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = [
    "MultiHeadSelfAttention",
    "fast_weights",
    "linear_attention",
    "scaled_dot_product_attention",
    "softmax",
]


def softmax(scores: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax of a numpy array along ``axis``.

    >>> np.round(softmax(np.array([0.0, np.log(3.0)])), 4)  # 1 : 3
    array([0.25, 0.75])
    """
    scores = np.asarray(scores)
    shifted = scores - scores.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)


def _join(names: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _kind(**arrays: Any) -> str:
    """ "numpy" or "torch" when the arrays are all of one kind, each holding floats in
    at least 2 dimensions (..., L, d); else an error that names them."""
    xs = list(arrays.values())
    if all(isinstance(x, torch.Tensor) for x in xs):
        kind = "torch"
    elif all(isinstance(x, np.ndarray) for x in xs):
        kind = "numpy"
    else:
        every = "both" if len(xs) == 2 else "all"
        raise TypeError(
            f"{_join(list(arrays))} must {every} be numpy arrays or {every} torch "
            f"tensors, got {_join([type(x).__name__ for x in xs])}"
        )
    for name, x in arrays.items():
        if x.ndim < 2:
            raise ValueError(f"{name} must have shape (..., L, d), got {tuple(x.shape)}")
        if kind == "numpy" and not np.issubdtype(x.dtype, np.floating):
            raise TypeError(f"{name} must hold floats, got dtype {x.dtype}")
        if kind == "torch" and not torch.is_floating_point(x):
            raise TypeError(f"{name} must hold floats, got dtype {x.dtype}")
    return kind


def _batch(**arrays: Any) -> tuple[int, ...]:
    """Check that k and v have one row per key and that the leading (batch, head)
    dimensions of all the arrays broadcast; return the broadcast shape."""
    k, v = arrays["k"], arrays["v"]
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            "k and v must have one row per key (Lk): "
            f"k {tuple(k.shape)}, v {tuple(v.shape)}"
        )
    try:
        return np.broadcast_shapes(*(x.shape[:-2] for x in arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{name} {tuple(x.shape)}" for name, x in arrays.items())
        raise ValueError(
            f"the leading (batch, head) dimensions of {_join(list(arrays))} must "
            f"broadcast: {shapes}"
        ) from None


def _check(q: Any, k: Any, v: Any, mask: Any, temperature: Any) -> str:
    """Validate the arguments; return "numpy" or "torch"."""
    kind = _kind(q=q, k=k, v=v)
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            "q and k must share their last dimension d: "
            f"q {tuple(q.shape)}, k {tuple(k.shape)}"
        )
    batch = _batch(q=q, k=k, v=v)
    if mask is not None:
        if kind == "torch" and not isinstance(mask, torch.Tensor):
            raise TypeError("with torch inputs the mask must be a torch bool tensor")
        if kind == "numpy" and not isinstance(mask, np.ndarray):
            raise TypeError("with numpy inputs the mask must be a numpy bool array")
        if mask.dtype not in (np.bool_, torch.bool):
            raise TypeError(
                f"mask must hold booleans (True = may attend), got {mask.dtype}"
            )
        target = (*batch, q.shape[-2], k.shape[-2])
        try:
            if np.broadcast_shapes(tuple(mask.shape), target) != target:
                raise ValueError
        except ValueError:
            raise ValueError(
                f"mask of shape {tuple(mask.shape)} does not broadcast to (..., Lq, Lk) = "
                f"{target}"
            ) from None
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real):
        raise TypeError(f"temperature must be a positive number, got {temperature!r}")
    if not temperature > 0 or not math.isfinite(temperature):
        raise ValueError(f"temperature must be a positive number, got {temperature}")
    return kind


def scaled_dot_product_attention(
    q: Any, k: Any, v: Any, mask: Any = None, *, temperature: float = 1.0
) -> tuple[Any, Any]:
    """Attend from each query to the keys; return the outputs and the weights.

    Args:
        q: queries (..., Lq, d).
        k: keys (..., Lk, d).
        v: values (..., Lk, dv).
        mask: optional booleans broadcastable to (..., Lq, Lk); True = may attend.
        temperature: divides the scores; above 1 flattens the weights, below 1
            sharpens them.

    Returns:
        ``(out, weights)``: out (..., Lq, dv), weights (..., Lq, Lk), each row of the
        weights non-negative and summing to 1. numpy in, numpy out; torch in, torch out
        (differentiable). Equals ``torch.nn.functional.scaled_dot_product_attention``
        at temperature 1.

    Raises:
        TypeError: mixed numpy/torch inputs, non-float inputs, a non-bool mask.
        ValueError: shapes that do not fit (the message names them), a temperature
            that is not positive, or a mask that leaves a query nothing to attend to
            (its weights would be 0/0).

    One query and two keys, d = 1, so the scores are q . k = log 3 and 0:

    >>> q = np.array([[np.log(3.0)]])
    >>> k, v = np.array([[1.0], [0.0]]), np.array([[4.0], [8.0]])
    >>> out, weights = scaled_dot_product_attention(q, k, v)
    >>> np.round(weights, 4), np.round(out, 4)  # out = 3/4 * 4 + 1/4 * 8
    (array([[0.75, 0.25]]), array([[5.]]))
    >>> scaled_dot_product_attention(q, k, v, mask=np.array([[False, True]]))[1]
    array([[0., 1.]])
    """
    kind = _check(q, k, v, mask, temperature)
    scale = 1.0 / (math.sqrt(q.shape[-1]) * float(temperature))
    if kind == "numpy":
        scores = (q @ np.swapaxes(k, -1, -2)) * scale
        if mask is not None:
            _no_empty_rows(np.asarray(mask).any(axis=-1))
            scores = np.where(mask, scores, -np.inf)
        weights = softmax(scores, axis=-1)
        return weights @ v, weights
    scores = (q @ k.transpose(-1, -2)) * scale
    if mask is not None:
        _no_empty_rows(mask.any(dim=-1).cpu().numpy())
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


def _no_empty_rows(has_key: np.ndarray) -> None:
    if not np.all(has_key):
        where = np.argwhere(~np.broadcast_to(has_key, has_key.shape))[:3].tolist()
        raise ValueError(
            "the mask lets some queries attend to no key at all (a fully masked row, "
            f"whose softmax would be 0/0 = NaN); first such (..., query) indices: {where}"
        )


class MultiHeadSelfAttention(nn.Module):
    """Self-attention with ``heads`` heads: tokens (N, T, dim) -> (N, T, dim).

    With d = dim / heads, for each head h (written for one sequence x, (T, dim))::

        Q_h = x Wq_h^T + bq_h,  K_h = x Wk_h^T + bk_h,     (T, d) each
        V_h = x Wv_h^T + bv_h
        A_h = softmax(Q_h K_h^T / sqrt(d))          (T, T), each row sums to 1
        out = concat_h(A_h V_h) Wo^T + bo            (T, dim)

    Row t of A_h says how much token t takes from every token: the weights are computed
    from the tokens, so they change with the input; Wq, Wk, Wv, Wo are the learned,
    fixed parameters. Nothing here knows where a token sits in the sequence: permute
    the tokens and the outputs permute the same way (add positional embeddings to the
    tokens to break that).

    Args:
        dim: the tokens' width, a positive int divisible by ``heads``.
        heads: the number of heads.
    """

    def __init__(self, dim: int, heads: int):
        super().__init__()
        for name, value in (("dim", dim), ("heads", heads)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if dim % heads:
            raise ValueError(
                f"dim must be divisible by heads (each head gets dim / heads "
                f"features), got dim={dim}, heads={heads}"
            )
        self.dim = dim
        """The tokens' width."""
        self.heads = heads
        """The number of heads; each works on dim / heads features."""
        self.qkv = nn.Linear(dim, 3 * dim)
        """Wq, Wk, Wv stacked (3 dim, dim), with their biases: one matmul for all three."""
        self.out = nn.Linear(dim, dim)
        """Wo and bo: the heads' joined outputs back to the tokens' width."""

    def _check(self, x: object) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(
                f"x must be a torch tensor of tokens (N, T, {self.dim}), got "
                f"{type(x).__name__}"
            )
        if x.ndim != 3 or x.shape[-1] != self.dim or x.shape[1] < 1:
            raise ValueError(
                f"x must have shape (N, T, dim) = (N, T, {self.dim}), got {tuple(x.shape)}"
            )
        if x.dtype != self.qkv.weight.dtype:
            raise TypeError(
                f"x must be {self.qkv.weight.dtype} like the weights, got {x.dtype}"
            )
        return x

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Tokens (N, T, dim) -> ``(out (N, T, dim), weights (N, heads, T, T))``."""
        x = self._check(x)
        n, t, _ = x.shape
        # (N, T, 3 dim) -> 3 x (N, heads, T, d)
        q, k, v = self.qkv(x).reshape(n, t, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        mixed, weights = scaled_dot_product_attention(q, k, v)
        joined = mixed.transpose(1, 2).reshape(n, t, self.dim)  # concat the heads
        return self.out(joined), weights

    def load_torch(self, mha: nn.MultiheadAttention) -> MultiHeadSelfAttention:
        """Copy the weights of a torch ``nn.MultiheadAttention`` built with
        ``(dim, heads, batch_first=True)``; then both compute the same outputs and
        (per head) weights. Returns ``self``."""
        if not isinstance(mha, nn.MultiheadAttention):
            raise TypeError(
                f"mha must be a torch.nn.MultiheadAttention, got {type(mha).__name__}"
            )
        if (mha.embed_dim, mha.num_heads) != (self.dim, self.heads):
            raise ValueError(
                f"mha has dim {mha.embed_dim} and {mha.num_heads} heads; this module "
                f"has dim {self.dim} and {self.heads} heads"
            )
        if mha.in_proj_weight is None or mha.in_proj_bias is None or mha.bias_k is not None:
            raise ValueError(
                "mha must have one packed input projection with biases and no extra "
                "key/value biases (the defaults of nn.MultiheadAttention(dim, heads))"
            )
        with torch.no_grad():
            self.qkv.weight.copy_(mha.in_proj_weight)
            self.qkv.bias.copy_(mha.in_proj_bias)
            self.out.weight.copy_(mha.out_proj.weight)
            self.out.bias.copy_(mha.out_proj.bias)
        return self


def _same_torch_dtype_device(**tensors: Any) -> None:
    """With torch inputs, all tensors must share a dtype and a device."""
    (name0, x0), *rest = tensors.items()
    for name, x in rest:
        if x.dtype != x0.dtype:
            raise TypeError(
                f"{name0} and {name} must share a dtype, got {x0.dtype} and {x.dtype}"
            )
        if x.device != x0.device:
            raise ValueError(
                f"{name0} and {name} must be on one device, got {x0.device} and {x.device}"
            )


def _check_kv(k: Any, v: Any) -> str:
    """Validate keys and values; return "numpy" or "torch"."""
    kind = _kind(k=k, v=v)
    _batch(k=k, v=v)
    _same_torch_dtype_device(k=k, v=v)
    return kind


def linear_attention(q: Any, k: Any, v: Any) -> Any:
    """Unnormalised linear attention: out = (q @ k^T) @ v, no softmax, no scaling.

    Query i gets out_i = sum_j (q_i . k_j) v_j: every value, weighted by the raw dot
    product of its key with the query. The weights can be negative and need not sum to
    1. Because matrix products associate, out = q @ (k^T @ v) = q @ W with
    W = ``fast_weights(k, v)``. This function forms the (Lq, Lk) scores, to show the
    attention view; q @ W never does, so its cost grows linearly with Lk.

    Args:
        q: queries (..., Lq, d).
        k: keys (..., Lk, d).
        v: values (..., Lk, dv).

    Returns:
        out (..., Lq, dv); the leading dimensions of q, k, v broadcast. numpy in, numpy
        out; torch in, torch out (differentiable).

    Raises:
        TypeError: mixed numpy/torch inputs, non-float inputs, torch inputs of
            different dtypes.
        ValueError: shapes that do not fit (the message names them), torch inputs on
            different devices.
    """
    kind = _check(q, k, v, None, 1.0)
    if kind == "numpy":
        return (q @ np.swapaxes(k, -1, -2)) @ v
    _same_torch_dtype_device(q=q, k=k, v=v)
    return (q @ k.transpose(-1, -2)) @ v


def fast_weights(k: Any, v: Any) -> Any:
    """The fast weight matrix W = k^T @ v = sum_j k_j v_j^T, shape (..., d, dv).

    Each key-value pair writes its outer product k_j v_j^T into W; a query reads W
    with q @ W, and ``linear_attention(q, k, v) == q @ fast_weights(k, v)``. W is a
    weight matrix that changes with every input, computed by the slow, learned weights
    that produce k and v: the outer-product "fast weights" of Ba et al. (2016), which
    Schlag, Irie and Schmidhuber (2021) showed to be linear attention in disguise.

    Args:
        k: keys (..., Lk, d).
        v: values (..., Lk, dv).

    Returns:
        W (..., d, dv); the leading dimensions of k and v broadcast. numpy in, numpy
        out; torch in, torch out (differentiable).

    Raises:
        TypeError: mixed numpy/torch inputs, non-float inputs, torch inputs of
            different dtypes.
        ValueError: shapes that do not fit (the message names them), torch inputs on
            different devices.

    >>> k, v = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[2.0], [3.0]])
    >>> fast_weights(k, v)  # k_1 v_1^T + k_2 v_2^T
    array([[2.],
           [3.]])
    >>> q = np.array([[1.0, 1.0]])
    >>> linear_attention(q, k, v), q @ fast_weights(k, v)
    (array([[5.]]), array([[5.]]))
    """
    if _check_kv(k, v) == "numpy":
        return np.swapaxes(k, -1, -2) @ v
    return k.transpose(-1, -2) @ v
