"""Training and evaluation: the one loop every chapter's torch models share.

``fit`` trains from scratch: the seed fixes the initial weights and the order of the
minibatches, so the same call gives the same model. It minimises the binary
cross-entropy of the bird logits with AdamW under a one-cycle learning-rate schedule
(a linear warm-up, then a cosine decay to zero), so the schedule always spans the
epochs asked for. It uses a GPU when one is present.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from helpers.inference import eval_mode
from helpers.scenes import Scenes

__all__ = [
    "MLP_LR",
    "CNN_LR",
    "VIT_LR",
    "device",
    "fit",
    "History",
    "predict_logits",
    "accuracy",
    "evaluate",
    "reset_parameters",
    "initial_weights",
    "one_cycle",
    "OPTIMIZERS",
]

OPTIMIZERS = ("adamw", "sgd")
""":func:`fit`'s optimisers: AdamW (every chapter's) and plain SGD with momentum."""

# The course's peak learning rates, one per kind of model (every chapter trains with
# these; a newcomer looks for them beside the loop that uses them).
MLP_LR = 3e-4
"""The MLP's peak learning rate (:func:`fit`'s default, 5e-3, suits the CNNs; on
6,912 raw pixels it is too large)."""
CNN_LR = 5e-3
"""The CNN's peak learning rate: :func:`fit`'s default, chapter 4's recipe."""
VIT_LR = 1e-3
"""The pure vision transformer's peak learning rate (chapter 5's ``ViT(stem="patches")``;
at 3e-3 it measured 0.66 instead of 0.75 on 2,000 scenes). The hybrid, whose tokens
come from chapter 4's convolutional backbone, trains with :data:`CNN_LR`."""


