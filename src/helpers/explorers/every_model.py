"""Chapter 6's explorer: every model's "what matters here" map, for one movable bird.

Chapter 6's five models give six maps over the image's grid, of two different kinds
(:func:`helpers.answer.what_matters` computes them): the maps the forward pass
**multiplies by** (:data:`~helpers.answer.MULTIPLIED`: the flatten readout's weights,
the fixed mask, attention pooling, the ViT class token's attention) and the maps
**read off after** (:data:`~helpers.answer.READ_OFF`: what each cell adds to the logit
of the flatten readout and of average pooling, its class activation map).
:func:`answer_frame` (the bird's centre -> the maps, their share on the bird, each
model's P(bird)) is drawn by :func:`draw_answer` and made live by
:func:`answer_explorer`; static: the bird crossing the image.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from helpers.answer import MAP_NAMES, MULTIPLIED, READ_OFF, check_models, what_matters
from helpers.explorers.framework import (
    Explorer,
    bird_sliders,
    bird_sweep,
    build,
    scrubber,
)
from helpers.explorers.maps import MapPanels, draw_maps, maps_figsize
from helpers.inference import eval_mode
from helpers.metrics import attention_mass, flat_mass
from helpers.scenes import render_scene
from helpers.viz import COLUMN_WIDTH

__all__ = [
    "ANSWER_BIRD_SIZE",
    "ANSWER_DISTRACTORS",
    "answer_frame",
    "scaled_to_largest",
    "ROW_TITLES",
    "draw_answer",
    "ANSWER_FIGSIZE",
    "answer_explorer",
]

ANSWER_BIRD_SIZE = 0.3
"""The explorer's bird size (chapter 4's scenes)."""
ANSWER_DISTRACTORS = 3
"""Distractors in the explorer's scenes."""
_LABEL = "share of largest"
_PICTURE = 150  # the live view's pictures, CSS pixels square: six of them in two rows


@torch.no_grad()
def _probs(models: Mapping[str, nn.Module], images: torch.Tensor) -> dict[str, float]:
    out = {}
    for name, model in models.items():
        with eval_mode(model):
            logit = model(images.to(next(model.parameters()).device))
        out[name] = float(torch.sigmoid(logit.double())[0])
    return out


def answer_frame(
    models: Mapping[str, nn.Module], y: float = 0.5, x: float = 0.5, *, seed: int = 0
) -> dict[str, Any]:
    """Parameters -> data to draw: a cluttered scene with the bird centred at (y, x).

    Returns:
        ``image`` (3, H, W), ``mask`` (H, W), ``maps`` (:func:`what_matters`, one
        image: (H, W) or (h, w) each), ``mass`` {name: the map's share on the bird},
        ``flat`` {name: an evenly spread map's share at that map's resolution},
        ``prob`` {name: the model's P(bird)} and ``params``.
    """
    models = check_models(models)
    scene = render_scene(
        (y, x), bird_size=ANSWER_BIRD_SIZE, distractors=ANSWER_DISTRACTORS, seed=seed
    )
    images = torch.from_numpy(scene.images)
    maps = what_matters(models, images)
    return {
        "image": scene.images[0],
        "mask": scene.masks[0],
        "maps": {n: m[0] for n, m in maps.items()},
        "mass": {n: float(attention_mass(m, scene.masks)[0]) for n, m in maps.items()},
        "flat": {n: float(flat_mass(scene.masks, m.shape[1:])[0]) for n, m in maps.items()},
        "prob": _probs(models, images),
        "params": {"y": y, "x": x},
    }


def _title(frame: dict[str, Any], name: str) -> str:
    mass, flat = frame["mass"][name], frame["flat"][name]
    return f"{MAP_NAMES[name]}\n{mass:.2f} on bird\n(flat {flat:.2f})"


ROW_TITLES = (
    "What each model multiplies by in its forward pass",
    "Read off afterwards: what each cell adds to the logit (not a weighting)",
)


def scaled_to_largest(frame: dict[str, Any], name: str) -> np.ndarray:
    """A map over its largest value (0 to 1): maps of different sizes compare."""
    m = frame["maps"][name]
    return m / max(float(m.max()), 1e-12)


def draw_answer(fig: Figure, frame: dict[str, Any]) -> None:
    """Draw an :func:`answer_frame`: the four maps the models multiply by above, the
    two read off after below, each over its largest value, with its share on the bird
    beside the flat baseline."""
    top, bottom = fig.subfigures(2, 1)
    for sub, names, title in zip(
        (top, bottom), (MULTIPLIED, READ_OFF), ROW_TITLES, strict=True
    ):
        draw_maps(
            sub,
            frame["image"],
            {n: scaled_to_largest(frame, n) for n in names},
            titles={n: _title(frame, n) for n in names},
            mask=frame["mask"],
            vmax=1.0,
            label=_LABEL,
            suptitle=title,
        )


ANSWER_FIGSIZE = (
    COLUMN_WIDTH,
    2 * maps_figsize(4, side=1.25, title_lines=3, suptitle=True)[1],
)
"""The static explorer's figure: two rows of maps, four and two."""


def answer_explorer(
    models: Mapping[str, nn.Module], *, seed: int = 0, frames: int = 6
) -> Explorer:
    """Move one bird under all five models: the maps multiplied by (top) and read off
    after (bottom). Static: the bird crossing the image from left to right at mid
    height; live: x and y sliders."""
    import ipywidgets as w

    models = check_models(models)

    def frame(y: float, x: float) -> dict[str, Any]:
        return answer_frame(models, y, x, seed=seed)

    sweep = bird_sweep(frame, ANSWER_BIRD_SIZE, frames)
    controls = bird_sliders(ANSWER_BIRD_SIZE, x=None)
    panels = MapPanels(
        MAP_NAMES, vmax=1.0, clipped=False, label=_LABEL, side=_PICTURE, scale=3
    )

    def show(f: dict[str, Any]) -> None:
        maps = {n: scaled_to_largest(f, n) for n in MAP_NAMES}
        captions = {
            n: f"{MAP_NAMES[n]}: {f['mass'][n]:.2f} on bird (flat {f['flat'][n]:.2f})"
            for n in MAP_NAMES
        }
        panels.show(f["image"], maps, f["mask"], captions)

    def row(names: tuple[str, ...], title: str) -> Any:
        return w.VBox([w.HTML(f"<b>{title}</b>"), w.HBox(panels.boxes(names))])

    rows = w.VBox([row(MULTIPLIED, ROW_TITLES[0]), row(READ_OFF, ROW_TITLES[1])])
    live = w.VBox([w.HBox(list(controls.values())), w.HBox([rows, panels.bar])])
    alt = (
        "A bird crossing a cluttered scene from left to right under all five models. "
        "Top row, the maps each model multiplies by: the flatten readout's weights and "
        "the fixed mask stay where they are while the bird moves; attention pooling's "
        "weights and the ViT class token's attention move with the bird. Bottom row, "
        "maps read off after the fact: what each cell adds to the logit of the flatten "
        "readout and of average pooling (its class activation map); both move with the "
        "bird. Each map's share on the bird is printed above it, beside the flat "
        "baseline."
    )
    static = scrubber(draw_answer, sweep, alt=alt, figsize=ANSWER_FIGSIZE)
    return build(
        "every model's map explorer",
        controls=controls,
        frame=frame,
        show=show,
        live=live,
        static=static,
    )
