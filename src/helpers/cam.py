"""Class activation maps: where an average-pooled CNN's evidence for "bird" lies.

The "avg" :class:`~helpers.models.PooledCNN` averages its grid of features f_ij (C,)
and applies a linear classifier w (C,), b. Because both steps are linear, they can be
swapped (Zhou et al. 2016):

    z = w . (1/hw) sum_ij f_ij + b = (1/hw) sum_ij (w . f_ij) + b,

so the map M_ij = w . f_ij, the *class activation map*, says how much each cell adds
to the logit: the logit is its mean plus the bias. It moves with the bird, because
the features do; but the model never weights anything by it: its pooling weights are
1/hw everywhere, for every image. Like a saliency map, it is read off the model.

A flatten -> linear readout (:class:`~helpers.models.ReadoutCNN` ``"flatten"``) splits
the same way, with a weight vector W_ij (C,) of its own at every cell:
z = sum_ij W_ij . f_ij + b. :func:`cell_contributions` gives either model's terms:
what each cell adds to the logit. The terms move with the bird; the weights W_ij do not.
"""

from __future__ import annotations

import numpy as np
import torch

from helpers.inference import eval_mode
from helpers.models import PooledCNN, ReadoutCNN

__all__ = ["class_activation_map", "cell_contributions"]


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


@torch.no_grad()
def cell_contributions(
    model: PooledCNN | ReadoutCNN, images: np.ndarray | torch.Tensor
) -> np.ndarray:
    """(N, 3, H, W) images -> (N, h, w): what each grid cell adds to the logit.

    For an "avg" PooledCNN, (w . f_ij) / hw (the class activation map over the cells'
    number); for a "flatten" ReadoutCNN, W_ij . f_ij with the readout's own weights at
    cell ij. Either way ``terms.sum(axis=(1, 2)) + bias`` is the logit.

    >>> from helpers.models import ReadoutCNN
    >>> _ = torch.manual_seed(0)
    >>> model, images = ReadoutCNN("flatten").eval(), torch.rand(2, 3, 48, 48)
    >>> terms = cell_contributions(model, images)
    >>> logits = model(images).detach().numpy()
    >>> bias = model.classifier.bias.item()
    >>> bool(np.allclose(terms.sum(axis=(1, 2)) + bias, logits, atol=1e-5))
    True
    """
    if isinstance(model, PooledCNN) and model.pool == "avg":
        cam = class_activation_map(model, images)
        return cam / (cam.shape[1] * cam.shape[2])
    if not isinstance(model, ReadoutCNN) or model.readout != "flatten":
        raise TypeError(
            'model must be a helpers.models.PooledCNN("avg") or ReadoutCNN("flatten")'
        )
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(np.ascontiguousarray(images))
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] != 3:
        raise ValueError("images must be float images of shape (N, 3, H, W)")
    with eval_mode(model):
        dev = next(model.parameters()).device
        f = model.backbone(images.to(dev))  # (N, C, h, w)
        if tuple(f.shape[-2:]) != model.grid:
            raise ValueError(f"images give a {tuple(f.shape[-2:])} grid, not {model.grid}")
        weights = model.classifier.weight[0].view(f.shape[1:])  # (C, h, w)
        terms = (f * weights).sum(dim=1)
    return terms.cpu().numpy()
