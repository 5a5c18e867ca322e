"""Chapter 1's model: logistic regression on pixels, trained by hand-written SGD.

One weight per pixel and colour channel, one bias::

    z = x . w + b                  the logit of "bird", x the flattened image (D,)
    p = sigmoid(z)                 the predicted probability
    L = mean over the batch of  -[y log p + (1 - y) log(1 - p)]

Since 1 - sigmoid(z) = sigmoid(-z), the loss is computed as
``-[y log sigmoid(z) + (1 - y) log sigmoid(-z)]``: the same number, but ``1 - p`` is
never computed by a subtraction that rounds to 0 when p is close to 1.
Training is plain minibatch SGD (:mod:`helpers.optim`); the weights it learns are
*parameters*: one fixed map over the image, applied to every image alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from helpers.autograd import Tensor
from helpers.optim import SGD, minibatches
from helpers.scenes import Scenes, make_scenes

__all__ = [
    "CENTRED",
    "centred_scenes",
    "features",
    "bce_with_logits",
    "logistic_loss",
    "Run",
    "train_logistic",
    "loss_at",
    "predict",
    "pixel_side",
    "weight_map",
]

CENTRED = {
    "size": 24,
    "region": (0.42, 0.58, 0.42, 0.58),
    "distractors": (0, 2),
    "bird_size": (0.5, 0.7),
}
"""Settings of chapter 1's scenes (24x24 pixels, a large bird near the centre, little
clutter)."""


def centred_scenes(n: int, *, seed: int, **changes) -> Scenes:
    """``n`` scenes of :data:`CENTRED`.

    Any of its settings can be overridden by ``changes``, e.g. ``region=(0, 1, 0, 1)``
    for birds anywhere.
    """
    return make_scenes(n, **{**CENTRED, **changes}, seed=seed)


def features(images: np.ndarray) -> np.ndarray:
    """Images (N, 3, H, W) -> one row of D = 3 H W pixel values per image, float64."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must have shape (N, 3, H, W), got {images.shape}")
    if images.dtype.kind != "f":
        raise TypeError(f"images must be floats in [0, 1], got dtype {images.dtype}")
    return images.reshape(len(images), -1).astype(np.float64)


def bce_with_logits(z: Tensor, y: np.ndarray) -> Tensor:
    """Mean binary cross-entropy of logits z (N,) against 0/1 labels y (N,).

    Returns the scalar Tensor mean(-[y log sigmoid(z) + (1 - y) log sigmoid(-z)]).
    Both logs are taken for every example, so a logit beyond about +-745 (where a
    sigmoid underflows to exactly 0) raises the ValueError of ``Tensor.log``.
    """
    y = np.asarray(y, dtype=np.float64)
    if not isinstance(z, Tensor) or z.shape != y.shape or z.data.ndim != 1:
        raise ValueError(
            f"z must be a 1-D Tensor of logits and y 0/1 labels of the same shape; got "
            f"{getattr(z, 'shape', type(z).__name__)} and {y.shape}"
        )
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y must hold 0/1 labels")
    return -(y * z.sigmoid().log() + (1 - y) * (-z).sigmoid().log()).mean()


def logistic_loss(w: Tensor, b: Tensor, X: np.ndarray, y: np.ndarray) -> Tensor:
    """The loss of weights w (D,) and bias b () on rows X (N, D) with labels y (N,)."""
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != w.shape[0]:
        raise ValueError(f"X must have shape (N, {w.shape[0]}), got {X.shape}")
    return bce_with_logits(X @ w + b, y)


