"""Chapter 3's move-the-bird explorer: feature maps and the CAM move, pooling does not.

:func:`cnn_move_frame` (the bird's centre -> P(bird), one feature map and the class
activation map of an "avg" :class:`~helpers.models.PooledCNN`) drawn by
:func:`draw_cnn_move`, live in :func:`cnn_move_explorer`: the feature map and the CAM
move with the bird; the pooling weights, 1/36 in every cell, never do.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from helpers.cam import class_activation_map
from helpers.explorers.framework import (
    Explorer,
    bird_sliders,
    bird_sweep,
    build,
    colour_bar,
    scrubber,
)
from helpers.explorers.png import colour, to_png
from helpers.inference import eval_mode
from helpers.models import PooledCNN
from helpers.scenes import render_scene
from helpers.viz import CMAP, COLUMN_WIDTH, DIVERGING, outline, to_hwc

__all__ = [
    "CNN_MOVE_FIGSIZE",
    "strongest_channel",
    "cnn_move_frame",
    "draw_cnn_move",
    "cnn_move_explorer",
]

CNN_MOVE_FIGSIZE = (COLUMN_WIDTH, 2.3)
"""The move-the-bird frames in inches: the scene, a feature map, the CAM."""


def strongest_channel(model: PooledCNN) -> int:
    """The backbone channel with the largest positive classifier weight: the feature
    that adds most to "bird" per unit of activation."""
    if not isinstance(model, PooledCNN) or model.pool != "avg":
        raise TypeError('model must be a helpers.models.PooledCNN("avg")')
    return int(torch.argmax(model.classifier.weight[0]).item())


@torch.no_grad()
def cnn_move_frame(
    model: PooledCNN,
    y: float = 0.5,
    x: float = 0.5,
    *,
    bird_size: float = 0.5,
    distractors: int = 1,
    seed: int = 0,
) -> dict[str, Any]:
    """Parameters -> data to draw: the bird at (y, x) under an "avg" PooledCNN.

    Returns:
        ``image`` (3, H, W), ``mask`` (H, W), ``center`` (2,), ``prob`` P(bird),
        ``feature`` (h, w) the grid of the :func:`strongest_channel`, ``cam`` (h, w)
        the class activation map, ``cam_center`` (2,) the centre of its positive
        part as fractions, ``pool`` (h, w) the pooling weights (1 / hw), ``params``.
    """
    channel = strongest_channel(model)
    scene = render_scene((y, x), bird_size=bird_size, distractors=distractors, seed=seed)
    images = torch.from_numpy(scene.images)
    with eval_mode(model):
        dev = next(model.parameters()).device
        features = model.backbone(images.to(dev))[0].cpu().numpy()
        logit = float(model(images.to(dev))[0])
        pool = model.pool_weights(images)[0].numpy()
    cam = class_activation_map(model, images)[0]
    h, w = cam.shape
    positive = np.clip(cam, 0, None) + 1e-12
    cy = float((positive.sum(1) * (np.arange(h) + 0.5) / h).sum() / positive.sum())
    cx = float((positive.sum(0) * (np.arange(w) + 0.5) / w).sum() / positive.sum())
    return {
        "image": scene.images[0],
        "mask": scene.masks[0],
        "center": scene.centers[0],
        "prob": float(1 / (1 + np.exp(-logit))),
        "feature": features[channel],
        "cam": cam,
        "cam_center": np.array([cy, cx]),
        "pool": pool,
        "params": {"y": y, "x": x, "channel": channel},
    }


def _grid_over(ax: Axes, frame: dict[str, Any], values: np.ndarray, limit: float, cmap):
    """A grid of values over the scene's extent, the bird outlined."""
    size = frame["image"].shape[-1]
    ax.imshow(to_hwc(frame["image"]), extent=(0, size, size, 0))
    shown = ax.imshow(
        values,
        cmap=cmap,
        vmin=-limit if cmap == DIVERGING else 0.0,
        vmax=limit,
        alpha=0.75,
        extent=(0, size, size, 0),
        interpolation="nearest",
    )
    outline(ax, frame["mask"])
    ax.set_xticks([0, 20, 40])
    ax.set_yticks([])
    ax.set_xlabel("x (pixels)")
    return shown


