"""The left-half -> right-half test that chapters 4, 5 and 6 share.

Models train on scenes whose birds all lie in the left half (:data:`LEFT`) and are
tested on birds in each half: where no training bird was (:data:`RIGHT`), a weight
fixed to positions has never been trained. :func:`position_data` makes the three sets
of cluttered scenes (:data:`CLUTTER`); :func:`recall_by_position` says how often a
model finds the bird by where the bird is across the image.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from helpers.scenes import Scenes, make_scenes
from helpers.train import predict_logits

__all__ = ["LEFT", "RIGHT", "CLUTTER", "position_data", "recall_by_position"]

LEFT = (0.0, 1.0, 0.0, 0.5)
"""The left half of the image, as a ``region`` of :func:`helpers.scenes.make_scenes`.

:func:`position_data` puts the training birds there, and one test set's birds."""
RIGHT = (0.0, 1.0, 0.5, 1.0)
"""The right half of the image, a ``region`` like :data:`LEFT`.

:func:`position_data` puts the other test set's birds there, where no training bird was."""
CLUTTER = (2, 6)
"""Distractors per scene, 2 to 6, so that every scene is cluttered."""


def position_data(
    seed: int, n_train: int = 6000, n_test: int = 2000, *, main: bool = True
) -> dict[str, Scenes]:
    """Training scenes with birds in the left half; test scenes in each half.

    The three sets use different seeds derived from ``seed``: no test scene is a
    training scene. ``main=False``: the same scenes without their birds and decoys
    (:func:`helpers.scenes.make_scenes`).
    """
    return {
        "train": make_scenes(
            n_train, region=LEFT, distractors=CLUTTER, seed=1000 * seed + 1, main=main
        ),
        "left": make_scenes(
            n_test, region=LEFT, distractors=CLUTTER, seed=1000 * seed + 2, main=main
        ),
        "right": make_scenes(
            n_test, region=RIGHT, distractors=CLUTTER, seed=1000 * seed + 3, main=main
        ),
    }


@torch.no_grad()
def recall_by_position(
    models: Mapping[str, torch.nn.Module], scenes: Scenes, bins: int = 8
) -> dict[str, Any]:
    """How often each model finds the bird, by where the bird is across the image.

    ``models`` map images to bird logits (chapter 4's heads, chapter 5's vision
    transformers, ...).

    The bird scenes are binned by the bird's horizontal centre (``bins`` equal bins
    from the leftmost to the rightmost centre: a bird never sits at the very edge);
    for each head, the share of each bin's birds it calls a bird.

    Returns:
        ``{"edges": (bins + 1,), "counts": (bins,), "recall": {name: (bins,)}}``,
        NaN where a bin holds no bird.
    """
    if not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins must be a positive int, got {bins!r}")
    bird = scenes.labels == 1
    if not bird.any():
        raise ValueError("recall_by_position needs scenes holding birds")
    x = scenes.centers[bird, 1]
    edges = np.linspace(x.min(), x.max(), bins + 1)
    which = np.clip(np.digitize(x, edges) - 1, 0, bins - 1)
    counts = np.bincount(which, minlength=bins)
    images = torch.from_numpy(scenes.images[bird])
    found = {name: predict_logits(m, images) for name, m in models.items()}
    recall = {}
    for name, logits in found.items():
        hits = np.bincount(which, weights=(logits > 0).astype(float), minlength=bins)
        with np.errstate(invalid="ignore", divide="ignore"):
            recall[name] = np.where(counts > 0, hits / np.maximum(counts, 1), np.nan)
    return {"edges": edges, "counts": counts, "recall": recall}
