"""A tiny reverse-mode autograd on numpy arrays: backpropagation, written out.

A :class:`Tensor` holds a numpy array ``data``. Every operation on tensors returns a new
tensor that remembers its inputs (``_prev``), the name of the operation (``_op``) and a
small function (``_backward``) that turns the gradient of the loss with respect to the
output into one gradient per input: the *local* chain rule, e.g. for ``out = a * b``::

    dL/da = dL/dout * b        dL/db = dL/dout * a

``loss.backward()`` visits the graph once, outputs before inputs (a reverse topological
order), and applies these local rules; every tensor that was used ends up with
``.grad = dL/d(tensor)``, an array of the same shape as its ``.data``. That is all
backpropagation is (Rumelhart et al. 1986): the chain rule, organised so that each
gradient is computed once. It does not change any weight: that is the optimiser's job
(see :mod:`helpers.optim`).

Two details every array autograd needs:

* **Broadcasting.** ``(3, 4) + (4,)`` uses the bias once per row, so its gradient is the
  sum of the row gradients; :func:`_unbroadcast` sums a gradient back to the shape of
  the operand it belongs to.
* **Reuse.** A tensor used twice (``x * x``, ``a + a``) receives the *sum* of the
  gradients from both uses.

Conventions: data is always stored as float64 (ints and bools are converted, the input is
copied). Gradients *accumulate* over ``backward()`` calls, like in PyTorch: reset them
with :meth:`Tensor.zero_grad` (or :meth:`helpers.optim.SGD.zero_grad`). ``log`` of a
non-positive number raises a ``ValueError``; other ops follow numpy (``exp`` of a huge
number is ``inf``, ``x ** 0.5`` of a negative number is ``nan``).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["Tensor", "topological_order"]

Axis = int | tuple[int, ...] | None


def _to_array(data: Any) -> np.ndarray:
    """A float64 copy of ``data``, or a TypeError saying what was expected."""
    if isinstance(data, Tensor):
        data = data.data
    try:
        arr = np.array(data)
    except (ValueError, TypeError, RuntimeError):  # ragged lists, torch tensors w/ grad
        arr = np.array(None)
    if arr.dtype.kind not in "biuf":
        kind = type(data)
        where = "" if kind.__module__ == "builtins" else kind.__module__ + "."
        raise TypeError(
            "a Tensor holds numbers: expected a number, a (nested) list of numbers or a "
            f"numpy array of bools/ints/floats, got {where}{kind.__name__} "
            f"(numpy dtype {arr.dtype})"
        )
    return arr.astype(np.float64)


def _unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` (the shape of a broadcast result) back to an operand's ``shape``.

    Broadcasting copies an operand along the axes numpy added in front and along its
    axes of length 1; each copy passes on its gradient, so the operand's gradient is the
    sum over those axes. E.g. a bias (4,) added to (3, 4): sum the (3, 4) gradient over
    axis 0; a column (3, 1) times a row (1, 4): sum over axis 1 and over axis 0.
    """
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
    ones = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=ones, keepdims=True).reshape(shape)


def _expand(grad: np.ndarray, shape: tuple[int, ...], axis: Axis, keepdims: bool):
    """Spread the gradient of a sum over ``axis`` back over the summed entries."""
    if axis is not None and not keepdims:
        grad = np.expand_dims(grad, axis)
    return np.broadcast_to(grad, shape)


