"""Chapter 2's explorers: initialisation at depth, and moving the bird under an MLP.

* :func:`~helpers.initialisation.depth_frame` (depth, activation, init -> the standard
  deviation of activations and gradients per layer) drawn by :func:`draw_depth`, live
  in :func:`depth_explorer`;
* :func:`move_frame` (a trained MLP, the bird's centre -> P(bird), the saliency map
  and the first layer's weights over the image) drawn by :func:`draw_move`, live in
  :func:`move_explorer`: the saliency moves, the weights do not.

Each is a pure *parameters -> data to draw* function, a live ipywidgets control and
a static scrubber for the book (see :mod:`helpers.widgets`).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from helpers.inference import eval_mode
from helpers.initialisation import depth_frame
from helpers.models import ACTIVATIONS, INITS, MLP
from helpers.saliency import centroid, saliency
from helpers.scenes import render_scene
from helpers.viz import (
    CMAP,
    COLUMN_WIDTH,
    DPI,
    colour,
    outline,
    overlay,
    overlay_png,
    to_hwc,
    to_png,
)
from helpers.widgets import Explorer, colour_bar, scene_reach, scrubber

__all__ = [
    "STD_LIMITS",
    "INIT_NAMES",
    "draw_depth",
    "DepthView",
    "depth_explorer",
    "weight_energy",
    "move_frame",
    "draw_move",
    "move_explorer",
]

STD_LIMITS = (1e-20, 10.0)
"""The depth plots' fixed y range (log scale): from vanished to exploded."""
INIT_NAMES = {"naive": "naive (std 0.01)", "glorot": "Glorot", "he": "He"}
"""How the plots and menus name each initialisation."""
MAX_DEPTH = 20
"""The depth explorer's deepest net (hidden layers)."""
DEPTH_FIGSIZE = (COLUMN_WIDTH, 2.5)
"""The depth plots' size in inches (static frames and the live view)."""


def _depth_axes(fig: Figure) -> tuple[Axes, Axes]:
    """Two log-scale panels, activations and gradients, on fixed axes."""
    left, right = fig.subplots(1, 2)
    for ax, what in ((left, "activations h_l"), (right, "gradients dL/dW_l")):
        ax.set_yscale("log")
        ax.set_ylim(*STD_LIMITS)
        ax.set_xlim(0.5, MAX_DEPTH + 0.5)
        ax.set_xticks([1, 5, 10, 15, 20])
        ax.set_xlabel("hidden layer l")
        ax.set_ylabel(f"std of {what}")
        ax.grid(True, which="major", axis="y", color="0.9", lw=0.6)
    fig.subplots_adjust(left=0.1, right=0.98, bottom=0.19, top=0.88, wspace=0.32)
    return left, right


def _depth_title(params: dict[str, Any]) -> str:
    return (
        f"{params['depth']} hidden layers of {params['width']}, {params['activation']}, "
        f"{INIT_NAMES[params['init']]} initialisation"
    )


def draw_depth(fig: Figure, frame: dict[str, Any]) -> None:
    """Draw a :func:`~helpers.initialisation.depth_frame`: the standard deviation of
    each hidden layer's activations (left) and weight gradients (right), log scale."""
    left, right = _depth_axes(fig)
    left.plot(frame["layer"], frame["activation_std"], "o-", color="#5e3c99", ms=4)
    right.plot(frame["layer"], frame["gradient_std"], "s-", color="#e66101", ms=4)
    fig.suptitle(_depth_title(frame["params"]))


class DepthView:
    """The live depth explorer's picture: ``show(frame)`` -> PNG.

    The axes are drawn once and kept as a background; each frame redraws only the
    two lines over it (blitting), in a few milliseconds.
    """

    def __init__(self) -> None:
        self.fig = Figure(figsize=DEPTH_FIGSIZE, dpi=DPI)
        self.canvas = FigureCanvasAgg(self.fig)
        left, right = _depth_axes(self.fig)
        (self.activations,) = left.plot([], [], "o-", color="#5e3c99", ms=4, animated=True)
        (self.gradients,) = right.plot([], [], "s-", color="#e66101", ms=4, animated=True)
        self.axes = (left, right)
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(self.fig.bbox)

    def show(self, frame: dict[str, Any]) -> bytes:
        """Draw a depth frame's two lines on the fixed axes; return the PNG."""
        from PIL import Image

        self.canvas.restore_region(self.background)
        self.activations.set_data(frame["layer"], frame["activation_std"])
        self.gradients.set_data(frame["layer"], frame["gradient_std"])
        self.axes[0].draw_artist(self.activations)
        self.axes[1].draw_artist(self.gradients)
        buffer = io.BytesIO()
        pixels = np.asarray(self.canvas.buffer_rgba())[..., :3]
        Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
        return buffer.getvalue()


