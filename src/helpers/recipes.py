"""Every trained model the chapters share, by name: its recipe, trained or loaded.

Chapters 4 and 5 train their models live through :func:`train_recipe`; chapter 6
compares them all through :func:`course_models`, which loads each from the model
cache (:mod:`helpers.zoo`), or trains it now by the same recipe on a fresh machine.

===================== ================================================================
recipe                what it trains (and which chapter owns it)
===================== ================================================================
``chapter4-heads``    average, fixed-mask and attention heads on one backbone
``chapter5-vit``      the hybrid ViT with learned positions, ``ViT()``
``chapter5-vit-none`` the hybrid ViT without positions
``chapter6-flatten``  a flatten -> linear readout on chapter 4's backbone, frozen
``chapter6-gates``    attention pooling, a sigmoid gate per cell and squeeze-and-
                      excitation on chapter 4's backbone, frozen
===================== ================================================================

All five are trained on chapter 4's left-half birds, seed 0.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
from torch import nn

from helpers import zoo
from helpers.answer import ROWS
from helpers.comparators import flatten_on_backbone
from helpers.gating import GatedCNN, gates_on_backbone
from helpers.models import PooledCNN, ReadoutCNN, ViT
from helpers.pooling_heads import position_experiment, three_heads
from helpers.scenes import Scenes
from helpers.vit_positions import position_run

__all__ = [
    "RECIPES",
    "train_recipe",
    "load_recipe",
    "course_models",
    "POSITION_DATA_0",
    "scenes_fingerprint",
]


def _chapter4_heads() -> dict[str, nn.Module]:
    return three_heads()


def _chapter4_run(progress: bool = True, **options: Any):
    return position_experiment(seed=0, progress=progress, **options)


def _chapter5_vit() -> dict[str, nn.Module]:
    return {"learned": ViT()}


def _chapter5_vit_run(progress: bool = True, **options: Any):
    return position_run(0, variants=("learned",), progress=progress, **options)


def _chapter5_vit_none() -> dict[str, nn.Module]:
    return {"none": ViT(position="none")}


def _chapter5_vit_none_run(progress: bool = True, **options: Any):
    return position_run(0, variants=("none",), progress=progress, **options)


def _chapter6_flatten() -> dict[str, nn.Module]:
    return {"flatten": ReadoutCNN("flatten")}


def _chapter4_heads_for(progress: bool, data: Any) -> dict[str, nn.Module]:
    """Chapter 4's heads for a recipe built on them, trained on ``data`` if not cached
    (the scenes this recipe trains on: the caller's, as :func:`train_recipe` takes)."""
    options = {} if data is None else {"data": data}
    heads, _ = zoo.load_or_train(_recipe("chapter4-heads"), progress=progress, **options)
    return heads


def _chapter6_run(progress: bool = True, data: Any = None):
    heads = _chapter4_heads_for(progress, data)
    model, info = flatten_on_backbone(
        heads["avg"].backbone, 0, data=data, progress=progress
    )
    return {"flatten": model}, info


def _chapter6_gates() -> dict[str, nn.Module]:
    heads = _chapter4_heads()
    backbone = heads["avg"].backbone
    return {
        "attention": PooledCNN("attention", backbone=backbone),
        "cells": GatedCNN("cells", backbone=backbone),
        "channels": GatedCNN("channels", backbone=backbone),
    }


def _chapter6_gates_run(progress: bool = True, data: Any = None):
    heads = _chapter4_heads_for(progress, data)
    return gates_on_backbone(heads["avg"].backbone, 0, data=data, progress=progress)


# every recipe's training and measuring runs through these (and this module: a
# recipe's settings are part of its code)
_DATA = (
    "helpers.recipes",
    "helpers.zoo",
    "helpers.scenes",
    "helpers.left_right",
    "helpers.train",
    "helpers.inference",
    "helpers.metrics",
    "helpers.attention",
)
_CHAPTER5 = (
    *_DATA,
    "helpers.models",
    "helpers.pooling_heads",
    "helpers.hunger",
    "helpers.rollout",
    "helpers.vit_positions",
)
RECIPES: dict[str, zoo.Recipe] = {
    recipe.name: recipe
    for recipe in (
        zoo.Recipe(
            name="chapter4-heads",
            build=_chapter4_heads,
            run=_chapter4_run,
            modules=(*_DATA, "helpers.models", "helpers.pooling_heads"),
            about="chapter 4: average, fixed-mask and attention heads on one backbone, "
            "trained on left-half birds (pooling_heads.position_experiment, seed 0)",
        ),
        zoo.Recipe(
            name="chapter5-vit",
            build=_chapter5_vit,
            run=_chapter5_vit_run,
            modules=_CHAPTER5,
            about="chapter 5: the hybrid ViT with learned positions, ViT(), trained on "
            "left-half birds (helpers.vit_positions.position_run, seed 0)",
        ),
        zoo.Recipe(
            name="chapter5-vit-none",
            build=_chapter5_vit_none,
            run=_chapter5_vit_none_run,
            modules=_CHAPTER5,
            about="chapter 5: the hybrid ViT without positions, trained on left-half "
            "birds (helpers.vit_positions.position_run, seed 0)",
        ),
        zoo.Recipe(
            name="chapter6-flatten",
            build=_chapter6_flatten,
            run=_chapter6_run,
            modules=(
                *_DATA,
                "helpers.models",
                "helpers.pooling_heads",
                "helpers.comparators",
            ),
            about="chapter 6: a flatten -> linear readout trained on chapter 4's "
            "backbone (recipe chapter4-heads), frozen, on left-half birds "
            "(comparators.flatten_on_backbone, seed 0)",
        ),
        zoo.Recipe(
            name="chapter6-gates",
            build=_chapter6_gates,
            run=_chapter6_gates_run,
            modules=(
                *_DATA,
                "helpers.models",
                "helpers.pooling_heads",
                "helpers.comparators",
                "helpers.gating",
            ),
            about="chapter 6: attention pooling, a sigmoid gate per cell and "
            "squeeze-and-excitation trained together on chapter 4's backbone "
            "(recipe chapter4-heads), frozen, on left-half birds "
            "(gating.gates_on_backbone, seed 0)",
        ),
    )
}
"""Every shared model's recipe, by name."""


def _recipe(name: str) -> zoo.Recipe:
    if name not in RECIPES:
        raise ValueError(f"no recipe {name!r}; the course has {sorted(RECIPES)}")
    return RECIPES[name]


def train_recipe(
    name: str, *, progress: bool = True, **options: Any
) -> tuple[dict[str, nn.Module], dict[str, Any]]:
    """Train recipe ``name`` now and store it in the model cache
    (:func:`helpers.zoo.train_and_store`).

    ``options`` go to the recipe's training call (e.g. ``data=`` scenes already made,
    ``on_epoch=`` a callback); they must not change what is trained.

    Returns:
        ``(models, info)``: the trained models by name and what was measured on them.
    """
    return zoo.train_and_store(_recipe(name), progress=progress, **options)


def load_recipe(
    name: str, *, progress: bool = True, data: dict[str, Scenes] | None = None
) -> tuple[dict[str, nn.Module], dict[str, Any]]:
    """Recipe ``name``'s models and measurements, from the cache when the same code
    stored them, else trained now (:func:`helpers.zoo.load_or_train`); the models in
    eval mode.

    ``data``: the scenes of ``helpers.left_right.position_data(0)`` when already made,
    for the training (every recipe trains on them); made anew when None. Other
    scenes are refused (a model trained on them would be stored as the recipe's):
    their labels and which scenes hold a bird are checked, a few kilobytes.
    """
    recipe = _recipe(name)
    if data is None:
        return zoo.load_or_train(recipe, progress=progress)
    _check_position_data(data)
    return zoo.load_or_train(recipe, progress=progress, data=data)


POSITION_DATA_0 = "d0e131e646415e16"
"""A fingerprint of ``helpers.left_right.position_data(0)``, the scenes every recipe
trains on: :func:`scenes_fingerprint` of its three sets."""


def scenes_fingerprint(data: dict[str, Scenes]) -> str:
    """16 hex digits that tell sets of scenes apart: a SHA-256 of each set's size,
    labels and which scenes show a bird (exact integers: the same on every machine).

    Args:
        data: sets of :class:`~helpers.scenes.Scenes` by name, e.g. ``"train"``,
            ``"left"``, ``"right"``.
    """
    if not isinstance(data, dict) or not all(isinstance(s, Scenes) for s in data.values()):
        raise TypeError("data must be a dict of helpers.scenes.Scenes, by set name")
    digest = hashlib.sha256()
    for name in sorted(data):
        scenes = data[name]
        shown = scenes.masks.reshape(len(scenes), -1).any(axis=1)
        digest.update(f"{name}:{len(scenes)}:".encode())
        digest.update(np.asarray(scenes.labels, dtype="<i8").tobytes())
        digest.update(np.packbits(shown).tobytes())
    return digest.hexdigest()[:16]


def _check_position_data(data: Any) -> None:
    if not isinstance(data, dict) or set(data) != {"train", "left", "right"}:
        raise ValueError(
            "data must be helpers.left_right.position_data(0): the scenes 'train', "
            "'left' and 'right'"
        )
    if scenes_fingerprint(data) != POSITION_DATA_0:
        raise ValueError(
            "data are not the scenes of helpers.left_right.position_data(0), which "
            "every recipe trains on (another seed, size or main=False?): pass those, "
            "or leave data out"
        )


def course_models(
    progress: bool = True, *, data: dict[str, Scenes] | None = None
) -> tuple[dict[str, nn.Module], dict[str, dict[str, float]]]:
    """The five models of :data:`helpers.answer.ROWS`, trained on chapter 4's left-half
    birds (each by :func:`load_recipe`, so trained now when not cached), and their test
    accuracy in each half.

    Args:
        progress: show progress bars while training.
        data: the scenes of ``helpers.left_right.position_data(0)`` when already made
            (then a recipe trained now does not make them again).

    Returns:
        ``(models, accuracy)``: models by key, in eval mode; ``accuracy[key]`` is
        ``{"left": ..., "right": ...}`` as measured by the recipe that trained it.
    """
    heads, heads_info = load_recipe("chapter4-heads", progress=progress, data=data)
    vit, vit_info = load_recipe("chapter5-vit", progress=progress, data=data)
    flatten, flatten_info = load_recipe("chapter6-flatten", progress=progress, data=data)
    found = [
        (heads, heads_info, "avg", "avg"),
        (heads, heads_info, "mask", "mask"),
        (heads, heads_info, "attention", "attention"),
        (vit, vit_info, "learned", "vit"),
        (flatten, flatten_info, "flatten", "flatten"),
    ]
    models = {key: group[name] for group, _, name, key in found}
    accuracy = {
        key: {half: float(info[half][name]["accuracy"]) for half in ("left", "right")}
        for _, info, name, key in found
    }
    return {k: models[k] for k in ROWS}, {k: accuracy[k] for k in ROWS}
