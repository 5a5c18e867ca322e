"""Chapter 3's explorers: what a learned filter responds to, and moving the bird.

* :func:`filter_frame` (a trained :class:`~helpers.models.PooledCNN`, a filter of its
  first convolution -> the filter and its response on a bird scene and on a
  photograph) drawn by :func:`draw_filter`, live in :func:`filter_explorer`;
* :func:`cnn_move_frame` (the bird's centre -> P(bird), one feature map and the class
  activation map) drawn by :func:`draw_cnn_move`, live in :func:`cnn_move_explorer`:
  the feature map and the CAM move with the bird; the pooling weights, 1/36 in every
  cell, never do.

Each is a pure *parameters -> data to draw* function, a live ipywidgets control and
a static scrubber for the book (see :mod:`helpers.widgets`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from helpers.cam import class_activation_map
from helpers.inference import eval_mode
from helpers.models import PooledCNN
from helpers.scenes import render_scene
from helpers.viz import COLUMN_WIDTH, DIVERGING, colour, outline, to_hwc, to_png
from helpers.widgets import Explorer, colour_bar, scene_reach, scrubber

__all__ = [
    "photo",
    "filter_frame",
    "draw_filter",
    "filter_explorer",
    "cnn_move_frame",
    "draw_cnn_move",
    "cnn_move_explorer",
]

FILTER_FIGSIZE = (COLUMN_WIDTH, 2.4)
"""The filter explorer's frames in inches: the filter, then two responses."""
MOVE_FIGSIZE = (COLUMN_WIDTH, 2.3)
"""The move-the-bird frames in inches: the scene, a feature map, the CAM."""


@lru_cache(maxsize=4)
def photo(width: int = 96) -> np.ndarray:
    """Grace Hopper's portrait, which matplotlib ships in its sample data (no
    download): (3, H, W) float32 in [0, 1], ``width`` pixels wide, aspect kept."""
    from matplotlib import cbook
    from PIL import Image

    if isinstance(width, bool) or not isinstance(width, int) or not 16 <= width <= 512:
        raise ValueError(f"width must be an int from 16 to 512, got {width!r}")
    with Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as im:
        height = round(im.height * width / im.width)
        small = im.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
    return (np.asarray(small, dtype=np.float32) / 255.0).transpose(2, 0, 1).copy()


def _first_conv(model: PooledCNN) -> torch.nn.Conv2d:
    if not isinstance(model, PooledCNN):
        raise TypeError(f"model must be a helpers.models.PooledCNN, got {type(model)}")
    return model.backbone.net[0]


@torch.no_grad()
def filter_frame(model: PooledCNN, k: int = 0, *, seed: int = 0) -> dict[str, Any]:
    """Parameters -> data to draw: first-layer filter ``k`` and what it responds to.

    Returns:
        ``filter`` (3, 3, 3): its weights (channel, row, column); ``scene`` (3, 48,
        48) a bird scene and ``scene_response`` (48, 48); ``photo`` (3, H, W) and
        ``photo_response`` (H, W): the filter slid over each image (the layer's own
        circular padding, before BatchNorm and ReLU); ``limit`` the largest absolute
        response of the two (a symmetric colour scale); and ``params``.
    """
    conv = _first_conv(model)
    n = conv.out_channels
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < n:
        raise ValueError(f"k must be a filter index from 0 to {n - 1}, got {k!r}")
    scene = render_scene((0.45, 0.55), bird_size=0.5, distractors=2, seed=seed)
    dev = conv.weight.device
    responses = []
    for image in (scene.images[0], photo()):
        x = torch.from_numpy(image)[None].to(dev)
        responses.append(conv(x)[0, k].cpu().numpy())
    return {
        "filter": conv.weight[k].cpu().numpy(),
        "scene": scene.images[0],
        "mask": scene.masks[0],
        "scene_response": responses[0],
        "photo": photo().copy(),
        "photo_response": responses[1],
        "limit": float(max(np.abs(r).max() for r in responses)),
        "params": {"k": int(k), "seed": seed},
    }


def _response(ax: Axes, values: np.ndarray, limit: float, title: str) -> Any:
    shown = ax.imshow(values, cmap=DIVERGING, vmin=-limit, vmax=limit)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    return shown


def draw_filter(fig: Figure, frame: dict[str, Any], limit: float | None = None) -> None:
    """Draw a :func:`filter_frame`: the filter's three colour channels, then its
    response on the scene and on the photograph on one symmetric colour scale,
    -limit to limit (the frame's own ``limit`` by default)."""
    grid = fig.add_gridspec(
        3, 3, width_ratios=[0.5, 1, 1], left=0.1, right=0.83, bottom=0.04, top=0.84
    )
    w = frame["filter"]
    wmax = float(np.abs(w).max())
    for c, name in enumerate(("red", "green", "blue")):
        ax = fig.add_subplot(grid[c, 0])
        ax.imshow(w[c], cmap=DIVERGING, vmin=-wmax, vmax=wmax)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(name, rotation=0, ha="right", va="center")
    fig.text(0.16, 0.93, f"filter {frame['params']['k']}", ha="center", va="center")
    limit = frame["limit"] if limit is None else limit
    _response(fig.add_subplot(grid[:, 1]), frame["scene_response"], limit, "on a scene")
    shown = _response(
        fig.add_subplot(grid[:, 2]), frame["photo_response"], limit, "on a photograph"
    )
    cax = fig.add_axes((0.85, 0.04, 0.015, 0.8))
    fig.colorbar(shown, cax=cax).set_label("response")


