"""Chapter 6's explorer: every model's "what matters here" map, for one movable bird.

The course's six models each give a map over the image, but of two different kinds:

- **multiplied by** (:data:`MULTIPLIED`): numbers the forward pass multiplies the
  image or its regions by. Logistic regression's weights (one per pixel and colour;
  shown as their size summed over the colours), the fixed learned mask, attention
  pooling's weights, the ViT class token's last-layer attention;
- **read off after** (:data:`READ_OFF`): computed from a trained model after the fact,
  not used by it. The MLP's saliency (the size of the logit's gradient at each pixel)
  and the CNN's class activation map (its positive part).

:func:`what_matters` computes all six for a batch of images, each scaled to sum to 1
so that their share on the bird compares with the flat baseline.
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

from helpers.answer import position_weights
from helpers.attention_explorers import _caption, draw_maps, maps_figsize
from helpers.cam import class_activation_map
from helpers.inference import eval_mode
from helpers.metrics import attention_mass, flat_mass
from helpers.models import MLP, PooledCNN, ViT
from helpers.saliency import saliency
from helpers.scenes import render_scene
from helpers.viz import CMAP, COLUMN_WIDTH, overlay_png
from helpers.widgets import Explorer, colour_bar, scene_reach, scrubber

__all__ = [
    "NAMES",
    "MULTIPLIED",
    "READ_OFF",
    "what_matters",
    "answer_frame",
    "draw_answer",
    "answer_explorer",
]

NAMES = {
    "linear": "logistic regression",
    "mask": "fixed mask",
    "attention": "attention pooling",
    "vit": "ViT class token",
    "mlp": "MLP saliency",
    "avg": "avg pooling's CAM",
}
"""Each model's key in the models dict, and how the explorer names its map."""
MULTIPLIED = ("linear", "mask", "attention", "vit")
"""The maps the forward pass multiplies by."""
READ_OFF = ("mlp", "avg")
"""The maps read off a trained model after the fact."""
LABEL = "share of largest"
BIRD_SIZE = 0.3
DISTRACTORS = 3
PICTURE = 150
"""The live view's pictures are this many CSS pixels square."""


def _check_models(models: object) -> dict[str, nn.Module]:
    expected = {
        "linear": "MLP(hidden=())",
        "mlp": "MLP()",
        "avg": 'PooledCNN("avg")',
        "mask": 'PooledCNN("mask")',
        "attention": 'PooledCNN("attention")',
        "vit": "ViT()",
    }
    if not isinstance(models, Mapping) or set(models) != set(expected):
        got = sorted(models) if isinstance(models, Mapping) else type(models).__name__
        raise ValueError(f"models must be a dict with keys {sorted(expected)}, got {got}")
    for name, model in models.items():
        if name in ("linear", "mlp"):
            ok = isinstance(model, MLP) and (len(model.layers) == 1) == (name == "linear")
        elif name == "vit":
            ok = isinstance(model, ViT)
        else:
            ok = isinstance(model, PooledCNN) and model.pool == name
        if not ok:
            raise TypeError(
                f"models[{name!r}] must be a {expected[name]}, got {type(model).__name__}"
            )
    return dict(models)


def _share(maps: np.ndarray) -> np.ndarray:
    """Non-negative maps (N, h, w) scaled to sum to 1 each (flat where all zero)."""
    total = maps.sum(axis=(1, 2), keepdims=True)
    flat = np.full_like(maps, 1.0 / (maps.shape[1] * maps.shape[2]))
    return np.where(total > 0, maps / np.where(total > 0, total, 1.0), flat)


