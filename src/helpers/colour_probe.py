"""Chapter 0's local colour probe: which colours sit in each patch of a scene.

A scene's *mean* colour does not tell a bird (chapter 0 checks it with
:func:`helpers.metrics.colour_features`), but a mean hides which colours are there.
A bird is several colours at once (a body, a darker wing, a beak), its decoy one. This
module asks whether that is enough to tell the label, with no shape at all:

- :func:`patch_colour_histograms` cuts each scene into patches and counts, in each
  patch, the pixels of each of a few quantised colours;
- :func:`patch_network_accuracy` trains a small network that scores each patch from
  its colour histogram alone and calls a scene a bird by a soft maximum of the
  patches' scores.

Linear probes on pooled histograms (the histograms' mean or maximum over patches) are
:func:`helpers.metrics.linear_probe_accuracy` on these features.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

__all__ = ["patch_colour_histograms", "patch_network_accuracy"]


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def patch_colour_histograms(
    images: np.ndarray, *, patch: int = 8, levels: int = 4
) -> np.ndarray:
    """Each patch's share of pixels of each quantised colour: (N, P, levels**3).

    Every channel value v in [0, 1] is cut into ``levels`` equal steps,
    q = min(floor(levels * v), levels - 1), and a pixel's colour is the bin
    (q_red * levels + q_green) * levels + q_blue. The image is cut into
    non-overlapping ``patch`` x ``patch`` squares, read row by row, and each
    square's histogram over the bins is divided by its number of pixels.

    Args:
        images: (N, 3, H, W) floats in [0, 1]; H and W multiples of ``patch``.
        patch: the side of a square patch in pixels.
        levels: quantisation steps per channel (2 to 6, so at most 216 colours).

    Returns:
        float32 (N, P, levels**3), P = (H / patch) * (W / patch); each row sums
        to 1. Its mean over patches is the whole image's colour histogram.

    >>> image = np.zeros((1, 3, 4, 4))
    >>> image[0, 0, :2, :2] = 1.0  # a red top-left corner
    >>> hist = patch_colour_histograms(image, patch=2, levels=2)  # (1, 4, 8)
    >>> hist[0, :, 4]  # the red bin (1 * 2 + 0) * 2 + 0, patch by patch
    array([1., 0., 0., 0.], dtype=float32)
    """
    patch, levels = _positive_int("patch", patch), _positive_int("levels", levels)
    if not 2 <= levels <= 6:
        raise ValueError(f"levels must be 2 to 6 steps per channel, got {levels}")
    if hasattr(images, "detach"):  # a torch tensor
        images = images.detach().cpu().numpy()
    x = np.asarray(images)
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"expected images of shape (N, 3, H, W), got {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"images must be floats in [0, 1], got {x.dtype}")
    n, _, big_h, big_w = x.shape
    if big_h % patch or big_w % patch:
        raise ValueError(f"{big_h}x{big_w} images do not cut into {patch}x{patch} patches")
    if x.size and (np.isnan(x).any() or x.min() < 0 or x.max() > 1):
        raise ValueError("images must hold values in [0, 1]")
    # uint8 steps: a quarter of the memory of int64 (the quantised copy is large)
    q = (x * np.float32(levels)).astype(np.uint8)
    np.minimum(q, levels - 1, out=q)
    colour = (q[:, 0] * levels + q[:, 1]) * levels + q[:, 2]  # (N, H, W)
    h, w, bins = big_h // patch, big_w // patch, levels**3
    colour = colour.reshape(n, h, patch, w, patch).transpose(0, 1, 3, 2, 4)
    colour = colour.reshape(n, h * w, patch * patch)
    offset = np.arange(n * h * w, dtype=np.int64).reshape(n, h * w, 1) * bins
    counts = np.bincount((offset + colour).ravel(), minlength=n * h * w * bins)
    return (counts.reshape(n, h * w, bins) / (patch * patch)).astype(np.float32)


def _check_histograms(
    name: str, hist: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    h = np.asarray(hist, dtype=np.float32)
    y = np.asarray(labels)
    if h.ndim != 3:
        raise ValueError(f"{name} histograms must have shape (N, P, bins), got {h.shape}")
    if y.shape != (len(h),):
        raise ValueError(f"{name} labels must have shape ({len(h)},), got {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"{name} labels must be 0 or 1")
    return h, y.astype(np.int64)


def patch_network_accuracy(
    train_hist: np.ndarray,
    train_labels: np.ndarray,
    test_hist: np.ndarray,
    test_labels: np.ndarray,
    *,
    hidden: int = 32,
    epochs: int = 100,
    lr: float = 0.01,
    seed: int = 0,
) -> float:
    """Test accuracy of a network that sees each patch's colours, never their layout.

    Each patch's histogram h (standardised per colour with the training set's mean
    and standard deviation) gets a score by a one-hidden-layer network, and a scene's
    bird logit is a soft maximum of its patches' scores::

        s_p = w2 . relu(W1 h_p + b1)             one score per patch p
        z   = log(sum over p of exp(s_p)) + b2   the scene's logit of "bird"

    The same W1, b1, w2 score every patch: the network can learn "a patch that
    holds these colours together is a bird", but not where a colour sits inside the
    patch. The soft maximum passes a gradient to every patch, the more the higher
    its score. A hard maximum passes it to the best patch alone, and a network
    whose best patch starts as the same in every scene (plain sky, say) learns
    little: with one, the accuracy depended on the initial weights. The network is
    trained by full-batch Adam on the binary cross-entropy, from weights drawn with
    ``seed`` (He initialisation), on torch's current thread count.

    Args:
        train_hist, test_hist: (N, P, bins) from :func:`patch_colour_histograms`.
        train_labels, test_labels: (N,) 0/1 labels (1 = bird).
        hidden: units of the hidden layer.
        epochs: full-batch Adam steps.
        lr: Adam's learning rate.
        seed: fixes the initial weights. Another thread count changes the last
            digits of the sums, so a few test scenes may change sides.

    Returns:
        The share of test scenes whose logit has the sign of their label.
    """
    h, y = _check_histograms("train", train_hist, train_labels)
    th, ty = _check_histograms("test", test_hist, test_labels)
    if th.shape[2] != h.shape[2]:
        raise ValueError(f"train has {h.shape[2]} colour bins, test has {th.shape[2]}")
    hidden, epochs = _positive_int("hidden", hidden), _positive_int("epochs", epochs)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, got {seed!r}")
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not lr > 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    mean = h.mean(axis=(0, 1))
    std = h.std(axis=(0, 1)) + 1e-3
    x = torch.from_numpy((h - mean) / std)
    tx = torch.from_numpy((th - mean) / std)
    g = torch.Generator().manual_seed(int(seed))
    bins = h.shape[2]
    w1 = torch.randn(bins, hidden, generator=g) * (2.0 / bins) ** 0.5
    w2 = torch.randn(hidden, generator=g) * (2.0 / hidden) ** 0.5
    params = [w1, torch.zeros(hidden), w2, torch.zeros(())]
    for p in params:
        p.requires_grad_(True)

    def logits(patches: torch.Tensor) -> torch.Tensor:  # (N, P, bins) -> (N,)
        w1, b1, w2, b2 = params
        scores = torch.relu(patches @ w1 + b1) @ w2
        return torch.logsumexp(scores, dim=1) + b2

    target = torch.from_numpy(y.astype(np.float32))
    opt = torch.optim.Adam(params, lr=lr)
    for _ in range(epochs):
        opt.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(logits(x), target).backward()
        opt.step()
    with torch.no_grad():
        predicted = (logits(tx) > 0).numpy().astype(np.int64)
    return float((predicted == ty).mean())
