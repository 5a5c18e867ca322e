"""Minibatch stochastic gradient descent, written out.

Backpropagation and gradient descent are two different steps, often confused:

* **backprop** (``loss.backward()``, :mod:`helpers.autograd`) *computes* the gradient
  dL/dw of the loss with respect to every weight w. It changes no weight.
* **gradient descent** (:meth:`SGD.step`) *uses* it: every weight takes a small step
  downhill, against its gradient::

      w  <-  w - lr * dL/dw

  with the learning rate ``lr > 0`` setting the step size.

*Stochastic* gradient descent (Robbins & Monro 1951) computes L on a small random
*minibatch* of examples instead of the whole training set: each gradient is a noisy but
cheap estimate of the full one, so the model takes many small steps per pass over the
data (an *epoch*). :func:`minibatches` deals out those random batches. A training loop::

    opt = SGD([w, b], lr=0.1)
    for epoch in range(epochs):
        for idx in minibatches(len(X), 32, seed=epoch):
            loss = loss_fn(X[idx], y[idx], w, b)   # forward: build the graph
            opt.zero_grad()                        # gradients accumulate: reset them
            loss.backward()                        # backprop: dL/dw into w.grad
            opt.step()                             # SGD: w <- w - lr * w.grad

This is what ``torch.optim.SGD`` does without momentum or weight decay; the tests check
that both give the same weights, step by step.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Iterator

import numpy as np

from helpers.autograd import Tensor

__all__ = ["SGD", "minibatches"]


class SGD:
    """Plain (minibatch) stochastic gradient descent on :class:`~helpers.autograd.Tensor`.

    Args:
        params: the tensors to train (e.g. ``[w, b]``); each is updated in place.
        lr: the learning rate, a positive number. ``opt.lr`` may be changed between
            steps (a learning-rate schedule).

    Raises:
        TypeError: a parameter that is not a Tensor, an lr that is not a number.
        ValueError: no parameters, a parameter listed twice, an lr that is not > 0.

    One step on L = w^2 from w = 1, where dL/dw = 2w = 2:

    >>> w = Tensor(1.0, "w")
    >>> opt = SGD([w], lr=0.1)
    >>> opt.zero_grad()
    >>> (w * w).backward()
    >>> opt.step()
    >>> round(w.item(), 4)  # 1 - 0.1 * 2
    0.8
    """

    def __init__(self, params: Iterable[Tensor], lr: float) -> None:
        self.params = list(params)
        """The tensors trained, in the order given; :meth:`step` updates each in place."""
        if not self.params:
            raise ValueError("SGD needs at least one parameter to train, got none")
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"SGD trains helpers.autograd.Tensor objects; parameter {i} is a "
                    f"{type(p).__name__}"
                )
            if any(p is q for q in self.params[:i]):
                raise ValueError(f"parameter {i} is listed twice: it would move twice")
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real):
            raise TypeError(f"lr must be a positive number, got {lr!r}")
        if not (lr > 0 and math.isfinite(lr)):
            raise ValueError(f"lr must be a positive number, got {lr}")
        self.lr = float(lr)
        """The learning rate, the step size in ``p.data -= lr * p.grad``.

        A positive float; it may be changed between steps (a learning-rate schedule).
        """

    def step(self) -> None:
        """Move every parameter against its gradient: ``p.data -= lr * p.grad``.

        Uses the gradients that ``loss.backward()`` left in ``p.grad``; does not reset them.
        The update is in place, so build a new graph (a new forward pass) after a step:
        an old graph's ``backward()`` would read the updated values.
        """
        for p in self.params:
            p.data -= self.lr * p.grad

    def zero_grad(self) -> None:
        """Reset every parameter's gradient to zeros (call it before ``backward()``)."""
        for p in self.params:
            p.zero_grad()

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr:g}, params={[p.shape for p in self.params]})"


def minibatches(n: int, batch_size: int, *, seed: int) -> Iterator[np.ndarray]:
    """The index arrays of one shuffled epoch over ``n`` examples.

    Shuffles ``0 .. n-1`` with ``numpy.random.default_rng(seed)`` and cuts the order into
    consecutive batches: every index appears exactly once, each batch holds
    ``batch_size`` indices except the last, which holds the remaining ``n % batch_size``
    when that is not 0. ``batch_size >= n`` gives one batch with every example (full-batch
    gradient descent). Same seed, same batches; use a new seed per epoch (e.g.
    ``seed=epoch``) for a new order.

    Args:
        n: number of examples, an int >= 1.
        batch_size: examples per batch, an int >= 1.
        seed: a non-negative int.

    Returns:
        An iterator of int64 arrays of shape (batch_size,) (the last may be shorter);
        index your data with them: ``X[idx], y[idx]``.

    >>> batches = list(minibatches(10, 4, seed=0))
    >>> [len(idx) for idx in batches]
    [4, 4, 2]
    >>> sorted(np.concatenate(batches).tolist()) == list(range(10))
    True
    """
    for name, value, low in (("n", n, 1), ("batch_size", batch_size, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be an int >= {low}, got {value!r}")
        if value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value}")
    order = np.random.default_rng(int(seed)).permutation(int(n))
    return (order[i : i + batch_size] for i in range(0, int(n), int(batch_size)))
