"""The course's trained models: one recipe per model, cached on disk.

A later chapter compares the models of earlier ones. Training them all again would not
fit its time budget, and copying their training code would let the chapters drift
apart. So each trained model has one *recipe* here, the very call its chapter trains it
with, and

- :func:`train` runs a recipe (always: the chapter that owns it trains live) and
  stores the result in the cache;
- :func:`load` returns the recipe's result from the cache when the same recipe, run by
  the same code, stored it; otherwise it trains now, by the same recipe, and stores it.

Training is deterministic (``helpers.train.fit`` is seeded), so a model loaded from the
cache is the model the recipe trains. An entry is keyed by the recipe's name, the
source code of every module its training and measuring run through, the torch and
numpy versions and the number of CPU threads torch uses (it splits floating-point sums
differently): change any of them and the entry is trained again. The cache lives in
the repository's ``.zoo/`` folder (not committed), or in ``$COURSE_ZOO`` when set.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import os
import pickle
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from helpers.train import device

__all__ = ["Recipe", "RECIPES", "cache_dir", "key", "path", "train", "load"]


@dataclass(frozen=True)
class Recipe:
    """How to make one cached entry: a dict of trained models and what was measured.

    Args:
        build: makes the untrained models, ``{name: nn.Module}`` (their shapes, to
            load stored weights into).
        run: ``run(progress=..., **options) -> (models, info)``: trains them (e.g.
            ``helpers.compare.position_experiment``) and returns the trained models
            and a dict of plain numbers measured on them.
        modules: the helper modules whose code the training and measuring run
            through; their source is part of the entry's key.
        about: one line saying what the recipe trains, and which chapter owns it.
    """

    build: Callable[[], dict[str, nn.Module]]
    run: Callable[..., tuple[dict[str, nn.Module], dict[str, Any]]]
    modules: tuple[str, ...]
    about: str


def _chapter4_heads() -> dict[str, nn.Module]:
    from helpers.compare import three_heads

    return three_heads()


def _chapter4_run(progress: bool = True, **options: Any):
    from helpers.compare import position_experiment

    return position_experiment(seed=0, progress=progress, **options)


def _chapter5_vit() -> dict[str, nn.Module]:
    from helpers.models import ViT

    return {"learned": ViT()}


def _chapter5_vit_run(progress: bool = True, **options: Any):
    from helpers.positions import position_run

    return position_run(0, variants=("learned",), progress=progress, **options)


def _chapter5_vit_none() -> dict[str, nn.Module]:
    from helpers.models import ViT

    return {"none": ViT(position="none")}


def _chapter5_vit_none_run(progress: bool = True, **options: Any):
    from helpers.positions import position_run

    return position_run(0, variants=("none",), progress=progress, **options)


def _chapter6_pixels() -> dict[str, nn.Module]:
    from helpers.models import MLP

    return {"linear": MLP(hidden=()), "mlp": MLP()}


def _chapter6_run(progress: bool = True, data: Any = None):
    from helpers.answer import pixel_run

    return pixel_run(0, data=data, progress=progress)


# every recipe's training and measuring runs through these (and this module: a
# recipe's settings are part of its code)
_DATA = (
    "helpers.zoo",
    "helpers.scenes",
    "helpers.train",
    "helpers.metrics",
    "helpers.attention",
)
_CHAPTER5 = (
    *_DATA,
    "helpers.models",
    "helpers.compare",
    "helpers.hunger",
    "helpers.rollout",
    "helpers.positions",
)
RECIPES: dict[str, Recipe] = {
    "chapter4-heads": Recipe(
        build=_chapter4_heads,
        run=_chapter4_run,
        modules=(*_DATA, "helpers.models", "helpers.compare"),
        about="chapter 4: average, fixed-mask and attention heads on one backbone, "
        "trained on left-half birds (helpers.compare.position_experiment, seed 0)",
    ),
    "chapter5-vit": Recipe(
        build=_chapter5_vit,
        run=_chapter5_vit_run,
        modules=_CHAPTER5,
        about="chapter 5: the hybrid ViT with learned positions, ViT(), trained on "
        "left-half birds (helpers.positions.position_run, seed 0)",
    ),
    "chapter5-vit-none": Recipe(
        build=_chapter5_vit_none,
        run=_chapter5_vit_none_run,
        modules=_CHAPTER5,
        about="chapter 5: the hybrid ViT without positions, trained on left-half "
        "birds (helpers.positions.position_run, seed 0)",
    ),
    "chapter6-pixels": Recipe(
        build=_chapter6_pixels,
        run=_chapter6_run,
        modules=(
            *_DATA,
            "helpers.models",
            "helpers.compare",
            "helpers.hunger",
            "helpers.answer",
        ),
        about="chapter 6: logistic regression (MLP(hidden=())) and chapter 2's MLP on "
        "raw pixels, trained together on left-half birds (seed 0)",
    ),
}
"""Every cached entry's recipe, by name."""


