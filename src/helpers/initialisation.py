"""Chapter 2: what the initial weights do to a deep plain network, layer by layer.

A layer with fan-in n and weights of mean 0 and variance s^2, fed inputs whose mean
square is v, gives pre-activations of variance n s^2 v. Through L layers the factor
compounds:

- naive, s = 0.01: n s^2 = 0.0256 for n = 256, so the standard deviation shrinks
  about 6x per layer (more with ReLU), forward (activations) and backward: the signal
  vanishes with depth;
- Glorot, s^2 = 2 / (n_in + n_out) (= 1 / n for equal widths): n s^2 = 1, right for
  tanh, which is close to the identity around 0 (Glorot & Bengio 2010);
- He, s^2 = 2 / n: n s^2 = 2, right for ReLU, which zeroes half of its inputs and so
  halves their mean square (He et al. 2015).

:func:`layer_stats` measures both directions on real scenes; :func:`sgd_losses` asks
whether a net so initialised trains under plain SGD.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from helpers.models import ACTIVATIONS, INITS, MLP
from helpers.scenes import Scenes, make_scenes

__all__ = [
    "PROBE",
    "deep_mlp",
    "probe_scenes",
    "layer_stats",
    "depth_frame",
    "sgd_losses",
    "train_at_depth",
]

DEPTH_TRAINING = {"depth": 15, "steps": 300, "lr": 0.02, "batch_size": 64, "scenes": 2000}
"""Chapter 2's deep-net training: 15 hidden layers of 256, 300 plain SGD steps of 64
scenes at learning rate 0.02, on 2,000 centred-bird scenes (``helpers.hunger``)."""

PROBE = {"n": 256, "seed": 77, "bird_size": (0.4, 0.6), "distractors": (0, 2)}
"""The scenes the statistics are measured on (:func:`probe_scenes`): 256 of them."""


def deep_mlp(
    depth: int, activation: str, init: str, *, width: int = 256, seed: int = 0
) -> MLP:
    """A plain MLP with ``depth`` hidden layers of ``width`` units, drawn from ``seed``.

    Args:
        depth: the number of hidden layers, 1 to 50.
        activation: ``"relu"`` or ``"tanh"``.
        init: ``"naive"``, ``"glorot"`` or ``"he"``.
        width: the units per hidden layer.
        seed: torch's seed for the initial weights.

    >>> model = deep_mlp(3, "tanh", "glorot", width=16)
    >>> [tuple(layer.weight.shape) for layer in model.layers]  # 6912 inputs
    [(16, 6912), (16, 16), (16, 16), (1, 16)]
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= 50:
        raise ValueError(f"depth must be an int from 1 to 50, got {depth!r}")
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be a positive int, got {width!r}")
    torch.manual_seed(seed)
    return MLP((width,) * depth, activation=activation, init=init)


@lru_cache(maxsize=1)
def probe_scenes() -> Scenes:
    """The fixed scenes of :data:`PROBE` (cached: made once per kernel)."""
    return make_scenes(**PROBE)


def layer_stats(model: MLP, scenes: Scenes) -> dict[str, np.ndarray]:
    """Standard deviations per hidden layer of the activations and of the gradients.

    One forward and one backward pass of the mean binary cross-entropy over
    ``scenes``; nothing is updated.

    Returns:
        ``activation_std`` (L,): the std of h_l, the outputs of hidden layer l = 1..L
        over scenes and units; ``gradient_std`` (L,): the std of dLoss/dW_l, the
        gradient of hidden layer l's weight matrix (what SGD steps with).

    Ten tanh layers: naive weights shrink the signal layer after layer, He's keep it.

    >>> scenes = make_scenes(32, seed=0)
    >>> naive = layer_stats(deep_mlp(10, "tanh", "naive"), scenes)
    >>> naive = naive["activation_std"]
    >>> he = layer_stats(deep_mlp(10, "tanh", "he"), scenes)["activation_std"]
    >>> bool(naive[-1] < naive[0] / 1000), bool(he[-1] > he[0] / 2)
    (True, True)
    """
    if not isinstance(model, MLP):
        raise TypeError(f"model must be a helpers.models.MLP, got {type(model).__name__}")
    if not isinstance(scenes, Scenes) or len(scenes) == 0:
        raise TypeError("scenes must be a non-empty Scenes (helpers.scenes.make_scenes)")
    hidden = model.layers[:-1]
    if len(hidden) == 0:
        raise ValueError("the model has no hidden layer to measure")
    images = torch.from_numpy(scenes.images)
    labels = torch.from_numpy(scenes.labels.astype(np.float32))
    model.zero_grad(set_to_none=True)
    h = model.inputs(images)
    activations = []
    for layer in hidden:
        h = model.act(layer(h))
        activations.append(float(h.detach().std()))
    logits = model.layers[-1](h)[:, 0]
    nn.functional.binary_cross_entropy_with_logits(logits, labels).backward()
    gradients = [float(layer.weight.grad.std()) for layer in hidden]
    model.zero_grad(set_to_none=True)
    return {"activation_std": np.array(activations), "gradient_std": np.array(gradients)}