@dataclass
class Run:
    """One training run: final weights, the loss of every step, snapshots of w."""

    w: np.ndarray
    """The final weights (D,), one per pixel value (D = 3 H W, see :func:`features`)."""
    b: float
    """The final bias."""
    losses: np.ndarray
    """The minibatch loss (mean cross-entropy) of every SGD step, (steps,)."""
    lr: float
    """The learning rate the run used."""
    batch_size: int
    """The scenes per minibatch the run used."""
    snapshots: dict[int, tuple[np.ndarray, float]] = field(default_factory=dict)
    """``{step: (w, b)}``, copies of the weights (D,) and bias after that many steps.

    :func:`train_logistic` always keeps step 0 (the initial zeros) and the last step,
    and the steps in between that its ``snapshot_every`` and ``snapshot_steps`` ask for.
    """

    def steps_per_epoch(self, n: int) -> int:
        """The SGD steps in one epoch over ``n`` scenes, ``ceil(n / batch_size)``."""
        return -(-n // self.batch_size)


def train_logistic(
    X: np.ndarray,
    y: np.ndarray,
    *,
    lr: float,
    batch_size: int,
    epochs: int,
    seed: int = 0,
    snapshot_every: int | None = None,
    snapshot_steps: Sequence[int] = (),
    progress: bool = True,
) -> Run:
    """Logistic regression from w = 0, b = 0 by minibatch SGD with ``helpers.autograd``.

    Epoch e visits the rows in the order ``minibatches(N, batch_size, seed=seed + e)``.

    Args:
        X: (N, D) inputs.
        y: (N,) 0/1 labels.
        lr: SGD's learning rate.
        batch_size: scenes per minibatch.
        epochs: passes over the data.
        seed: epoch e visits the rows in the order of seed + e.
        snapshot_every: keep a copy of (w, b) every this many steps (and after the
            last).
        snapshot_steps: also keep one after each of these steps (e.g. 10, 20, 40, ...
            to watch the first steps closely).
        progress: show a tqdm progress bar.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or len(X) != len(y):
        raise ValueError(
            f"X must be (N, D) with one row per label; got {X.shape}, {len(y)}"
        )
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    w, b = Tensor(np.zeros(X.shape[1]), "w"), Tensor(0.0, "b")
    opt = SGD([w, b], lr)
    y = np.asarray(y)
    losses: list[float] = []
    snapshots = {0: (w.data.copy(), b.item())}
    steps = -(-len(X) // batch_size) * epochs
    with tqdm(
        total=steps, desc=f"SGD lr={lr:g} batch={batch_size}", disable=not progress
    ) as bar:
        for epoch in range(epochs):
            for idx in minibatches(len(X), batch_size, seed=seed + epoch):
                loss = logistic_loss(w, b, X[idx], y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss.item())
                if (snapshot_every and len(losses) % snapshot_every == 0) or len(
                    losses
                ) in snapshot_steps:
                    snapshots[len(losses)] = (w.data.copy(), b.item())
                bar.update(1)
    snapshots[len(losses)] = (w.data.copy(), b.item())
    return Run(w.data.copy(), b.item(), np.array(losses), float(lr), batch_size, snapshots)


def loss_at(run: Run, step: int, X: np.ndarray, y: np.ndarray) -> float:
    """The loss on all of X (N, D), y (N,) of the weights saved after ``step`` steps."""
    if step not in run.snapshots:
        raise ValueError(f"step must be one of the snapshots {sorted(run.snapshots)}")
    w, b = run.snapshots[step]
    return logistic_loss(Tensor(w), Tensor(b), X, y).item()


def predict(run: Run, X: np.ndarray) -> np.ndarray:
    """0/1 predictions (N,) of a trained run for rows X (N, D): 1 where z > 0."""
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != run.w.shape[0]:
        raise ValueError(f"X must have shape (N, {run.w.shape[0]}), got {X.shape}")
    return (X @ run.w + run.b > 0).astype(np.int64)


def pixel_side(d: int) -> int:
    """The side H of a square image with ``d`` = 3 H H pixel values.

    >>> pixel_side(3 * 24 * 24)
    24
    """
    side = int(round(np.sqrt(d / 3)))
    if 3 * side * side != d:
        raise ValueError(f"weights must hold 3 H W values of a square image, got {d}")
    return side


def weight_map(w: np.ndarray) -> np.ndarray:
    """Weights (3 H W,) -> (H, W): each pixel's weights summed over R, G, B.

    That is how much brightening the pixel in grey moves the logit.

    >>> weight_map(np.arange(12.0))
    array([[12., 15.],
           [18., 21.]])
    """
    w = np.asarray(w, dtype=np.float64)
    if w.ndim != 1:
        raise ValueError(f"w must be a vector (3 H W,), got shape {w.shape}")
    side = pixel_side(w.size)
    return w.reshape(3, side, side).sum(0)
