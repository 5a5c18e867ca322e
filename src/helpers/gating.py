"""Weights computed from the input without attention's softmax: gates.

Attention is one member of a family: weights computed from the input by learned
parameters, then multiplied in. Two other members on chapter 4's features, each
differing from attention pooling in one thing (chapter 6 measures them side by side):

- ``"cells"``, a **sigmoid gate** per cell: the same scores as attention pooling (a
  learned query against each cell's key), but each squashed on its own,
  g_i = sigmoid(q . k_i / sqrt(d)) in (0, 1), instead of a softmax over the cells.
  Nothing makes the cells compete: the gates need not sum to 1, and a cell can be
  switched on without switching another off. pooled = (1 / hw) sum_i g_i v_i.
- ``"channels"``, **squeeze-and-excitation** (Hu et al. 2018): one gate per channel
  computed from the average feature, s = sigmoid(W2 relu(W1 mean_i f_i)), and the
  gated features averaged over the cells, pooled = s * mean_i f_i. Its weights are
  computed from the input, but they weigh channels, not positions: every cell still
  counts 1 / hw.

:func:`gates_on_backbone` trains both, and a fresh attention-pooling head, on a frozen
copy of a trained backbone (the comparison "same features, only the weighting
differs"), and measures them on chapter 4's left-half -> right-half test.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import torch
from torch import nn

from helpers.comparators import measure_readouts
from helpers.inference import eval_mode
from helpers.left_right import position_data
from helpers.metrics import flat_mass, region_cells
from helpers.models import Backbone, PooledCNN
from helpers.scenes import Scenes
from helpers.train import fit

__all__ = ["GATES", "GatedCNN", "gate_share", "GATED_HEADS", "gates_on_backbone"]

GATES = ("cells", "channels")
"""What a :class:`GatedCNN` gates: each grid cell (a sigmoid of attention's scores) or
each channel (squeeze-and-excitation)."""


class GatedCNN(nn.Module):
    """Backbone + a gated average + linear classifier: N images -> N bird logits.

    ``"cells"``: scores s_i = q . k_i / sqrt(d) over the h w cells (k_i = K f_i, a
    1x1 convolution to d = ``key_dim`` numbers, q a learned query), gates g_i =
    sigmoid(s_i), values v_i = V f_i, pooled = (1 / hw) sum_i g_i v_i: attention
    pooling with the softmax over the cells replaced by a sigmoid per cell.

    ``"channels"``: m = mean_i f_i (C), s = sigmoid(W2 relu(W1 m)) (C, through C / 4
    hidden units), pooled = s * m: squeeze-and-excitation, then average pooling.

    Args:
        gate: ``"cells"`` or ``"channels"``.
        size: image height and width (48); fixes the grid (size / 8).
        backbone: a :class:`~helpers.models.Backbone` to share (one is built
            otherwise).
        key_dim: ``"cells"`` only: the dimension of the query and keys.
    """

    def __init__(
        self,
        gate: str = "cells",
        *,
        size: int = 48,
        backbone: Backbone | None = None,
        key_dim: int = 32,
    ):
        super().__init__()
        if gate not in GATES:
            raise ValueError(f"gate must be one of {GATES}, got {gate!r}")
        self.gate = gate
        """What is gated, one of :data:`GATES`."""
        self.backbone = backbone if backbone is not None else Backbone()
        """The :class:`~helpers.models.Backbone`: images -> (N, C, h, w) features."""
        self.grid = self.backbone.grid_for(size)
        """(h, w), the grid of cells ((6, 6) for 48x48 images)."""
        c = self.backbone.out_channels
        if gate == "cells":
            self.key = nn.Conv2d(c, key_dim, 1)
            self.value = nn.Conv2d(c, c, 1)
            self.query = nn.Parameter(torch.randn(key_dim) / math.sqrt(key_dim))
        else:
            self.squeeze = nn.Linear(c, max(1, c // 4))
            self.excite = nn.Linear(max(1, c // 4), c)
        self.classifier = nn.Linear(c, 1)
        """Linear C -> 1, the bird logit from the pooled vector."""

    def reset_own_parameters(self) -> None:
        """Re-draw the query (the one parameter that belongs to no submodule)."""
        if self.gate == "cells":
            with torch.no_grad():
                self.query.normal_(0.0, 1.0 / math.sqrt(self.query.numel()))

    def gates_from_features(self, f: torch.Tensor) -> torch.Tensor:
        """The gates for features (N, C, h, w): (N, h, w) for ``"cells"``, (N, C) for
        ``"channels"``; each in (0, 1), none normalised."""
        if self.gate == "cells":
            keys = self.key(f).flatten(2)  # (N, d, hw)
            scores = torch.einsum("d,ndl->nl", self.query, keys) / math.sqrt(keys.shape[1])
            return torch.sigmoid(scores).view(len(f), *f.shape[2:])
        hidden = torch.relu(self.squeeze(f.mean(dim=(2, 3))))
        return torch.sigmoid(self.excite(hidden))

    def logits_from_features(self, f: torch.Tensor) -> torch.Tensor:
        """(N, 1) logits from backbone features (N, C, h, w)."""
        if tuple(f.shape[-2:]) != self.grid:
            raise ValueError(
                f"features of a {tuple(f.shape[-2:])} grid; this model was built for "
                f"{self.grid}"
            )
        g = self.gates_from_features(f)
        if self.gate == "cells":
            pooled = torch.einsum("nl,ncl->nc", g.flatten(1), self.value(f).flatten(2))
            pooled = pooled / g[0].numel()
        else:
            pooled = g * f.mean(dim=(2, 3))
        return self.classifier(pooled)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) float images -> (N,) bird logits (positive = bird)."""
        if not isinstance(images, torch.Tensor) or images.ndim != 4:
            raise ValueError("images must be a float torch tensor of shape (N, 3, H, W)")
        return self.logits_from_features(self.backbone(images))[:, 0]

    @torch.no_grad()
    def gates(self, images: torch.Tensor) -> torch.Tensor:
        """The gates for (N, 3, H, W) images, in eval mode: (N, h, w) or (N, C)."""
        if not isinstance(images, torch.Tensor) or images.ndim != 4:
            raise ValueError("images must be a float torch tensor of shape (N, 3, H, W)")
        with eval_mode(self):
            dev = next(self.parameters()).device
            return self.gates_from_features(self.backbone(images.to(dev))).cpu()

    @torch.no_grad()
    def pool_weights(self, images: torch.Tensor) -> torch.Tensor:
        """(N, h, w): the factor each cell's value is multiplied by in the pooled sum.

        ``"cells"``: g_i / hw, different for every image and *not* summing to 1;
        ``"channels"``: 1 / hw everywhere (the gates weigh channels, not cells).
        """
        if self.gate == "channels":
            n = len(images)
            return torch.full((n, *self.grid), 1.0 / (self.grid[0] * self.grid[1]))
        g = self.gates(images)
        return g / g[0].numel()


def gate_share(weights: object, masks: object) -> np.ndarray:
    """The share of each map's total weight on the bird's cells, (N,) in [0, 1]:
    sum of the weights on cells the bird touches / sum of all the weights.

    Like :func:`helpers.metrics.attention_mass`, for maps that need not sum to 1
    (gates); weights (N, h, w) non-negative, masks (N, H, W) bool.

    >>> w = np.array([[[3.0, 1.0], [0.0, 0.0]]])
    >>> float(gate_share(w, np.array([[[True, False], [False, False]]]))[0])
    0.75
    """
    w = np.asarray(weights, dtype=np.float64)
    m = np.asarray(masks)
    if w.ndim != 3 or (w < 0).any():
        raise ValueError("weights must be non-negative maps of shape (N, h, w)")
    if m.ndim != 3 or len(m) != len(w) or m.dtype != bool:
        raise ValueError(f"masks must be bool of shape ({len(w)}, H, W)")
    total = w.sum(axis=(1, 2))
    if (total <= 0).any():
        raise ValueError("each map must have some weight")
    return (w * region_cells(m, w.shape[1:])).sum(axis=(1, 2)) / total


GATED_HEADS = {
    "attention": "attention pooling (softmax)",
    "cells": "sigmoid gate per cell",
    "channels": "squeeze-and-excitation",
}
"""The heads :func:`gates_on_backbone` trains, by key: how tables name them."""


def gates_on_backbone(
    backbone: Backbone,
    seed: int,
    *,
    data: dict[str, Scenes] | None = None,
    epochs: int = 6,
    progress: bool = True,
) -> tuple[dict[str, nn.Module], dict[str, Any]]:
    """The heads of :data:`GATED_HEADS` trained together on a copy of ``backbone``,
    frozen, on left-half birds; measured in both halves.

    Only the heads learn, on the features another model's training made, so the
    comparison is "same features, only the weighting differs". ``backbone`` itself is
    not changed.

    Args:
        backbone: a trained :class:`~helpers.models.Backbone` (e.g. chapter 4's).
        seed: the scenes (:func:`helpers.left_right.position_data`), the heads'
            initial weights and the batches.
        data: the scenes of ``position_data(seed)`` when already made.
        epochs: passes over the training scenes.
        progress: show a progress bar.

    Returns:
        The trained heads and a dict with the keys ``left``, ``right``, ``share``,
        ``sum``, ``flat`` and ``seconds``: each half as
        :func:`~helpers.comparators.measure_readouts` gives it; ``share[key]`` the
        mean share of the head's weight over cells on right-half birds
        (:func:`gate_share`), ``flat`` an evenly spread map's; ``sum[key]`` the
        smallest and largest total weight over cells of one image, [min, max].
    """
    if not isinstance(backbone, Backbone):
        raise TypeError(f"backbone must be a helpers.models.Backbone, got {backbone!r}")
    data = data if data is not None else position_data(seed)
    shared = copy.deepcopy(backbone)
    heads: dict[str, nn.Module] = {
        "attention": PooledCNN("attention", backbone=shared),
        "cells": GatedCNN("cells", backbone=shared),
        "channels": GatedCNN("channels", backbone=shared),
    }
    history = fit(
        heads, data["train"], epochs=epochs, seed=seed, progress=progress, frozen=shared
    )
    right = data["right"]
    birds = right.labels == 1
    images = torch.from_numpy(right.images[birds])
    share, sums = {}, {}
    for key, model in heads.items():
        weights = model.pool_weights(images).cpu().numpy()
        share[key] = float(gate_share(weights, right.masks[birds]).mean())
        totals = weights.sum(axis=(1, 2))
        sums[key] = [float(totals.min()), float(totals.max())]
    return heads, {
        "left": measure_readouts(heads, data["left"]),
        "right": measure_readouts(heads, right),
        "share": share,
        "sum": sums,
        "flat": float(flat_mass(right.masks[birds], shared.grid_for(48)).mean()),
        "seconds": history.seconds,
    }
