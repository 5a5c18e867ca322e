"""Chapter 3's filter explorer: what a learned first-layer filter responds to.

:func:`filter_frame` (a trained :class:`~helpers.models.PooledCNN`, a filter of its
first convolution -> the filter and its response on a bird scene and on a photograph)
drawn by :func:`draw_filter`, live in :func:`filter_explorer`; static: the first
filters in turn.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from helpers.explorers.framework import Explorer, build, colour_bar, scrubber
from helpers.explorers.png import signed_png
from helpers.models import PooledCNN
from helpers.scenes import render_scene
from helpers.viz import COLUMN_WIDTH, DIVERGING

__all__ = ["FILTER_FIGSIZE", "photo", "filter_frame", "draw_filter", "filter_explorer"]

FILTER_FIGSIZE = (COLUMN_WIDTH, 2.4)
"""The filter explorer's frames in inches: the filter, then two responses."""


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


def _filter_png(weights: np.ndarray) -> bytes:
    """A filter (3, 3, 3) as its red, green and blue 3x3 weights side by side (a blank
    column between), each pixel 16 wide, on the filter's own symmetric scale."""
    gap = np.zeros((3, 1))
    row = np.concatenate([weights[0], gap, weights[1], gap, weights[2]], axis=1)
    return signed_png(row, float(np.abs(weights).max()) or 1.0, scale=16)


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

    def show(frame: dict[str, Any]) -> None:
        weights.value = _filter_png(frame["filter"])
        scene.value = signed_png(frame["scene_response"], limit, scale=4)
        photo_view.value = signed_png(frame["photo_response"], limit, scale=2)

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
    return build(
        "filter explorer",
        controls={"k": slider},
        frame=lambda k: every[k],
        show=show,
        live=live,
        static=static,
    )
