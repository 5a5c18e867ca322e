"""Chapter 2's move-the-bird explorer: an MLP's saliency moves, its weights do not.

:func:`move_frame` (a trained MLP, the bird's centre -> P(bird), the saliency map and
the first layer's weights over the image) drawn by :func:`draw_move`, live in
:func:`move_explorer`; static: the bird crossing the image.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from helpers.explorers.framework import (
    Explorer,
    bird_sliders,
    bird_sweep,
    build,
    colour_bar,
    scrubber,
)
from helpers.explorers.png import colour, overlay_png, to_png
from helpers.inference import eval_mode
from helpers.models import MLP
from helpers.saliency import centroid, saliency
from helpers.scenes import render_scene
from helpers.viz import CMAP, COLUMN_WIDTH, outline, overlay, to_hwc

__all__ = [
    "weight_energy",
    "move_frame",
    "MLP_MOVE_FIGSIZE",
    "draw_move",
    "move_explorer",
]


def weight_energy(model: MLP) -> np.ndarray:
    """(H, W): the length of each pixel's first-layer weights, over units and channels.

    sqrt(sum_j sum_c W_1[j, c, y, x]^2): how strongly the first layer is connected to
    pixel (y, x). A parameter: the same map for every image.
    """
    if not isinstance(model, MLP):
        raise TypeError(f"model must be a helpers.models.MLP, got {type(model).__name__}")
    t = model.templates().double()
    return (t**2).sum(dim=(0, 1)).sqrt().numpy()


def move_frame(
    model: MLP,
    y: float = 0.5,
    x: float = 0.5,
    *,
    bird_size: float = 0.5,
    distractors: int = 1,
    seed: int = 0,
) -> dict[str, Any]:
    """Parameters -> data to draw: the bird at (y, x) under a trained MLP.

    Returns:
        ``image`` (3, H, W), ``mask`` (H, W), ``center`` (2,) the bird's centre,
        ``prob`` P(bird), ``saliency`` (H, W) (:func:`helpers.saliency.saliency`),
        ``saliency_center`` (2,) its centre of mass, ``weights`` (H, W) the fixed
        :func:`weight_energy`, and ``params``.
    """
    if not isinstance(model, MLP):
        raise TypeError(f"model must be a helpers.models.MLP, got {type(model).__name__}")
    scene = render_scene(
        (y, x), bird_size=bird_size, distractors=distractors, seed=seed, size=model.size
    )
    sal = saliency(model, scene.images)
    with eval_mode(model), torch.no_grad():
        logit = float(model(torch.from_numpy(scene.images))[0])
    return {
        "image": scene.images[0],
        "mask": scene.masks[0],
        "center": scene.centers[0],
        "prob": float(1.0 / (1.0 + np.exp(-logit))),
        "saliency": sal[0],
        "saliency_center": centroid(sal)[0],
        "weights": weight_energy(model),
        "params": {"y": y, "x": x, "bird_size": bird_size, "distractors": distractors},
    }


MLP_MOVE_FIGSIZE = (COLUMN_WIDTH, 2.25)
"""The move-the-bird frames' size in inches: three square panels in a row."""


def draw_move(
    fig: Figure, frame: dict[str, Any], vmax: float, wmax: float, wmin: float = 0.0
) -> None:
    """Draw a :func:`move_frame`: the scene with P(bird), its saliency (colour scale
    0 to ``vmax``, the centre of mass marked) and the first layer's weights (0 to
    ``wmax``; from ``wmin``, e.g. the map's smallest value, to show its structure),
    the last the same in every frame."""
    scene, sal, weights = fig.subplots(1, 3)
    scene.imshow(to_hwc(frame["image"]))
    outline(scene, frame["mask"])
    scene.set_xlabel("x (pixels)")
    scene.set_ylabel("y (pixels)")
    scene.set_title(f"P(bird) = {frame['prob']:.2f}")
    overlay(
        sal,
        frame["image"],
        frame["saliency"],
        vmax=vmax,
        label="|dz/dx|",
        mask=frame["mask"],
    )
    h, w = frame["saliency"].shape
    cy, cx = frame["saliency_center"]
    sal.plot([cx * w], [cy * h], "+", color="white", ms=10, mew=2)
    sal.set_title("saliency (this image)")
    shown = weights.imshow(frame["weights"], cmap=CMAP, vmin=wmin, vmax=wmax)
    weights.set_xlabel("x (pixels)")
    bar = fig.colorbar(shown, ax=weights, fraction=0.046, pad=0.04)
    bar.set_label("weight size")
    weights.set_title("weights (every image)")
    for ax in (sal, weights):  # the scene's y axis serves all three
        ax.set_ylabel("")
        ax.tick_params(labelleft=False)
    fig.subplots_adjust(left=0.08, right=0.9, bottom=0.2, top=0.9, wspace=0.5)


def move_explorer(model: MLP, *, seed: int = 0, frames: int = 8) -> Explorer:
    """Move the bird under a trained MLP: P(bird) and the saliency follow the input;
    the first layer's weights, parameters, stay where they are.

    Live: x and y sliders, the scene, the saliency and the weights on fixed colour
    scales. Static: the bird crossing the image from left to right.
    """
    import ipywidgets as w

    if not isinstance(model, MLP):
        raise TypeError(f"model must be a helpers.models.MLP, got {type(model).__name__}")
    sweep = bird_sweep(lambda y, x: move_frame(model, y, x, seed=seed), 0.5, frames)
    vmax = float(np.percentile([f["saliency"] for f in sweep], 99.5))
    wmin, wmax = float(sweep[0]["weights"].min()), float(sweep[0]["weights"].max())
    sliders = bird_sliders(0.5)
    side = 192
    pictures = [w.Image(format="png", width=side, height=side) for _ in range(3)]
    pictures[2].value = to_png(
        colour(sweep[0]["weights"], CMAP, wmin, wmax), scale=4
    )  # drawn once
    captions = [w.HTML(layout=w.Layout(width=f"{side}px")) for _ in range(3)]
    captions[1].value = "saliency |dz/dx| (this image)"
    captions[2].value = "first-layer weights (every image)"

    def show(frame: dict[str, Any]) -> None:
        pictures[0].value = to_png(frame["image"], scale=4, mask=frame["mask"])
        pictures[1].value = overlay_png(
            frame["image"], frame["saliency"], vmax=vmax, scale=4, mask=frame["mask"]
        )
        cy, cx = frame["saliency_center"]
        captions[0].value = f"P(bird) = {frame['prob']:.2f}"
        captions[1].value = f"saliency |dz/dx|, centre ({cy:.2f}, {cx:.2f})"

    bar = colour_bar(CMAP, 0.0, vmax, "saliency |dz/dx|", height=side, extend="max")
    columns = [w.VBox([c, p]) for c, p in zip(captions, pictures, strict=True)]
    live = w.VBox([w.HBox(list(sliders.values())), w.HBox([*columns[:2], bar, columns[2]])])
    alt = (
        "A bird crossing the image from left to right under a trained MLP: its P(bird) "
        "changes, the saliency map (the gradient of the logit with respect to the pixels) "
        "changes a little from frame to frame, and the first layer's weight map stays the "
        "same in every frame."
    )
    static = scrubber(
        lambda fig, f: draw_move(fig, f, vmax, wmax, wmin),
        sweep,
        alt=alt,
        figsize=MLP_MOVE_FIGSIZE,
    )
    return build(
        "move-the-bird explorer",
        controls=sliders,
        frame=lambda y, x: move_frame(model, y, x, seed=seed),
        show=show,
        live=live,
        static=static,
    )
