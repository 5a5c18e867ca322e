"""Class activation maps: where an average-pooled CNN's evidence for "bird" lies.

The "avg" :class:`~helpers.models.PooledCNN` averages its grid of features f_ij (C,)
and applies a linear classifier w (C,), b. Because both steps are linear, they can be
swapped (Zhou et al. 2016):

    z = w . (1/hw) sum_ij f_ij + b = (1/hw) sum_ij (w . f_ij) + b,

so the map M_ij = w . f_ij, the *class activation map*, says how much each cell adds
to the logit: the logit is its mean plus the bias. It moves with the bird, because
the features do; but the model never weights anything by it: its pooling weights are
1/hw everywhere, for every image. Like a saliency map, it is read off the model.
"""

from __future__ import annotations

import numpy as np
import torch

from helpers.inference import eval_mode
from helpers.models import PooledCNN

__all__ = ["class_activation_map"]


@torch.no_grad()
def class_activation_map(model: PooledCNN, images: np.ndarray | torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) images -> (N, h, w) maps M_ij = w . f_ij of an "avg" PooledCNN.

    ``M.mean(axis=(1, 2)) + bias`` equals the model's logits (checked in the tests).

    >>> from helpers.models import PooledCNN
    >>> _ = torch.manual_seed(0)
    >>> model, images = PooledCNN("avg").eval(), torch.rand(2, 3, 48, 48)
    >>> maps = class_activation_map(model, images)
    >>> maps.shape  # a 6x6 grid of cells per image
    (2, 6, 6)
    >>> logits = model(images).detach().numpy()
    >>> bias = model.classifier.bias.item()
    >>> bool(np.allclose(maps.mean(axis=(1, 2)) + bias, logits))
    True
    """
    if not isinstance(model, PooledCNN) or model.pool != "avg":
        raise TypeError('model must be a helpers.models.PooledCNN("avg")')
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(np.ascontiguousarray(images))
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a numpy array or torch tensor, got {type(images)}")
    with eval_mode(model):
        dev = next(model.parameters()).device
        f = model._features(images.to(dev))  # (N, C, h, w), checked
        w = model.classifier.weight[0]  # (C,)
        maps = torch.einsum("c,nchw->nhw", w, f)
    return maps.cpu().numpy()