def draw_cnn_move(
    fig: Figure, frame: dict[str, Any], feature_max: float, cam_limit: float
) -> None:
    """Draw a :func:`cnn_move_frame`: the scene with P(bird); the strongest feature
    map (0 to ``feature_max``); the CAM (``-cam_limit`` to ``cam_limit``), its
    positive part's centre marked. Pooling weights are uniform: said in the title."""
    scene, feature, cam = fig.subplots(1, 3)
    scene.imshow(to_hwc(frame["image"]))
    outline(scene, frame["mask"])
    scene.set_xticks([0, 20, 40])
    scene.set_yticks([0, 20, 40])
    scene.set_xlabel("x (pixels)")
    scene.set_ylabel("y (pixels)")
    scene.set_title(f"P(bird) = {frame['prob']:.2f}")
    shown = _grid_over(feature, frame, frame["feature"], feature_max, CMAP)
    feature.set_title(f"feature {frame['params']['channel']}")
    fig.colorbar(shown, ax=feature, fraction=0.046, pad=0.04).set_label("activation")
    shown = _grid_over(cam, frame, frame["cam"], cam_limit, DIVERGING)
    size = frame["image"].shape[-1]
    cy, cx = frame["cam_center"] * size
    cam.plot([cx], [cy], "+", color="black", ms=10, mew=2)
    cam.set_title("CAM (pooling 1/36 each)")
    fig.colorbar(shown, ax=cam, fraction=0.046, pad=0.04).set_label("cell score w·f")
    fig.subplots_adjust(left=0.08, right=0.86, bottom=0.2, top=0.88, wspace=0.5)


def cnn_move_explorer(model: PooledCNN, *, seed: int = 0, frames: int = 8) -> Explorer:
    """Move the bird under an "avg" PooledCNN: its strongest feature map and its
    class activation map follow the bird; its pooling weights stay 1/36 everywhere.

    Live: x and y sliders and the three pictures on fixed colour scales. Static: the
    bird crossing the image from left to right.
    """
    import ipywidgets as w

    strongest_channel(model)  # checks the model
    sweep = bird_sweep(lambda y, x: cnn_move_frame(model, y, x, seed=seed), 0.5, frames)
    feature_max = float(max(f["feature"].max() for f in sweep))
    cam_limit = float(max(np.abs(f["cam"]).max() for f in sweep))
    sliders = bird_sliders(0.5)
    side = 192
    pictures = [w.Image(format="png", width=side, height=side) for _ in range(3)]
    captions = [w.HTML(layout=w.Layout(width=f"{side}px")) for _ in range(3)]

    def coloured(values: np.ndarray, low: float, high: float, cmap: str) -> np.ndarray:
        rgb = colour(values, cmap, low, high)  # (3, h, w): one colour per grid cell
        return np.repeat(np.repeat(rgb, 8, axis=1), 8, axis=2)

    def show(f: dict[str, Any]) -> None:
        pictures[0].value = to_png(f["image"], scale=4, mask=f["mask"])
        blend = 0.25 * f["image"]
        feat = coloured(f["feature"], 0.0, feature_max, CMAP)
        pictures[1].value = to_png(blend + 0.75 * feat, scale=4, mask=f["mask"])
        cam = coloured(f["cam"], -cam_limit, cam_limit, DIVERGING)
        pictures[2].value = to_png(blend + 0.75 * cam, scale=4, mask=f["mask"])
        captions[0].value = f"P(bird) = {f['prob']:.2f}"
        captions[1].value = f"feature {f['params']['channel']}"
        captions[2].value = "CAM (pooling 1/36 each)"

    bars = [
        w.VBox([w.HTML(layout=w.Layout(height="1.5em")), colour_bar(*bar, height=side)])
        for bar in [
            (CMAP, 0.0, feature_max, "activation"),
            (DIVERGING, -cam_limit, cam_limit, "cell score w·f"),
        ]
    ]
    columns = [w.VBox([c, p]) for c, p in zip(captions, pictures, strict=True)]
    row = w.HBox([columns[0], columns[1], bars[0], columns[2], bars[1]])
    live = w.VBox([w.HBox(list(sliders.values())), row])
    alt = (
        "A bird crossing the image from left to right under a CNN with average "
        "pooling: its strongest feature map and its class activation map light up "
        "where the bird is and move with it, while the pooling gives every cell the "
        "same weight, 1/36, in every frame."
    )
    static = scrubber(
        lambda fig, f: draw_cnn_move(fig, f, feature_max, cam_limit),
        sweep,
        alt=alt,
        figsize=CNN_MOVE_FIGSIZE,
    )
    return build(
        "CNN move-the-bird explorer",
        controls=sliders,
        frame=lambda y, x: cnn_move_frame(model, y, x, seed=seed),
        show=show,
        live=live,
        static=static,
    )
