"""Counterfactual attention weights: does the model use its weighting? (chapter 6)

Chapter 4's attention pooling computes weights a_l over the h w cells from the image,
then pools values and reads the bird logit (query 0)::

    z(a) = w . sum_l a_l v_l + b,        v_l = V f_l, the value of cell l.

Swap a for other weights at test time, keep everything else (the same values, the
same classifier), and see how far P(bird) moves (Jain & Wallace 2019; Wiegreffe &
Pinter 2019). :func:`counterfactual_weights` makes the swaps:

- ``"uniform"``: 1 / hw everywhere (average pooling of the same values);
- ``"permuted"``: the image's own weights, shuffled over its cells;
- another map of the same image (:func:`other_weights`: the leaf query's, or the
  fixed mask's);
- ``"adversarial"``: as different from the learned map as possible (Jensen-Shannon
  divergence, :func:`js_divergence`) while P(bird) stays within a tolerance of the
  model's own (:func:`adversarial_weights`, Jain & Wallace's adversary).

:func:`pooled_logits` reads the logit with any weights. If the model did not rest on
its weighting, the swaps would leave its answers alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from helpers.inference import eval_mode
from helpers.metrics import attention_mass
from helpers.models import PooledCNN

__all__ = [
    "WEIGHTINGS",
    "values_and_weights",
    "pooled_logits",
    "js_divergence",
    "counterfactual_weights",
    "other_weights",
    "adversarial_weights",
    "counterfactual_effects",
]

WEIGHTINGS = ("learned", "uniform", "permuted", "adversarial")
"""The weightings :func:`counterfactual_weights` makes (``"learned"``: the model's own)."""


def _check_model(model: object) -> PooledCNN:
    if not isinstance(model, PooledCNN) or model.pool != "attention":
        raise TypeError('model must be a helpers.models.PooledCNN("attention")')
    return model


def _as_images(images: object) -> torch.Tensor:
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(np.ascontiguousarray(images))
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] != 3:
        raise ValueError("images must be float images of shape (N, 3, H, W)")
    return images


@torch.no_grad()
def values_and_weights(
    model: PooledCNN, images: object, *, batch_size: int = 500
) -> tuple[torch.Tensor, torch.Tensor]:
    """The values each cell offers and the model's own weights over the cells.

    Returns:
        ``values`` (N, h w, C) float64 and ``weights`` (N, h, w) float64 (query 0,
        the bird's; each map sums to 1), in eval mode, on the CPU.
    """
    model = _check_model(model)
    x = _as_images(images)
    dev = next(model.parameters()).device
    values, weights = [], []
    with eval_mode(model):
        for s in range(0, len(x), batch_size):
            f = model.backbone(x[s : s + batch_size].to(dev))  # (B, C, h, w)
            values.append(model.value(f).flatten(2).transpose(1, 2).double().cpu())
            _, w = model.pool_features(f)
            weights.append(w[:, 0].double().cpu())
    h, w = model.grid
    if not values:
        return torch.zeros(0, h * w, model.backbone.out_channels), torch.zeros(0, h, w)
    return torch.cat(values), torch.cat(weights)


def pooled_logits(model: PooledCNN, values: torch.Tensor, weights: object) -> torch.Tensor:
    """The bird logit with ``weights`` in place of the model's own:
    z = w . sum_l a_l v_l + b.

    Args:
        model: the attention model whose classifier reads the pooled values.
        values: (N, h w, C), from :func:`values_and_weights`.
        weights: (N, h, w) or (N, h w), any weights over the cells (numpy or torch).

    Returns:
        (N,) float64 logits (differentiable in ``weights`` when it is a tensor).

    >>> from helpers.models import PooledCNN
    >>> _ = torch.manual_seed(0)
    >>> model, images = PooledCNN().eval(), torch.rand(2, 3, 48, 48)
    >>> values, own = values_and_weights(model, images)
    >>> z = pooled_logits(model, values, own)
    >>> bool(torch.allclose(z, model(images).double(), atol=1e-5))
    True
    """
    model = _check_model(model)
    a = torch.as_tensor(weights, dtype=torch.float64)
    if a.ndim == 3:
        a = a.flatten(1)
    if a.ndim != 2 or values.ndim != 3 or a.shape != values.shape[:2]:
        raise ValueError(
            f"weights must be (N, h, w) or (N, h w) matching values {tuple(values.shape)}"
            f", got {tuple(a.shape)}"
        )
    w = model.classifier.weight[0].detach().double().cpu()
    b = model.classifier.bias[0].detach().double().cpu()
    return torch.einsum("nl,nlc,c->n", a, values, w) + b


