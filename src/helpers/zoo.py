"""The model cache: a trained model is stored once and loaded by every later chapter.

A later chapter compares the models of earlier ones. Training them all again would not
fit its time budget, and copying their training code would let the chapters drift
apart. So each trained model has one :class:`Recipe` (the course's recipes are
:data:`helpers.recipes.RECIPES`: the very calls the chapters train with), and

- :func:`train_and_store` runs a recipe (always: the chapter that owns it trains
  live) and stores the result in the cache;
- :func:`load_or_train` returns the recipe's result from the cache when the same
  recipe, run by the same code, stored it; otherwise it trains now, by the same
  recipe, and stores it.

Training is deterministic (``helpers.train.fit`` is seeded), so a model loaded from the
cache is the model the recipe trains. An entry is keyed by the recipe's name, the
source code of every module its training and measuring run through, the torch and
numpy versions and the number of CPU threads torch uses (it splits floating-point sums
differently): change any of them and the entry is trained again. The cache lives in
the repository's ``.zoo/`` folder (not committed), or in ``$COURSE_ZOO`` when set.
This module knows no recipe: it imports nothing of the course above ``helpers.train``.
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

__all__ = ["Recipe", "cache_dir", "key", "path", "train_and_store", "load_or_train"]


@dataclass(frozen=True)
class Recipe:
    """How to make one cached entry: a dict of trained models and what was measured.

    Args:
        name: the entry's name (e.g. ``"chapter4-heads"``), the start of its file name.
        build: makes the untrained models, ``{name: nn.Module}`` (their shapes, to
            load stored weights into).
        run: ``run(progress=..., **options) -> (models, info)``: trains them (e.g.
            ``helpers.pooling_heads.position_experiment``) and returns the trained models
            and a dict of plain numbers measured on them.
        modules: the helper modules whose code the training and measuring run
            through; their source is part of the entry's key.
        about: one line saying what the recipe trains, and which chapter owns it.
    """

    name: str
    build: Callable[[], dict[str, nn.Module]]
    run: Callable[..., tuple[dict[str, nn.Module], dict[str, Any]]]
    modules: tuple[str, ...]
    about: str


def cache_dir() -> Path:
    """Where entries are stored: ``$COURSE_ZOO``, else the repository's ``.zoo/``."""
    where = os.environ.get("COURSE_ZOO")
    return Path(where) if where else Path(__file__).resolve().parents[2] / ".zoo"


def _check(recipe: object) -> Recipe:
    if not isinstance(recipe, Recipe):
        raise TypeError(
            f"recipe must be a helpers.zoo.Recipe (the course's: helpers.recipes.RECIPES), "
            f"got {type(recipe).__name__}"
        )
    return recipe


def key(recipe: Recipe) -> str:
    """The entry's key: a hash of the recipe's name and functions, the source of its
    modules, the torch and numpy versions and torch's thread count (hex, 16
    characters).

    >>> def build():
    ...     return {"net": nn.Linear(2, 1)}
    >>> def run(progress=True):
    ...     return build(), {"accuracy": 1.0}
    >>> recipe = Recipe(
    ...     "demo", build, run, modules=("helpers.train",), about="a demo"
    ... )
    >>> len(key(recipe)), key(recipe) == key(recipe)  # same code, same key
    (16, True)
    >>> path(recipe).name
    'demo-....pt'
    """
    recipe = _check(recipe)
    h = hashlib.sha256(recipe.name.encode())
    for part in (recipe.build, recipe.run):
        h.update(inspect.getsource(part).encode())
    for module in recipe.modules:
        h.update(inspect.getsource(importlib.import_module(module)).encode())
    h.update(f"torch {torch.__version__} numpy {np.__version__}".encode())
    # floating-point sums are split across CPU threads: another thread count trains
    # (slightly) other models
    h.update(f"threads {torch.get_num_threads()}".encode())
    return h.hexdigest()[:16]


def path(recipe: Recipe) -> Path:
    """The file that holds (or will hold) the recipe's entry under its key."""
    return cache_dir() / f"{recipe.name}-{key(recipe)}.pt"


def _store(recipe: Recipe, models: dict[str, nn.Module], info: dict[str, Any]) -> None:
    target = path(recipe)
    target.parent.mkdir(parents=True, exist_ok=True)
    state = {
        n: {k: v.detach().cpu() for k, v in m.state_dict().items()}
        for n, m in models.items()
    }
    with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".tmp", delete=False) as f:
        torch.save({"models": state, "info": info}, f)  # then renamed: never half-written
    os.replace(f.name, target)
    stale = f"{recipe.name}-{'[0-9a-f]' * 16}.pt"  # not chapter5-vit-none for chapter5-vit
    for old in target.parent.glob(stale):  # entries of older code
        if old != target:
            old.unlink(missing_ok=True)


def train_and_store(
    recipe: Recipe, *, progress: bool = True, **options: Any
) -> tuple[dict[str, nn.Module], dict[str, Any]]:
    """Run ``recipe`` now, store its models and measurements, return them.

    ``options`` go to the recipe's training call (e.g. ``data=`` scenes already made,
    ``on_epoch=`` a callback); they must not change what is trained.
    """
    models, info = _check(recipe).run(progress=progress, **options)
    _store(recipe, models, info)
    return models, info


def load_or_train(
    recipe: Recipe, *, progress: bool = True, **options: Any
) -> tuple[dict[str, nn.Module], dict[str, Any]]:
    """The trained models and measurements of ``recipe``: from the cache when stored
    by the same code, else trained now (:func:`train_and_store`, given ``options``)
    and stored.

    The models come back in eval mode, on ``helpers.train.device()``.
    """
    stored = path(_check(recipe))
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
    return train_and_store(recipe, progress=progress, **options)