def _depth_caption(frame: dict[str, Any]) -> str:
    a, g = frame["activation_std"], frame["gradient_std"]
    return (
        f"{_depth_title(frame['params'])}: activation std {a[0]:.2g} (layer 1) to "
        f"{a[-1]:.2g} (layer {len(a)}); gradient std {g[0]:.2g} to {g[-1]:.2g}"
    )


def depth_explorer(*, depth: int = 15) -> Explorer:
    """Choose a depth, an activation and an initialisation; see each layer's statistics.

    Live: a depth slider (1 to 20 hidden layers of 256) and two menus; the plots keep
    fixed axes. Static: the six (activation, initialisation) pairs at ``depth``.
    """
    import ipywidgets as w

    if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= MAX_DEPTH:
        raise ValueError(f"depth must be an int from 1 to {MAX_DEPTH}, got {depth!r}")
    controls = {
        "depth": w.IntSlider(depth, min=1, max=MAX_DEPTH, description="depth"),
        "activation": w.Dropdown(
            options=ACTIVATIONS, value="tanh", description="activation"
        ),
        "init": w.Dropdown(
            options=[(INIT_NAMES[i], i) for i in INITS], value="glorot", description="init"
        ),
    }
    view = DepthView()
    width, height = (round(v * DPI) for v in DEPTH_FIGSIZE)
    picture = w.Image(format="png", width=width, height=height)
    caption = w.HTML(layout=w.Layout(width=f"{width}px", height="3em"))

    def redraw(_change: object = None) -> None:
        frame = depth_frame(**{k: c.value for k, c in controls.items()})
        picture.value = view.show(frame)
        caption.value = _depth_caption(frame)

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    live = w.VBox([w.HBox(list(controls.values())), caption, picture])
    sweep = [depth_frame(depth, a, i) for a in ACTIVATIONS for i in INITS]
    alt = (
        f"Per-layer standard deviations in a {depth}-layer MLP for ReLU and tanh with "
        "naive, Glorot and He initialisation, log scale: with the naive 0.01 the "
        "activations shrink by orders of magnitude with depth and every layer's weight "
        "gradient is tiny; He keeps ReLU's activations flat and Glorot keeps tanh's "
        "within a small factor."
    )
    static = scrubber(draw_depth, sweep, alt=alt, figsize=DEPTH_FIGSIZE, interval_ms=1200)
    return Explorer(live, static, "depth explorer")


# ----------------------------------------------------------------------------------
# Move the bird: the MLP's P(bird) and saliency follow the input, its weights do not.


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


MOVE_FIGSIZE = (COLUMN_WIDTH, 2.25)
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
    (y_low, y_high), (x_low, x_high) = scene_reach(0.5)
    sweep = [
        move_frame(model, 0.5, x, seed=seed) for x in np.linspace(x_low, x_high, frames)
    ]
    vmax = float(np.percentile([f["saliency"] for f in sweep], 99.5))
    wmin, wmax = float(sweep[0]["weights"].min()), float(sweep[0]["weights"].max())
    sliders = {
        "y": w.FloatSlider(0.5, min=y_low, max=y_high, step=0.02, description="y"),
        "x": w.FloatSlider(0.5, min=x_low, max=x_high, step=0.02, description="x"),
    }
    side = 192
    pictures = [w.Image(format="png", width=side, height=side) for _ in range(3)]
    pictures[2].value = to_png(
        colour(sweep[0]["weights"], CMAP, wmin, wmax), scale=4
    )  # drawn once
    captions = [w.HTML(layout=w.Layout(width=f"{side}px")) for _ in range(3)]
    captions[1].value = "saliency |dz/dx| (this image)"
    captions[2].value = "first-layer weights (every image)"

    def redraw(_change: object = None) -> None:
        frame = move_frame(model, sliders["y"].value, sliders["x"].value, seed=seed)
        pictures[0].value = to_png(frame["image"], scale=4, mask=frame["mask"])
        pictures[1].value = overlay_png(
            frame["image"], frame["saliency"], vmax=vmax, scale=4, mask=frame["mask"]
        )
        cy, cx = frame["saliency_center"]
        captions[0].value = f"P(bird) = {frame['prob']:.2f}"
        captions[1].value = f"saliency |dz/dx|, centre ({cy:.2f}, {cx:.2f})"

    for slider in sliders.values():
        slider.observe(redraw, names="value")
    redraw()
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
        figsize=MOVE_FIGSIZE,
    )
    return Explorer(live, static, "move-the-bird explorer")
