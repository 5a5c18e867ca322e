"""Chapter 2's depth sweep: deep plain, deep residual and shallow nets, trained longer.

Four nets (:data:`DEPTH_NETS`) are trained on centred-bird scenes (``helpers.hunger``)
by plain minibatch SGD, w <- w - lr_t g: no momentum, nothing rescaled per weight. The
step size lr_t falls linearly from ``lr`` to 0 over the run (a shrinking step, in the
spirit of Robbins and Monro, lets the weights settle instead of bouncing around their
best values), so the final accuracy is that of a finished
training rather than of a random point of a noisy one. Every ``every`` steps the run
records the training loss and the accuracy on a validation split (1,000 held-out
training scenes, which pick the learning rate) and on 2,000 fresh test scenes.

``experiments/chapter2.py depth_sweep`` runs every net at every learning rate of
:data:`DEPTH_SWEEP` for seed 0, picks each net's learning rate on the validation
split (:func:`best_lr`), and trains the other seeds at that rate. Chapter 2 reruns
the first steps of one run live (``until``) and checks them against the committed
record of the same steps.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from helpers.hunger import hunger_scenes, hunger_test
from helpers.initialisation import deep_mlp
from helpers.residual import residual_mlp
from helpers.scenes import Scenes
from helpers.train import evaluate

__all__ = [
    "DEPTH_SWEEP",
    "DEPTH_NETS",
    "depth_net",
    "depth_sweep_scenes",
    "train_depth_net",
    "best_lr",
]

DEPTH_SWEEP = {
    "steps": 3000,
    "batch_size": 64,
    "lrs": (0.01, 0.03, 0.09),
    "train": 7000,
    "validation": 1000,
    "every": 250,
}
"""The sweep: 3,000 plain SGD steps of 64 scenes, the step size decaying linearly to 0
from one of ``lrs``; 7,000 training scenes and 1,000 validation scenes (the first and
last of a seed's 8,000 centred-bird scenes); a record every 250 steps."""

DEPTH_NETS = {
    "15 plain, tanh, Glorot": ("plain", 15, "tanh", "glorot"),
    "15 plain, ReLU, He": ("plain", 15, "relu", "he"),
    "15 residual + norm, ReLU, He": ("residual", 15, "relu", "he"),
    "2 plain, ReLU, He": ("plain", 2, "relu", "he"),
}
"""The nets, by name: (kind, hidden layers, activation, initialisation). Every one is
256 units wide, with the same input layer (pixels -> 256) and output layer (256 -> 1);
the plain ones are ``helpers.initialisation.deep_mlp``, the residual one
``helpers.residual.residual_mlp``."""


def depth_net(name: str, seed: int = 0) -> nn.Module:
    """The untrained net ``name`` of :data:`DEPTH_NETS`, drawn from ``seed``.

    >>> net = depth_net("15 residual + norm, ReLU, He")
    >>> net.hidden_layers, len(deep_mlp(15, "relu", "he").layers) - 1
    (15, 15)
    """
    if name not in DEPTH_NETS:
        raise ValueError(f"name must be one of {tuple(DEPTH_NETS)}, got {name!r}")
    kind, depth, activation, init = DEPTH_NETS[name]
    build = deep_mlp if kind == "plain" else residual_mlp
    return build(depth, activation, init, seed=seed)


def depth_sweep_scenes(seed: int) -> dict[str, Scenes]:
    """A seed's ``train`` (7,000), ``validation`` (1,000) and ``test`` (2,000) scenes.

    Training and validation scenes are the seed's 8,000 centred-bird training scenes
    of ``helpers.hunger.hunger_scenes``, split; the test scenes are its fresh ones
    (``helpers.hunger.hunger_test``).
    """
    n = DEPTH_SWEEP["train"] + DEPTH_SWEEP["validation"]
    scenes = hunger_scenes("centred", n, seed)
    return {
        "train": scenes[: DEPTH_SWEEP["train"]],
        "validation": scenes[DEPTH_SWEEP["train"] :],
        "test": hunger_test("centred", seed),
    }


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def train_depth_net(
    name: str,
    lr: float,
    seed: int,
    *,
    steps: int = DEPTH_SWEEP["steps"],
    until: int | None = None,
    every: int = DEPTH_SWEEP["every"],
    batch_size: int = DEPTH_SWEEP["batch_size"],
    scenes: Mapping[str, Scenes] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train :func:`depth_net` ``name`` by plain SGD with a linearly decaying step.

    Step t (from 0) moves every weight by -lr (1 - t / steps) times its gradient on 64
    scenes drawn without replacement by ``seed``; the initial weights come from
    ``seed`` too.

    Args:
        name: a net of :data:`DEPTH_NETS`.
        lr: the first step size; it reaches 0 at ``steps``.
        seed: the scenes, the initial weights and the minibatches.
        steps: the length of the schedule.
        until: stop after this many steps (default ``steps``): the first ``until``
            steps of the full run, the same step sizes, the same records.
        every: record every this many steps.
        batch_size: scenes per step.
        scenes: ``train``, ``validation`` and ``test`` Scenes (default
            :func:`depth_sweep_scenes` of ``seed``).
        progress: show a tqdm bar.

    Returns:
        ``step`` (K,) the steps recorded (``every``, 2 ``every``, ... up to
        ``until``); ``loss`` (K,) the mean training loss of the steps since the last
        record; ``validation`` and ``test`` (K,) the accuracy there; ``diverged``
        (whether the loss became infinite or NaN, after which training stops and the
        records repeat the last weights' accuracy with a loss of None) and
        ``seconds``. Lists, ready for JSON.
    """
    if name not in DEPTH_NETS:
        raise ValueError(f"name must be one of {tuple(DEPTH_NETS)}, got {name!r}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < math.inf:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    steps = _positive_int("steps", steps)
    until = steps if until is None else _positive_int("until", until)
    every = _positive_int("every", every)
    batch_size = _positive_int("batch_size", batch_size)
    if until > steps:
        raise ValueError(f"until ({until}) must be at most steps ({steps})")
    data = depth_sweep_scenes(seed) if scenes is None else scenes
    if not isinstance(data, Mapping) or set(data) != {"train", "validation", "test"}:
        raise ValueError("scenes must map train, validation and test to Scenes")
    train = data["train"]
    if batch_size > len(train):
        raise ValueError(f"batch_size {batch_size} is more than the {len(train)} scenes")
    model = depth_net(name, seed)
    images = torch.from_numpy(train.images)
    labels = torch.from_numpy(train.labels.astype(np.float32))
    optimiser = torch.optim.SGD(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    record: dict[str, Any] = {"step": [], "loss": [], "validation": [], "test": []}
    since: list[float] = []
    diverged = False
    start = time.perf_counter()
    model.train()
    for step in tqdm(range(until), desc=name, disable=not progress):
        if not diverged:
            idx = torch.from_numpy(rng.choice(len(train), size=batch_size, replace=False))
            loss = nn.functional.binary_cross_entropy_with_logits(
                model(images[idx]), labels[idx]
            )
            diverged = not math.isfinite(float(loss.detach()))
        if not diverged:
            optimiser.param_groups[0]["lr"] = lr * (1 - step / steps)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            since.append(float(loss.detach()))
        if (step + 1) % every == 0:
            record["step"].append(step + 1)
            record["loss"].append(None if diverged else float(np.mean(since)))
            record["validation"].append(evaluate(model, data["validation"])["accuracy"])
            record["test"].append(evaluate(model, data["test"])["accuracy"])
            since = []
    model.eval()
    return {**record, "diverged": diverged, "seconds": time.perf_counter() - start}


def best_lr(runs: Mapping[str, Mapping[str, Any]]) -> str:
    """The learning rate whose run ends with the highest validation accuracy.

    Args:
        runs: ``{lr (a string, as in JSON): a record of train_depth_net}``; a
            diverged run never wins, and a tie goes to the smaller rate.

    >>> best_lr({"0.01": {"validation": [0.6, 0.8], "diverged": False},
    ...          "0.03": {"validation": [0.7, 0.8], "diverged": False}})
    '0.01'
    """
    if not runs:
        raise ValueError("runs must hold at least one learning rate")
    usable = {lr: r for lr, r in runs.items() if not r["diverged"]}
    if not usable:
        raise ValueError("every run diverged: no learning rate to pick")
    return max(sorted(usable, key=float), key=lambda lr: usable[lr]["validation"][-1])
