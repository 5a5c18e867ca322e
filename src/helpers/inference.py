"""Running a model without training it: :func:`eval_mode` (every chapter from 2 on).

A ``torch.nn.Module`` behaves differently in training and in evaluation: BatchNorm
normalises with the batch's statistics and updates its running ones while training,
and uses the running ones when evaluating. Every helper that *reads* a model (a
prediction, a map, a gradient with respect to the image) runs it in eval mode and
leaves it in the mode it found it in, also when the reading fails; that bookkeeping
is written once, here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn

__all__ = ["eval_mode"]


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in eval mode for the ``with`` block; restore it afterwards.

    Each submodule gets back its own mode (a frozen backbone in eval mode under a
    head in training mode stays so), also when the block raises. Gradients are not
    touched: wrap the block in ``torch.no_grad()`` where none are needed.

    Args:
        model: any ``torch.nn.Module``.

    Yields:
        ``model`` itself, in eval mode.

    Raises:
        TypeError: if ``model`` is not an ``nn.Module``.

    >>> norm = nn.BatchNorm1d(3)
    >>> with eval_mode(norm):
    ...     norm.training
    False
    >>> norm.training
    True
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch nn.Module, got {type(model).__name__}")
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes:
            module.training = training