class Tensor:
    """A numpy array that records how it was computed, so it can be differentiated.

    Args:
        data: a number, a (nested) list of numbers or a numpy array; stored as a float64
            copy in ``.data``.
        name: an optional label, shown by ``repr`` and handy when printing a graph.

    A tensor computed by an operation also records the graph that :meth:`backward`
    walks: ``_prev``, the tensors it was computed from (empty for a leaf), and ``_op``,
    the operation that produced it (``"+"``, ``"@"``, ``"exp"``, ...; ``""`` for a
    leaf).

    >>> a, b = Tensor(2.0, "a"), Tensor(3.0, "b")
    >>> loss = a * b + a  # L = ab + a
    >>> loss
    Tensor(8, grad=0, op='+')
    >>> loss.backward()  # dL/da = b + 1, dL/db = a
    >>> a.grad.item(), b.grad.item()
    (4.0, 2.0)
    """

    __array_ufunc__ = None  # make numpy defer: `array * tensor` calls Tensor.__rmul__

    def __init__(self, data: Any, name: str = "", *, _prev=(), _op: str = "") -> None:
        self.data = _to_array(data)
        """The values, a float64 array of any shape (``()`` for a scalar)."""
        self.grad = np.zeros_like(self.data)
        """``dL/d(data)`` after ``L.backward()``, an array of the shape of ``data``.

        Zeros before any backward call; gradients accumulate over backward calls until
        :meth:`zero_grad`, as in PyTorch.
        """
        self.name = name
        """An optional label (``""`` for none), shown by ``repr``."""
        self._prev: tuple[Tensor, ...] = tuple(_prev)
        self._op = _op
        self._backward: Callable[[np.ndarray], tuple[np.ndarray, ...]] = lambda g: ()

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of ``data`` (and of ``grad``), e.g. ``(N, D)``; ``()`` for a scalar."""
        return self.data.shape

    def item(self) -> float:
        """The value of a one-element tensor as a Python float."""
        return float(self.data.item())

    def __repr__(self) -> str:
        if self.data.size == 1:
            body = f"{self.item():.4g}, grad={float(self.grad.item()):.4g}"
        else:
            body = f"shape={self.shape}"
        extra = "".join(
            f", {k}={v!r}" for k, v in (("op", self._op), ("name", self.name)) if v
        )
        return f"Tensor({body}{extra})"

    def _child(self, data: np.ndarray, parents: tuple[Tensor, ...], op: str, backward):
        out = Tensor(data, _prev=parents, _op=op)
        out._backward = backward
        return out

    # -- binary ops: out = f(a, b), broadcasting like numpy ---------------------------
    def _pair(self, other: Any, op: str) -> Tensor:
        other = other if isinstance(other, Tensor) else Tensor(other)
        try:
            np.broadcast_shapes(self.shape, other.shape)
        except ValueError:
            raise ValueError(
                f"cannot broadcast shapes {self.shape} and {other.shape} for '{op}'"
            ) from None
        return other

    def __add__(self, other: Any) -> Tensor:
        b = self._pair(other, "+")
        return self._child(self.data + b.data, (self, b), "+", lambda g: (g, g))

    def __sub__(self, other: Any) -> Tensor:
        b = self._pair(other, "-")
        return self._child(self.data - b.data, (self, b), "-", lambda g: (g, -g))

    def __mul__(self, other: Any) -> Tensor:
        b = self._pair(other, "*")
        return self._child(
            self.data * b.data, (self, b), "*", lambda g: (g * b.data, g * self.data)
        )

    def __truediv__(self, other: Any) -> Tensor:
        b = self._pair(other, "/")
        a = self.data
        return self._child(
            a / b.data, (self, b), "/", lambda g: (g / b.data, -g * a / b.data**2)
        )

    def __pow__(self, c: Any) -> Tensor:
        """``x ** c`` for a constant number c: d/dx = c * x ** (c - 1)."""
        if isinstance(c, bool) or not isinstance(c, numbers.Real):
            raise TypeError(
                f"the exponent must be a constant number, got {type(c).__name__}; "
                "for a tensor exponent y write (y * x.log()).exp()"
            )
        x, c = self.data, float(c)
        if c == 0:  # x ** 0 = 1 is constant, also at x = 0 (where x ** -1 is inf)
            return self._child(x**c, (self,), "**0", lambda g: (np.zeros_like(g),))
        return self._child(x**c, (self,), f"**{c:g}", lambda g: (g * c * x ** (c - 1),))

    def __matmul__(self, other: Any) -> Tensor:
        """Matrix product of 1-D/2-D tensors: (m, n) @ (n, p), (m, n) @ (n,), (n,) @ (n, p),
        (n,) @ (n,). A vector is treated as a (1, n) row on the left and as an (n, 1)
        column on the right; then dL/dA = G @ B^T and dL/dB = A^T @ G.
        """
        b = other if isinstance(other, Tensor) else Tensor(other)
        sa, sb = self.shape, b.shape
        if not (1 <= len(sa) <= 2 and 1 <= len(sb) <= 2):
            raise ValueError(f"@ takes 1-D or 2-D tensors, got shapes {sa} and {sb}")
        if sa[-1] != sb[0]:
            raise ValueError(
                f"cannot multiply shapes {sa} @ {sb}: inner dimensions {sa[-1]} and "
                f"{sb[0]} differ"
            )
        a2, b2 = self.data.reshape(-1, sa[-1]), b.data.reshape(sb[0], -1)

        def backward(g: np.ndarray) -> tuple[np.ndarray, ...]:
            g2 = g.reshape(a2.shape[0], b2.shape[1])
            return (g2 @ b2.T).reshape(sa), (a2.T @ g2).reshape(sb)

        return self._child(self.data @ b.data, (self, b), "@", backward)

    # -- reflected ops: 2 * t, 1 - t, 1 / t, array @ t --------------------------------
    __radd__ = __add__
    __rmul__ = __mul__

    def __rsub__(self, other: Any) -> Tensor:
        return Tensor(other) - self

    def __rtruediv__(self, other: Any) -> Tensor:
        return Tensor(other) / self

    def __rmatmul__(self, other: Any) -> Tensor:
        return Tensor(other) @ self

    def __rpow__(self, other: Any) -> Tensor:
        raise TypeError("c ** tensor is not supported; write (tensor * math.log(c)).exp()")

    def __neg__(self) -> Tensor:
        return self._child(-self.data, (self,), "neg", lambda g: (-g,))

    # -- elementwise functions -----------------------------------------------------
    def exp(self) -> Tensor:
        """e^x elementwise, the same shape; d/dx = e^x (overflows to ``inf`` like numpy)."""
        e = np.exp(self.data)
        return self._child(e, (self,), "exp", lambda g: (g * e,))

    def log(self) -> Tensor:
        """Natural log; raises ValueError unless every entry is > 0 (d/dx = 1/x)."""
        if np.any(self.data <= 0):
            raise ValueError(
                f"log needs positive inputs, got a minimum of {self.data.min()} (a "
                "sigmoid saturated to exactly 0 or 1? keep the logits moderate)"
            )
        x = self.data
        return self._child(np.log(x), (self,), "log", lambda g: (g / x,))

    def tanh(self) -> Tensor:
        """tanh(x) elementwise, in (-1, 1), the same shape; d/dx = 1 - tanh(x)^2."""
        t = np.tanh(self.data)
        return self._child(t, (self,), "tanh", lambda g: (g * (1 - t**2),))

    def sigmoid(self) -> Tensor:
        """1 / (1 + e^-x), computed from ``exp(-abs(x))`` so no exp ever overflows;
        d/dx = s (1 - s)."""
        e = np.exp(-np.abs(self.data))
        s = np.where(self.data >= 0, 1 / (1 + e), e / (1 + e))
        return self._child(s, (self,), "sigmoid", lambda g: (g * s * (1 - s),))

    def relu(self) -> Tensor:
        """max(x, 0); its gradient is 1 where x > 0 and 0 elsewhere (0 at x = 0)."""
        x = self.data
        return self._child(np.maximum(x, 0), (self,), "relu", lambda g: (g * (x > 0),))

    # -- reductions ----------------------------------------------------------------
    def _reduce(self, how: str, axis: Axis, keepdims: bool) -> Tensor:
        try:
            out = getattr(self.data, how)(axis=axis, keepdims=keepdims)
        except (ValueError, TypeError):  # numpy's AxisError is a ValueError
            raise ValueError(
                f"axis {axis!r} does not fit a tensor of shape {self.shape}"
            ) from None
        n = self.data.size / max(out.size, 1) if how == "mean" else 1.0
        return self._child(
            out, (self,), how, lambda g: (_expand(g, self.shape, axis, keepdims) / n,)
        )

    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Sum over ``axis`` (all axes by default), like ``numpy.sum``."""
        return self._reduce("sum", axis, keepdims)

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Mean over ``axis`` (all axes by default), like ``numpy.mean``."""
        return self._reduce("mean", axis, keepdims)

    # -- backpropagation -----------------------------------------------------------
    def zero_grad(self) -> None:
        """Reset this tensor's gradient to zeros."""
        self.grad = np.zeros_like(self.data)

    def backward(self, grad: Any = None) -> None:
        """Add dL/d(t) to ``t.grad`` for every tensor t this one was computed from.

        ``L`` is this tensor when it holds one number; otherwise pass ``grad``, an array
        of this tensor's shape holding dL/d(this tensor). Each node's local rule runs once,
        in reverse topological order, on the gradient of this call only.

        >>> w = Tensor([1.0, 2.0])
        >>> (w * w).backward(grad=[1.0, 1.0])  # d(w * w)/dw = 2w
        >>> w.grad
        array([2., 4.])
        """
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward() without a gradient needs a one-element tensor; this one "
                    f"has shape {self.shape}: pass grad=, an array of shape {self.shape}"
                )
            grad = np.ones_like(self.data)
        grad = _to_array(grad)
        if grad.shape != self.shape:
            raise ValueError(f"grad must have shape {self.shape}, got {grad.shape}")
        grads = {id(self): grad}  # dL/d(node) for this call, filled outputs first
        for node in reversed(topological_order(self)):
            g = grads.pop(id(node))
            node.grad = node.grad + g
            for parent, pg in zip(node._prev, node._backward(g), strict=True):
                pg = _unbroadcast(pg, parent.shape)
                grads[id(parent)] = grads[id(parent)] + pg if id(parent) in grads else pg


def topological_order(root: Tensor) -> list[Tensor]:
    """Every tensor ``root`` depends on, each once, inputs before outputs (root last).

    Handy to print or draw a graph: ``for t in topological_order(loss): print(t._op,
    t.shape, [p.shape for p in t._prev])``.

    >>> x = Tensor(3.0, "x")
    >>> [t._op or t.name for t in topological_order((x * x).exp())]
    ['x', '*', 'exp']
    """
    if not isinstance(root, Tensor):
        raise TypeError(f"expected a Tensor, got {type(root).__name__}")
    order: list[Tensor] = []
    seen: set[int] = set()
    stack = [(root, False)]
    while stack:  # depth-first, without recursion (graphs can be deep)
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in node._prev)
    return order