@lru_cache(maxsize=256)
def _cached_frame(depth: int, activation: str, init: str, width: int, seed: int):
    model = deep_mlp(depth, activation, init, width=width, seed=seed)
    return layer_stats(model, probe_scenes())


def depth_frame(
    depth: int = 15,
    activation: str = "tanh",
    init: str = "glorot",
    *,
    width: int = 256,
    seed: int = 0,
) -> dict[str, Any]:
    """Parameters -> data to draw for the depth explorer (cached per parameters).

    Returns:
        ``layer`` (L,) the hidden layers 1..L, ``activation_std`` and
        ``gradient_std`` (L,) from :func:`layer_stats` on :func:`probe_scenes`, and
        ``params``.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    for name, value in (("depth", depth), ("width", width), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an int, got {value!r}")
    stats = _cached_frame(depth, activation, init, width, seed)
    return {
        "layer": np.arange(1, depth + 1),
        "activation_std": stats["activation_std"].copy(),
        "gradient_std": stats["gradient_std"].copy(),
        "params": {"depth": depth, "activation": activation, "init": init, "width": width},
    }


def sgd_losses(
    model: nn.Module,
    scenes: Scenes,
    *,
    steps: int = 300,
    lr: float = 0.02,
    batch_size: int = 64,
    seed: int = 0,
) -> np.ndarray:
    """Train ``model`` in place by plain minibatch SGD; the loss of every step (steps,).

    Plain SGD on purpose: its step is the gradient times ``lr``, so a vanished gradient
    means no learning (an adaptive optimiser such as Adam rescales each gradient and
    would hide the problem this measures). Minibatches are drawn by ``seed``.
    """
    if not isinstance(scenes, Scenes) or len(scenes) == 0:
        raise TypeError("scenes must be a non-empty Scenes (helpers.scenes.make_scenes)")
    for name, value in (("steps", steps), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if isinstance(lr, bool) or not (isinstance(lr, (int, float)) and 0 < lr < float("inf")):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if batch_size > len(scenes):
        raise ValueError(f"batch_size {batch_size} is more than the {len(scenes)} scenes")
    images = torch.from_numpy(scenes.images)
    labels = torch.from_numpy(scenes.labels.astype(np.float32))
    optimiser = torch.optim.SGD(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    losses = np.empty(steps)
    model.train()
    for step in range(steps):
        idx = torch.from_numpy(rng.choice(len(scenes), size=batch_size, replace=False))
        loss = nn.functional.binary_cross_entropy_with_logits(
            model(images[idx]), labels[idx]
        )
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        losses[step] = float(loss.detach())
    model.eval()
    return losses


def loss_summary(losses: np.ndarray) -> dict[str, float]:
    """``start``: the mean loss of the first 20 steps; ``end``: of the last 50.

    >>> summary = loss_summary(np.linspace(1.0, 0.5, 100))  # 100 steps
    >>> round(summary["start"], 4), round(summary["end"], 4)
    (0.952, 0.6237)
    """
    losses = np.asarray(losses, dtype=np.float64)
    if losses.ndim != 1 or len(losses) < 50:
        raise ValueError(f"losses must be a vector of 50+ steps, got shape {losses.shape}")
    return {"start": float(losses[:20].mean()), "end": float(losses[-50:].mean())}


def train_at_depth(
    depth: int,
    scenes: Scenes,
    *,
    steps: int = 300,
    lr: float = 0.02,
    batch_size: int = 64,
    width: int = 256,
    seed: int = 0,
    pairs: Sequence[tuple[str, str]] | None = None,
    progress: bool = True,
) -> dict[tuple[str, str], np.ndarray]:
    """:func:`sgd_losses` of a :func:`deep_mlp` for each (activation, init) pair.

    Every net starts from ``seed`` and sees the same minibatches; returns
    ``{(activation, init): losses (steps,)}`` with a tqdm bar over the trainings.
    ``pairs`` defaults to all six (activation, init) pairs.
    """
    every = [(a, i) for a in ACTIVATIONS for i in INITS]
    pairs = every if pairs is None else [tuple(p) for p in pairs]
    unknown = [p for p in pairs if p not in every]
    if unknown or not pairs:
        raise ValueError(
            f"pairs must be (activation, init) pairs from {every}, got {unknown}"
        )
    out = {}
    for activation, init in tqdm(pairs, desc=f"depth {depth}", disable=not progress):
        model = deep_mlp(depth, activation, init, width=width, seed=seed)
        out[(activation, init)] = sgd_losses(
            model, scenes, steps=steps, lr=lr, batch_size=batch_size, seed=seed
        )
    return out