def device() -> torch.device:
    """The GPU when one is present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass
class History:
    """What happened during :func:`fit`: the loss per epoch, the time, the device."""

    loss: list[float] = field(default_factory=list)
    """The mean training loss of each epoch, one float per epoch.

    When several models train together it is the sum of their losses.
    """
    seconds: float = 0.0
    """The wall time of the whole training, in seconds."""
    device: str = "cpu"
    """The torch device the models trained on, e.g. ``"cpu"`` or ``"cuda"``."""


def one_cycle(total_steps: int, warmup: float = 0.25) -> Callable[[int], float]:
    """The learning-rate factor at each step, for ``total_steps`` steps.

    A linear warm-up over the first ``warmup`` share of the steps, then a cosine decay
    to zero at the last step.
    """
    if total_steps < 1:
        raise ValueError(f"total_steps must be >= 1, got {total_steps}")
    up = max(1, round(warmup * total_steps))

    def factor(step: int) -> float:
        if step < up:
            return (step + 1) / up
        progress = (step - up + 1) / (total_steps - up + 1)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


def reset_parameters(model: nn.Module) -> None:
    """Re-initialise every parameter of ``model`` (from torch's current seed)."""
    for module in model.modules():
        if module is not model and hasattr(module, "reset_parameters"):
            module.reset_parameters()
    own = getattr(model, "reset_own_parameters", None)
    if own is not None:
        own()


def initial_weights(model: nn.Module, seed: int) -> nn.Module:
    """A copy of ``model`` holding the weights :func:`fit` starts from for ``seed``.

    ``fit(model, ..., seed=seed)`` seeds torch, then :func:`reset_parameters`; so does
    this, on a copy (``model`` is untouched). Subtracting these weights from the
    trained ones shows what training changed.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch nn.Module, got {type(model).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {seed!r}")
    start = copy.deepcopy(model)
    torch.manual_seed(seed)
    reset_parameters(start)
    return start.eval()


def _check_scenes(scenes: object) -> Scenes:
    if not isinstance(scenes, Scenes):
        raise TypeError(
            f"scenes must be a Scenes (from helpers.scenes.make_scenes), got "
            f"{type(scenes).__name__}"
        )
    if len(scenes) == 0:
        raise ValueError("scenes is empty: there is nothing to train or evaluate on")
    return scenes


def _models(model: nn.Module | Mapping[str, nn.Module]) -> dict[str, nn.Module]:
    models = dict(model) if isinstance(model, Mapping) else {"model": model}
    if not models or not all(isinstance(m, nn.Module) for m in models.values()):
        raise TypeError("model must be a torch nn.Module or a dict of them")
    return models


def _unique_parameters(models: dict[str, nn.Module]) -> list[nn.Parameter]:
    seen: dict[int, nn.Parameter] = {}
    for m in models.values():
        for p in m.parameters():
            seen.setdefault(id(p), p)
    return list(seen.values())


def _batch_loss(
    models: dict[str, nn.Module],
    x: torch.Tensor,
    y: torch.Tensor,
    given: dict[int, torch.Tensor] | None = None,
):
    """The summed loss of every model on one batch, all outputs against their targets.

    Models that share a backbone (and can pool given features) get its features
    computed once: one forward and one backward pass through it instead of one each.
    ``given`` maps a backbone's ``id`` to its features for this batch, already made.
    """
    features: dict[int, torch.Tensor] = dict(given or {})
    loss = x.new_zeros(())
    for m in models.values():
        backbone = getattr(m, "backbone", None)
        if backbone is not None and hasattr(m, "logits_from_features"):
            if id(backbone) not in features:
                features[id(backbone)] = backbone(x)
            logits = m.logits_from_features(features[id(backbone)])
        elif hasattr(m, "logits_all"):
            logits = m.logits_all(x)
        else:
            logits = m(x)[:, None]
        target = y[:, : logits.shape[1]]
        loss = loss + nn.functional.binary_cross_entropy_with_logits(logits, target)
    return loss


_FEATURE_CHUNK = 500  # images per forward pass when a frozen backbone's features are made


@torch.no_grad()
def _frozen_features(
    models: dict[str, nn.Module], frozen: nn.Module | None, images: torch.Tensor
) -> torch.Tensor | None:
    """A frozen backbone's features for every training image, (N, C, h, w), made once
    in chunks of ``_FEATURE_CHUNK`` images; or None.

    A frozen backbone in eval mode is a fixed function of the image, so its features
    are the same in every epoch: computing them once saves all the later forward
    passes through it (the same numbers up to floating-point rounding, as a
    convolution over another batch size may round differently; identical on the CPUs
    measured). None unless some model's ``backbone`` is ``frozen`` and it pools given
    features (``logits_from_features``).
    """
    if frozen is None or not any(
        getattr(m, "backbone", None) is frozen and hasattr(m, "logits_from_features")
        for m in models.values()
    ):
        return None
    frozen.eval()
    step = _FEATURE_CHUNK
    return torch.cat([frozen(images[i : i + step]) for i in range(0, len(images), step)])


def _train_mode(models: dict[str, nn.Module], frozen: nn.Module | None) -> None:
    """Every model in training mode, except a frozen part (its BatchNorm statistics
    stay as they were)."""
    for m in models.values():
        m.train()
    if frozen is not None:
        frozen.eval()


@contextmanager
def _held(frozen: nn.Module | None) -> Iterator[None]:
    """Gradients off for a frozen part while the rest trains (no backward pass through
    it); each parameter's flag is restored after, also on an error."""
    flags = [] if frozen is None else [(p, p.requires_grad) for p in frozen.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


def _call_in_eval(
    models: dict[str, nn.Module],
    callback: Callable[[int], None],
    epoch: int,
    frozen: nn.Module | None = None,
):
    for m in models.values():
        m.eval()
    callback(epoch)
    _train_mode(models, frozen)


def fit(
    model: nn.Module | Mapping[str, nn.Module],
    scenes: Scenes,
    *,
    epochs: int = 6,
    seed: int = 0,
    lr: float = CNN_LR,
    batch_size: int = 64,
    weight_decay: float = 1e-4,
    targets: np.ndarray | None = None,
    on_epoch: Callable[[int], None] | None = None,
    progress: bool = True,
    frozen: nn.Module | None = None,
    optimizer: str = "adamw",
) -> History:
    """Train ``model`` in place on ``scenes``; return its :class:`History`.

    Args:
        model: a module mapping (N, 3, H, W) images to (N,) logits, or a dict of such
            modules (e.g. three heads sharing one backbone): then the loss is the sum
            of their losses and shared parameters are updated once.
        scenes: the training scenes.
        epochs: passes over the data; the learning-rate schedule spans them all.
        seed: fixes the initial weights and the minibatch order.
        lr: the peak learning rate of the one-cycle schedule.
        batch_size: scenes per step.
        weight_decay: AdamW's decoupled weight decay (for SGD, an L2 penalty of the
            same size).
        targets: (N, Q) 0/1 targets for models with Q outputs (``logits_all``);
            column 0 is the bird label. Default: the bird labels.
        on_epoch: called as ``on_epoch(epoch)`` with the models in eval mode, once
            before training (epoch 0) and after each epoch (1, 2, ...), e.g. to record
            attention maps as training goes.
        progress: show a tqdm progress bar.
        frozen: a part of the model(s) to keep as it is (e.g. a trained backbone):
            neither re-initialised nor trained, its BatchNorm statistics fixed; the
            rest trains on its features. When it is a model's ``backbone`` and the
            model pools given features (``logits_from_features``), they are made
            once for every scene before the first epoch (so a forward hook on it
            fires once per chunk of scenes, not once per step).
        optimizer: ``"adamw"`` (the course's default: each parameter's step divided
            by a running size of its own gradients, plus decoupled weight decay) or
            ``"sgd"`` (SGD with momentum 0.9: one step size for every parameter);
            both under the one-cycle schedule.
    """
    models = _models(model)
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    if frozen is not None and not any(
        sub is frozen for m in models.values() for sub in m.modules()
    ):
        raise ValueError("frozen must be a part of the model(s), e.g. a head's backbone")
    scenes = _check_scenes(scenes)
    for name, value, low in (("epochs", epochs, 1), ("batch_size", batch_size, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    n = len(scenes)
    y = scenes.labels[:, None] if targets is None else np.asarray(targets)
    if y.ndim != 2 or y.shape[0] != n or not np.isin(y, (0, 1)).all():
        raise ValueError(f"targets must be 0/1 of shape ({n}, Q), got {y.shape}")

    dev = device()
    kept = None if frozen is None else copy.deepcopy(frozen.state_dict())
    torch.manual_seed(seed)
    for m in models.values():
        reset_parameters(m)
        m.to(dev).train()
    params = _unique_parameters(models)
    if frozen is not None:
        frozen.load_state_dict(kept)
        fixed = {id(p) for p in frozen.parameters()}
        params = [p for p in params if id(p) not in fixed]
        _train_mode(models, frozen)
    images = torch.from_numpy(scenes.images).to(dev)
    labels = torch.from_numpy(y.astype(np.float32)).to(dev)
    if optimizer == "adamw":
        optimiser = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    else:
        optimiser = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    steps = -(-n // batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, one_cycle(epochs * steps))
    order = torch.Generator().manual_seed(seed)
    history = History(device=str(dev))
    start = time.perf_counter()
    bar = tqdm(total=epochs * steps, desc="training", unit="step", disable=not progress)
    cached = _frozen_features(models, frozen, images)
    with _held(frozen):  # no gradient flows into a frozen part
        if on_epoch is not None:
            _call_in_eval(models, on_epoch, 0, frozen)
        for epoch in range(1, epochs + 1):
            perm = torch.randperm(n, generator=order).to(dev)
            total_loss = 0.0
            for i in range(steps):
                idx = perm[i * batch_size : (i + 1) * batch_size]
                x, t = images[idx], labels[idx]
                given = None if cached is None else {id(frozen): cached[idx]}
                loss = _batch_loss(models, x, t, given)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                schedule.step()
                total_loss += float(loss.detach()) * len(idx)
                bar.update(1)
            history.loss.append(total_loss / n)
            bar.set_postfix(loss=f"{history.loss[-1]:.3f}")
            if on_epoch is not None:
                _call_in_eval(models, on_epoch, epoch, frozen)
    bar.close()
    for m in models.values():
        m.eval()
    history.seconds = time.perf_counter() - start
    return history


@torch.no_grad()
def predict_logits(
    model: nn.Module, images: np.ndarray | torch.Tensor, batch_size: int = 500
):
    """Logits (N,) of ``model`` for images (N, 3, H, W), in eval mode, as numpy."""
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(images)
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a numpy array or torch tensor, got {type(images)}")
    dev = next(model.parameters()).device
    with eval_mode(model):
        out = [
            model(images[i : i + batch_size].to(dev)).cpu()
            for i in range(0, len(images), batch_size)
        ]
    return torch.cat(out).numpy() if out else np.zeros(0, np.float32)


def evaluate(model: nn.Module, scenes: Scenes) -> dict[str, float]:
    """Accuracy, recall and false-alarm rate of ``model`` on ``scenes``.

    Recall is the share of birds found; the false-alarm rate the share of scenes
    without a bird in which the model claims one.
    """
    scenes = _check_scenes(scenes)
    said_bird = predict_logits(model, scenes.images) > 0
    bird = scenes.labels == 1
    return {
        "accuracy": float((said_bird == bird).mean()),
        "recall": float(said_bird[bird].mean()) if bird.any() else float("nan"),
        "false_alarm": float(said_bird[~bird].mean()) if (~bird).any() else float("nan"),
    }


def accuracy(model: nn.Module, scenes: Scenes) -> float:
    """The share of ``scenes`` whose bird/no-bird label ``model`` gets right."""
    return evaluate(model, scenes)["accuracy"]