def js_divergence(p: object, q: object) -> np.ndarray:
    """The Jensen-Shannon divergence of two maps of each scene, in bits: (N,) in [0, 1].

    0 for equal maps, 1 for maps with no cell in common. Maps (N, h, w) or (N, L) of
    non-negative weights summing to 1.

    >>> js_divergence([[1.0, 0.0]], [[0.0, 1.0]])
    array([1.])
    >>> js_divergence([[0.5, 0.5]], [[0.5, 0.5]])
    array([0.])
    """
    p = np.asarray(p.detach().cpu() if hasattr(p, "detach") else p, dtype=np.float64)
    q = np.asarray(q.detach().cpu() if hasattr(q, "detach") else q, dtype=np.float64)
    if p.shape != q.shape or p.ndim < 2:
        raise ValueError(f"p and q must be maps of one shape, got {p.shape} and {q.shape}")
    p, q = p.reshape(len(p), -1), q.reshape(len(q), -1)
    m = (p + q) / 2

    def kl(a: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(a > 0, a * np.log2(a / np.where(m > 0, m, 1.0)), 0.0)
        return terms.sum(axis=1)

    return np.clip((kl(p) + kl(q)) / 2, 0.0, 1.0)


def counterfactual_weights(
    weights: torch.Tensor, kind: str, *, seed: int = 0
) -> torch.Tensor:
    """``"learned"`` (the weights themselves), ``"uniform"`` or ``"permuted"`` (each
    image's weights shuffled over its cells, a new order per image): (N, h, w).

    >>> a = torch.tensor([[[0.7, 0.1], [0.1, 0.1]]])
    >>> counterfactual_weights(a, "uniform")
    tensor([[[0.2500, 0.2500],
             [0.2500, 0.2500]]])
    """
    if kind not in ("learned", "uniform", "permuted"):
        raise ValueError(
            f"kind must be 'learned', 'uniform' or 'permuted', got {kind!r} "
            "(adversarial weights: adversarial_weights)"
        )
    if not isinstance(weights, torch.Tensor) or weights.ndim != 3:
        raise ValueError("weights must be a torch tensor of shape (N, h, w)")
    if kind == "learned":
        return weights.clone()
    n, h, w = weights.shape
    if kind == "uniform":
        return torch.full_like(weights, 1.0 / (h * w))
    g = torch.Generator().manual_seed(seed)
    order = torch.stack([torch.randperm(h * w, generator=g) for _ in range(n)])
    return torch.gather(weights.flatten(1), 1, order.to(weights.device)).view(n, h, w)


@torch.no_grad()
def other_weights(model: PooledCNN, images: object, source: object) -> torch.Tensor:
    """Another weighting of the same images, (N, h, w) float64: ``source`` an int picks
    one of the model's other queries (1: chapter 4's "leaf"); a ``PooledCNN`` gives its
    own pooling weights (e.g. the fixed mask's map, the same for every image)."""
    model = _check_model(model)
    x = _as_images(images)
    if isinstance(source, bool) or not isinstance(source, (int, PooledCNN)):
        raise TypeError("source must be a query index (int) or a PooledCNN")
    if isinstance(source, int):
        return model.pool_weights(x, query=source).double().cpu()
    return source.pool_weights(x).double().cpu()


def adversarial_weights(
    model: PooledCNN,
    values: torch.Tensor,
    weights: torch.Tensor,
    *,
    tolerance: float = 0.01,
    steps: int = 300,
    lr: float = 0.1,
    seed: int = 0,
) -> torch.Tensor:
    """For each image, the weights farthest from its own (Jensen-Shannon) that keep
    P(bird) within ``tolerance`` of the model's: Jain & Wallace's adversary.

    Gradient ascent (Adam) on the softmax scores s of each image, from the learned
    map plus a little noise, on JSD(softmax(s), a) - 100 * max(0, abs(dP) - tolerance);
    each image keeps the farthest map seen that stayed within the tolerance (its own
    map if none did).

    Args:
        model: the attention model (its classifier reads the pooled values).
        values: (N, h w, C) and weights (N, h, w): :func:`values_and_weights`.
        tolerance: the largest change of P(bird) allowed, in (0, 1).
        steps, lr: the ascent's length and step size.
        seed: the starting noise.

    Returns:
        (N, h, w) float64 weights, each map summing to 1.
    """
    model = _check_model(model)
    if not 0 < tolerance < 1:
        raise ValueError(f"tolerance must be in (0, 1), got {tolerance!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    n, h, w = weights.shape
    target = weights.double().flatten(1)
    p0 = torch.sigmoid(pooled_logits(model, values, target))
    g = torch.Generator().manual_seed(seed)
    noise = 0.5 * torch.randn(target.shape, generator=g, dtype=torch.float64)
    scores = (torch.log(target.clamp_min(1e-12)) + noise).requires_grad_(True)
    optimiser = torch.optim.Adam([scores], lr=lr)
    best, best_jsd = target.clone(), torch.zeros(n, dtype=torch.float64)
    for _ in range(steps):
        a = torch.softmax(scores, dim=1)
        m = (a + target) / 2
        jsd = 0.5 * (
            (a * (torch.log2(a.clamp_min(1e-12)) - torch.log2(m))).sum(1)
            + (target * (torch.log2(target.clamp_min(1e-12)) - torch.log2(m))).sum(1)
        )
        change = (torch.sigmoid(pooled_logits(model, values, a)) - p0).abs()
        with torch.no_grad():
            ok = (change <= tolerance) & (jsd > best_jsd)
            best[ok], best_jsd[ok] = a[ok].detach(), jsd[ok].detach()
        loss = -(jsd - 100.0 * torch.relu(change - tolerance)).sum()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return best.view(n, h, w)


def counterfactual_effects(
    model: PooledCNN,
    values: torch.Tensor,
    weightings: Mapping[str, torch.Tensor],
    labels: np.ndarray,
    masks: np.ndarray | None = None,
) -> dict[str, dict[str, Any]]:
    """What each weighting does to the model's answers.

    Args:
        model: the attention model.
        values: (N, h w, C), from :func:`values_and_weights`.
        weightings: ``{name: (N, h, w) weights}``; ``"learned"`` (the model's own)
            must be among them: the others are compared with it.
        labels: (N,) 1 = bird, 0 = none.
        masks: (N, H, W) bird masks, to measure each map's share on the bird.

    Returns:
        ``{name: {"accuracy", "change", "jsd", "mass"}}``: the accuracy with those
        weights; the mean absolute change of P(bird) from its value with the learned
        weights; the mean Jensen-Shannon divergence from the learned map (bits); the
        mean share of the map on the bird over the scenes with one (NaN without
        ``masks``).
    """
    if "learned" not in weightings:
        raise ValueError("weightings must hold the model's own weights as 'learned'")
    labels = np.asarray(labels)
    if labels.shape != (len(values),):
        raise ValueError(f"labels must have shape ({len(values)},), got {labels.shape}")
    probs = {
        name: torch.sigmoid(pooled_logits(model, values, a)).detach().numpy()
        for name, a in weightings.items()
    }
    learned = weightings["learned"]
    bird = labels == 1
    out = {}
    for name, a in weightings.items():
        mass = float("nan")
        if masks is not None and bird.any():
            mass = float(
                attention_mass(np.asarray(a)[bird], np.asarray(masks)[bird]).mean()
            )
        out[name] = {
            "accuracy": float(((probs[name] > 0.5) == bird).mean()),
            "change": float(np.abs(probs[name] - probs["learned"]).mean()),
            "jsd": float(js_divergence(a, learned).mean()),
            "mass": mass,
        }
    return out