def cache_dir() -> Path:
    """Where entries are stored: ``$COURSE_ZOO``, else the repository's ``.zoo/``."""
    where = os.environ.get("COURSE_ZOO")
    return Path(where) if where else Path(__file__).resolve().parents[2] / ".zoo"


def _recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise ValueError(f"no recipe {name!r}; the zoo has {sorted(RECIPES)}")
    return RECIPES[name]


def key(name: str) -> str:
    """The entry's key: a hash of the recipe's name and functions, the source of its
    modules, the torch and numpy versions and torch's thread count (hex, 16
    characters)."""
    recipe = _recipe(name)
    h = hashlib.sha256(name.encode())
    for part in (recipe.build, recipe.run):
        h.update(inspect.getsource(part).encode())
    for module in recipe.modules:
        h.update(inspect.getsource(importlib.import_module(module)).encode())
    h.update(f"torch {torch.__version__} numpy {np.__version__}".encode())
    # floating-point sums are split across CPU threads: another thread count trains
    # (slightly) other models
    h.update(f"threads {torch.get_num_threads()}".encode())
    return h.hexdigest()[:16]


def path(name: str) -> Path:
    """The file that holds (or will hold) the entry for ``name`` under its key."""
    return cache_dir() / f"{name}-{key(name)}.pt"


def _store(name: str, models: dict[str, nn.Module], info: dict[str, Any]) -> None:
    target = path(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    state = {
        n: {k: v.detach().cpu() for k, v in m.state_dict().items()}
        for n, m in models.items()
    }
    with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".tmp", delete=False) as f:
        torch.save({"models": state, "info": info}, f)  # then renamed: never half-written
    os.replace(f.name, target)
    for old in target.parent.glob(f"{name}-*.pt"):  # entries of older code
        if old != target:
            old.unlink(missing_ok=True)


def train(
    name: str, *, progress: bool = True, **options: Any
) -> tuple[dict[str, nn.Module], dict[str, Any]]:
    """Run recipe ``name`` now, store its models and measurements, return them.

    ``options`` go to the recipe's training call (e.g. ``data=`` scenes already made,
    ``on_epoch=`` a callback); they must not change what is trained.
    """
    models, info = _recipe(name).run(progress=progress, **options)
    _store(name, models, info)
    return models, info


def load(
    name: str, *, progress: bool = True
) -> tuple[dict[str, nn.Module], dict[str, Any]]:
    """The trained models and measurements of recipe ``name``: from the cache when
    stored by the same code, else trained now (:func:`train`) and stored.

    The models come back in eval mode, on ``helpers.train.device()``.
    """
    recipe = _recipe(name)
    stored = path(name)
    if stored.exists():
        try:
            saved = torch.load(stored, map_location="cpu", weights_only=True)
            models = recipe.build()
            for n, m in models.items():
                m.load_state_dict(saved["models"][n])
                m.to(device()).eval()
            return models, saved["info"]
        except (
            OSError,
            RuntimeError,
            KeyError,
            EOFError,
            ValueError,
            pickle.UnpicklingError,
        ):
            stored.unlink(missing_ok=True)  # unreadable or from other models: remake
    return train(name, progress=progress)