def what_matters(
    models: Mapping[str, nn.Module], images: np.ndarray | torch.Tensor
) -> dict[str, np.ndarray]:
    """Every model's map of each image, non-negative and summing to 1.

    Args:
        models: ``{"linear", "mlp", "avg", "mask", "attention", "vit"}``: logistic
            regression (``MLP(hidden=())``), the MLP, and chapter 4's three heads and
            chapter 5's ViT (:func:`helpers.recipes.course_models`).
        images: (N, 3, H, W) float images.

    Returns:
        ``{name: maps}``: (N, H, W) for ``"linear"`` (the size of its weights, summed
        over colours: the same for every image) and ``"mlp"`` (saliency); (N, h, w)
        over the grid's cells for the others (CAM clipped at 0).
    """
    models = _check_models(models)
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(np.ascontiguousarray(images))
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] != 3:
        raise ValueError("images must be float images of shape (N, 3, H, W)")
    linear = np.abs(position_weights(models["linear"], images[:1])[:, 0]).sum(axis=1)
    raw = {
        "linear": np.repeat(linear, len(images), axis=0),
        "mask": position_weights(models["mask"], images),
        "attention": position_weights(models["attention"], images),
        "vit": position_weights(models["vit"], images),
        "mlp": saliency(models["mlp"], images),
        "avg": np.clip(class_activation_map(models["avg"], images), 0.0, None),
    }
    return {name: _share(np.asarray(raw[name], dtype=np.float64)) for name in NAMES}


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
    models = _check_models(models)
    scene = render_scene((y, x), bird_size=BIRD_SIZE, distractors=DISTRACTORS, seed=seed)
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
    return f"{NAMES[name]}\n{mass:.2f} on bird\n(flat {flat:.2f})"


ROW_TITLES = (
    "What each model multiplies by in its forward pass",
    "Read off the trained model afterwards (not used by it)",
)


def _scaled(frame: dict[str, Any], name: str) -> np.ndarray:
    """A map over its largest value (0 to 1): maps at different resolutions compare."""
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
            {n: _scaled(frame, n) for n in names},
            titles={n: _title(frame, n) for n in names},
            mask=frame["mask"],
            vmax=1.0,
            label=LABEL,
            suptitle=title,
        )


FIGSIZE = (COLUMN_WIDTH, 2 * maps_figsize(4, side=1.25, title_lines=3, suptitle=True)[1])
"""The static explorer's figure: two rows of maps, four and two."""


def answer_explorer(
    models: Mapping[str, nn.Module], *, seed: int = 0, frames: int = 6
) -> Explorer:
    """Move one bird under all six models: the maps multiplied by (top) and read off
    after (bottom). Static: the bird crossing the image from left to right at mid
    height; live: x and y sliders."""
    import ipywidgets as w

    models = _check_models(models)
    (y_low, y_high), (x_low, x_high) = scene_reach(BIRD_SIZE)
    sweep = [
        answer_frame(models, 0.5, x, seed=seed) for x in np.linspace(x_low, x_high, frames)
    ]
    controls = {
        "y": w.FloatSlider(0.5, min=y_low, max=y_high, step=0.02, description="y"),
        "x": w.FloatSlider(x_low, min=x_low, max=x_high, step=0.02, description="x"),
    }
    pictures = {n: w.Image(format="png", width=PICTURE, height=PICTURE) for n in NAMES}
    captions = {n: _caption() for n in NAMES}
    for c in captions.values():
        c.layout.width = f"{PICTURE}px"
        c.layout.height = "auto"

    def redraw(_change: object = None) -> None:
        f = answer_frame(models, controls["y"].value, controls["x"].value, seed=seed)
        for n in NAMES:
            pictures[n].value = overlay_png(
                f["image"], _scaled(f, n), mask=f["mask"], vmax=1.0, scale=3
            )
            captions[
                n
            ].value = f"{NAMES[n]}: {f['mass'][n]:.2f} on bird (flat {f['flat'][n]:.2f})"

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()

    def row(names: tuple[str, ...], title: str) -> Any:
        boxes = [
            w.VBox([captions[n], pictures[n]], layout=w.Layout(width=f"{PICTURE + 8}px"))
            for n in names
        ]
        return w.VBox([w.HTML(f"<b>{title}</b>"), w.HBox(boxes)])

    bar = colour_bar(CMAP, 0.0, 1.0, LABEL, height=PICTURE)
    live = w.VBox(
        [
            w.HBox(list(controls.values())),
            w.HBox(
                [
                    w.VBox([row(MULTIPLIED, ROW_TITLES[0]), row(READ_OFF, ROW_TITLES[1])]),
                    bar,
                ]
            ),
        ]
    )
    alt = (
        "A bird crossing a cluttered scene from left to right under all six models. "
        "Top row, the maps each model multiplies by: logistic regression's weights and "
        "the fixed mask stay where they are while the bird moves; attention pooling's "
        "weights and the ViT class token's attention move with the bird. Bottom row, "
        "maps read off after the fact: the MLP's saliency and the CNN's class "
        "activation map. Each map's share on the bird is printed above it, beside the "
        "flat baseline."
    )
    static = scrubber(draw_answer, sweep, alt=alt, figsize=FIGSIZE)
    return Explorer(live, static, "every model's map explorer")