def _signed_png(values: np.ndarray, limit: float, scale: int) -> bytes:
    """Values (H, W) in :data:`~helpers.viz.DIVERGING` colours, -limit to limit."""
    return to_png(colour(values, DIVERGING, -limit, limit), scale=scale)


def _filter_png(weights: np.ndarray) -> bytes:
    """A filter (3, 3, 3) as its red, green and blue 3x3 weights side by side (a blank
    column between), each pixel 16 wide, on the filter's own symmetric scale."""
    gap = np.zeros((3, 1))
    row = np.concatenate([weights[0], gap, weights[1], gap, weights[2]], axis=1)
    return _signed_png(row, float(np.abs(weights).max()) or 1.0, scale=16)


def filter_explorer(model: PooledCNN, *, frames: int = 8) -> Explorer:
    """Pick a learned first-layer filter; see what it responds to in a bird scene and
    in a photograph it never saw. Static: the first ``frames`` filters.

    Live and static share one colour scale for the responses: the largest response
    of any filter on either image, with its colour bar.
    """
    import ipywidgets as w

    n = _first_conv(model).out_channels
    every = [filter_frame(model, k) for k in range(n)]
    limit = max(f["limit"] for f in every)
    slider = w.IntSlider(0, min=0, max=n - 1, description="filter")
    weights = w.Image(format="png", width=176, height=48)
    scene = w.Image(format="png", width=192, height=192)
    photo_view = w.Image(format="png", width=192, height=224)

    def redraw(_change: object = None) -> None:
        frame = every[slider.value]
        weights.value = _filter_png(frame["filter"])
        scene.value = _signed_png(frame["scene_response"], limit, scale=4)
        photo_view.value = _signed_png(frame["photo_response"], limit, scale=2)

    slider.observe(redraw, names="value")
    redraw()
    bar = colour_bar(DIVERGING, -limit, limit, "response", height=224)
    label = w.HTML("filter weights: red, green, blue (orange +, purple -)")
    row = w.HBox([scene, photo_view, bar], layout=w.Layout(align_items="flex-end"))
    live = w.VBox([slider, label, weights, row])
    alt = (
        "The first convolution's learned 3x3 filters, one per frame: each filter's "
        "colour weights, and its response on a bird scene and on a portrait photograph; "
        "edge-like filters light up along the bird's outline and along the edges of "
        "the face and uniform."
    )
    static = scrubber(
        lambda fig, f: draw_filter(fig, f, limit),
        every[:frames],
        alt=alt,
        figsize=FILTER_FIGSIZE,
        interval_ms=900,
    )
    return Explorer(live, static, "filter explorer")


# ----------------------------------------------------------------------------------
# Move the bird: the feature maps and the CAM move with it; the pooling does not.


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
    from helpers.viz import CMAP

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

    from helpers.viz import CMAP

    strongest_channel(model)  # checks the model
    (y_low, y_high), (x_low, x_high) = scene_reach(0.5)
    sweep = [
        cnn_move_frame(model, 0.5, x, seed=seed) for x in np.linspace(x_low, x_high, frames)
    ]
    feature_max = float(max(f["feature"].max() for f in sweep))
    cam_limit = float(max(np.abs(f["cam"]).max() for f in sweep))
    sliders = {
        "y": w.FloatSlider(0.5, min=y_low, max=y_high, step=0.02, description="y"),
        "x": w.FloatSlider(0.5, min=x_low, max=x_high, step=0.02, description="x"),
    }
    side = 192
    pictures = [w.Image(format="png", width=side, height=side) for _ in range(3)]
    captions = [w.HTML(layout=w.Layout(width=f"{side}px")) for _ in range(3)]

    def coloured(values: np.ndarray, low: float, high: float, cmap: str) -> np.ndarray:
        rgb = colour(values, cmap, low, high)  # (3, h, w): one colour per grid cell
        return np.repeat(np.repeat(rgb, 8, axis=1), 8, axis=2)

    def redraw(_change: object = None) -> None:
        f = cnn_move_frame(model, sliders["y"].value, sliders["x"].value, seed=seed)
        pictures[0].value = to_png(f["image"], scale=4, mask=f["mask"])
        blend = 0.25 * f["image"]
        feat = coloured(f["feature"], 0.0, feature_max, CMAP)
        pictures[1].value = to_png(blend + 0.75 * feat, scale=4, mask=f["mask"])
        cam = coloured(f["cam"], -cam_limit, cam_limit, DIVERGING)
        pictures[2].value = to_png(blend + 0.75 * cam, scale=4, mask=f["mask"])
        captions[0].value = f"P(bird) = {f['prob']:.2f}"
        captions[1].value = f"feature {f['params']['channel']}"
        captions[2].value = "CAM (pooling 1/36 each)"

    for slider in sliders.values():
        slider.observe(redraw, names="value")
    redraw()
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
        figsize=MOVE_FIGSIZE,
    )
    return Explorer(live, static, "CNN move-the-bird explorer")
