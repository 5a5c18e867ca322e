"""Chapter 5's explorers: where each token of a vision transformer looks.

* :func:`token_frame` (a trained :class:`~helpers.models.ViT`, a query token, a layer,
  the bird's centre -> every head's attention from that token over the grid), live in
  :func:`token_explorer` (pick the query token, the layer and one head or their mean;
  move the bird); static: a scrubber over query tokens, both layers and every head;
* :func:`vit_move_frame` (the bird's centre -> P(bird), the class token's last-layer
  attention and the attention rollout), live in :func:`vit_move_explorer`; static:
  the bird crossing the image.

Token 0 is the class token; token k (1 to 36) is patch k, the grid cells numbered
row by row from the top left (patch 1 + 6 r + c in row r, column c, both from 0).
Maps are drawn by :mod:`helpers.explorers.maps`, on one fixed colour scale.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from helpers.explorers.framework import (
    Explorer,
    bird_sliders,
    bird_sweep,
    build,
    scrubber,
)
from helpers.explorers.maps import MapPanels, draw_maps, largest_weight, maps_figsize
from helpers.explorers.png import overlay_png
from helpers.inference import eval_mode
from helpers.metrics import attention_mass, flat_mass
from helpers.models import ViT
from helpers.rollout import attention_rollout, class_attention
from helpers.scenes import render_scene
from helpers.viz import COLUMN_WIDTH

__all__ = [
    "VIT_BIRD_SIZE",
    "VIT_DISTRACTORS",
    "token_name",
    "token_frame",
    "draw_token",
    "token_explorer",
    "vit_move_frame",
    "draw_vit_move",
    "vit_move_explorer",
]

VIT_BIRD_SIZE = 0.3
"""The explorers' bird size (chapter 4's scenes)."""
VIT_DISTRACTORS = 3
"""Distractors in the explorers' scenes."""
_LABEL = "attention weight"


def _check_model(model: object) -> ViT:
    if not isinstance(model, ViT):
        raise TypeError(f"model must be a helpers.models.ViT, got {type(model).__name__}")
    return model


def token_name(token: int, grid: int = 6) -> str:
    """``"class token"`` for token 0, ``"patch k"`` for the others: the grid cells
    numbered 1 to grid * grid row by row from the top left, as chapter 5 numbers the
    patches (``token_name(8) == "patch 8"``, row 2, column 2 of a 6x6 grid)."""
    if isinstance(token, bool) or not isinstance(token, (int, np.integer)):
        raise ValueError(f"token must be an int, got {token!r}")
    if not 0 <= token <= grid * grid:
        raise ValueError(f"token must be from 0 to {grid * grid}, got {token}")
    return "class token" if token == 0 else f"patch {int(token)}"


def _scene(y: float, x: float, seed: int):
    return render_scene(
        (y, x), bird_size=VIT_BIRD_SIZE, distractors=VIT_DISTRACTORS, seed=seed
    )


def _run(model: ViT, images: np.ndarray) -> tuple[float, np.ndarray]:
    """P(bird) and the attention maps (layers, heads, T, T) of one image, eval mode."""
    x = torch.from_numpy(images)
    maps = model.attention_maps(x)
    with eval_mode(model), torch.no_grad():
        logit = float(model(x.to(model.cls.device))[0])
    return float(1 / (1 + np.exp(-logit))), maps[0].double().numpy()


def token_frame(
    model: ViT, token: int = 0, layer: int = 0, y: float = 0.5, x: float = 0.3, *, seed=0
) -> dict[str, Any]:
    """Parameters -> data to draw: where token ``token`` looks in layer ``layer``.

    Returns:
        ``image`` (3, H, W), ``mask`` (H, W), ``prob`` P(bird), ``heads`` (heads, h, w)
        each head's weights from the token to the grid cells, ``mean`` (h, w) their
        mean, ``to_class`` (heads,) the weight each head gives the class token (a
        row sums to 1: cells plus class token), ``token``, ``layer``, ``name`` and
        ``params``.
    """
    model = _check_model(model)
    h, w = model.grid
    name = token_name(token, h)
    layers = len(model.blocks)
    if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)):
        raise ValueError(f"layer must be an int from 0 to {layers - 1}, got {layer!r}")
    if not 0 <= layer < layers:
        raise ValueError(f"layer must be from 0 to {layers - 1}, got {layer}")
    scene = _scene(y, x, seed)
    prob, maps = _run(model, scene.images)
    rows = maps[layer, :, token]  # (heads, T)
    heads = rows[:, 1:].reshape(len(rows), h, w)
    return {
        "image": scene.images[0],
        "mask": scene.masks[0],
        "prob": prob,
        "heads": heads,
        "mean": heads.mean(axis=0),
        "to_class": rows[:, 0],
        "token": int(token),
        "layer": int(layer),
        "name": name,
        "params": {"token": int(token), "layer": int(layer), "y": y, "x": x},
    }


def _mark(ax: Any, token: int, size: int, grid: int) -> None:
    """Outline the query cell (white on black) on a map drawn over the image."""
    if token == 0:
        return
    r, c = divmod(token - 1, grid)
    side = size / grid
    for colour, width in (("black", 3.0), ("white", 1.5)):
        ax.add_patch(
            Rectangle(
                (c * side - 0.5, r * side - 0.5),
                side,
                side,
                fill=False,
                ec=colour,
                lw=width,
            )
        )


def draw_token(fig: Figure, frame: dict[str, Any], vmax: float) -> None:
    """Draw a :func:`token_frame`: the mean of the heads, then every head, on one
    colour scale from 0 to ``vmax`` (clipped above); the query cell outlined."""
    maps = {"mean": frame["mean"]}
    maps.update({f"head {i + 1}": m for i, m in enumerate(frame["heads"])})
    titles = {k: ("mean of heads" if k == "mean" else k) for k in maps}
    draw_maps(
        fig,
        frame["image"],
        maps,
        titles=titles,
        mask=frame["mask"],
        vmax=vmax,
        extend="max",
        label=_LABEL,
        suptitle=f"query: {frame['name']}, layer {frame['layer'] + 1}",
    )
    size = frame["image"].shape[-1]
    for ax in fig.axes[: len(maps)]:
        _mark(ax, frame["token"], size, len(frame["mean"]))


def _bird_cell(frame: dict[str, Any], grid: int) -> int:
    """The token of the grid cell holding most of the bird."""
    m = frame["mask"]
    size = len(m)
    cells = m.reshape(grid, size // grid, grid, size // grid).sum(axis=(1, 3))
    r, c = np.unravel_index(int(np.argmax(cells)), cells.shape)
    return int(1 + r * grid + c)


def token_explorer(
    model: ViT, *, seed: int = 0, y: float = 0.5, x: float = 0.3
) -> Explorer:
    """Pick a query token (the class token or a patch), a layer and a head (or their
    mean); move the bird; see where that token takes its information from.

    Static: the class token, the patch holding most of the bird and two corner
    patches, each in the first and the last layer, every head side by side. Live and
    static share one colour scale, 0 to the largest weight in the static frames (above
    it: its top colour).
    """
    import ipywidgets as w

    model = _check_model(model)
    grid = model.grid[0]
    last = len(model.blocks) - 1
    bird = _bird_cell(token_frame(model, 0, last, y, x, seed=seed), grid)
    others = [t for t in (1 + grid * grid - 1, 1 + grid - 1, 1) if t != bird][:2]
    tokens = [0, bird, *others]
    frames = [
        token_frame(model, t, layer, y, x, seed=seed) for t in tokens for layer in (0, last)
    ]
    vmax = max(float(f["heads"].max()) for f in frames)
    heads = len(frames[0]["heads"])
    controls = {
        "token": w.Dropdown(
            options=[(token_name(t, grid), t) for t in range(grid * grid + 1)],
            value=bird,
            description="query",
        ),
        "layer": w.Dropdown(
            options=[(f"layer {i + 1}", i) for i in range(last + 1)],
            value=last,
            description="layer",
        ),
        "head": w.Dropdown(
            options=[("mean of heads", -1)] + [(f"head {i + 1}", i) for i in range(heads)],
            value=-1,
            description="head",
        ),
        **bird_sliders(VIT_BIRD_SIZE, y=y, x=x),
    }
    panels = MapPanels(("scene", "map"), vmax=vmax, clipped=True, label=_LABEL)
    status = w.Label()

    def frame(head: int, **v: Any) -> dict[str, Any]:
        return {**token_frame(model, **v, seed=seed), "head": head}

    def show(f: dict[str, Any]) -> None:
        head, token, layer = f["head"], f["token"], f["layer"]
        weights = f["mean"] if head < 0 else f["heads"][head]
        marked = _marked(f["image"], token, grid)
        panels.pictures["scene"].value = overlay_png(
            marked, np.zeros((grid, grid)), mask=f["mask"], alpha=0.0, vmax=1.0
        )
        panels.show(marked, {"map": weights}, f["mask"])
        which = "mean of heads" if head < 0 else f"head {head + 1}"
        panels.captions["scene"].value = f"query: {f['name']}"
        panels.captions["map"].value = f"{which}, layer {layer + 1}"
        to_class = f["to_class"].mean() if head < 0 else f["to_class"][head]
        status.value = (
            f"P(bird) = {f['prob']:.2f}; the query gives {to_class:.2f} of its "
            "attention to the class token, the rest to the cells"
        )

    rows = [w.HBox(list(controls.values())[:3]), w.HBox(list(controls.values())[3:])]
    live = w.VBox([*rows, status, panels.row()])
    alt = (
        "A cluttered scene with a bird, and where one token of the trained vision "
        "transformer takes its information from, for the class token and three "
        "patches (the bird's and two corners), in the first and the last layer: each "
        "head's attention over the 6x6 grid, and their mean. In the last layer every "
        "query, whatever its own patch, puts most of its weight on the cells at the "
        "bird; in the first layer the heads differ from one another."
    )
    size = maps_figsize(5, side=0.98, title_lines=1, suptitle=True, width=COLUMN_WIDTH)
    static = scrubber(
        lambda fig, f: draw_token(fig, f, vmax),
        frames,
        alt=alt,
        figsize=size,
        interval_ms=900,
    )
    return build(
        "token explorer",
        controls=controls,
        frame=frame,
        show=show,
        live=live,
        static=static,
    )


def _marked(image: np.ndarray, token: int, grid: int) -> np.ndarray:
    """The image (3, H, W) with the query cell's border drawn in white (a copy)."""
    out = np.array(image, dtype=np.float32)
    if token == 0:
        return out
    r, c = divmod(token - 1, grid)
    side = out.shape[-1] // grid
    box = out[:, r * side : (r + 1) * side, c * side : (c + 1) * side]
    box[:, [0, -1], :] = 1.0
    box[:, :, [0, -1]] = 1.0
    return out


# ----------------------------------------------------------------------------------
# Move the bird: the class token's attention and the rollout follow it.


def vit_move_frame(model: ViT, y: float = 0.5, x: float = 0.5, *, seed: int = 0) -> dict:
    """Parameters -> data to draw: the bird at (y, x) under a trained ViT.

    Returns:
        ``image`` (3, H, W), ``mask`` (H, W), ``prob`` P(bird), ``maps`` {"class
        token": (h, w) its last-layer attention (mean of heads, over the cells),
        "rollout": (h, w) the attention rollout}, ``mass`` {same keys: the share on
        the bird's cells}, ``flat`` (the bird's share of the grid) and ``params``.
    """
    model = _check_model(model)
    scene = _scene(y, x, seed)
    prob, maps = _run(model, scene.images)
    maps = maps[None]
    found = {"class token": class_attention(maps)[0], "rollout": attention_rollout(maps)[0]}
    mass = {k: float(attention_mass(m[None], scene.masks)[0]) for k, m in found.items()}
    return {
        "image": scene.images[0],
        "mask": scene.masks[0],
        "prob": prob,
        "maps": found,
        "mass": mass,
        "flat": float(flat_mass(scene.masks, model.grid)[0]),
        "params": {"y": y, "x": x},
    }


def _move_titles(frame: dict[str, Any]) -> dict[str, str]:
    return {k: f"{k}: {frame['mass'][k]:.2f} on bird" for k in frame["maps"]}


def draw_vit_move(fig: Figure, frame: dict[str, Any], vmax: float) -> None:
    """Draw a :func:`vit_move_frame`: the class token's map and the rollout over the
    scene (0 to ``vmax``), each with its mass on the bird; P(bird) and the flat
    baseline above."""
    draw_maps(
        fig,
        frame["image"],
        frame["maps"],
        titles=_move_titles(frame),
        mask=frame["mask"],
        vmax=vmax,
        extend="max",
        label=_LABEL,
        suptitle=f"P(bird) = {frame['prob']:.2f}; flat baseline {frame['flat']:.2f}",
    )


def vit_move_explorer(model: ViT, *, seed: int = 0, frames: int = 8) -> Explorer:
    """Move the bird under a trained ViT: the class token's last-layer attention and
    the attention rollout follow it. Static: the bird crossing the image from left to
    right at mid height; live: x and y sliders, one fixed colour scale."""
    import ipywidgets as w

    model = _check_model(model)

    def frame(y: float, x: float) -> dict[str, Any]:
        return vit_move_frame(model, y, x, seed=seed)

    sweep = bird_sweep(frame, VIT_BIRD_SIZE, frames)
    vmax = largest_weight(sweep)
    controls = bird_sliders(VIT_BIRD_SIZE, x=None)
    panels = MapPanels(sweep[0]["maps"], vmax=vmax, clipped=True, label=_LABEL)
    status = w.Label()

    def show(f: dict[str, Any]) -> None:
        panels.show(f["image"], f["maps"], f["mask"], _move_titles(f))
        status.value = f"P(bird) = {f['prob']:.2f}; flat baseline {f['flat']:.2f}"

    live = w.VBox([w.HBox(list(controls.values())), status, panels.row()])
    alt = (
        "A bird crossing a cluttered scene from left to right under the trained vision "
        "transformer: the class token's last-layer attention and the attention rollout "
        "both light up the cells holding the bird and move with it; the share of each "
        "map on the bird is printed above it, beside the flat baseline."
    )
    size = maps_figsize(2, side=1.9, title_lines=1, suptitle=True, width=COLUMN_WIDTH)
    static = scrubber(
        lambda fig, f: draw_vit_move(fig, f, vmax), sweep, alt=alt, figsize=size
    )
    return build(
        "ViT move-the-bird explorer",
        controls=controls,
        frame=frame,
        show=show,
        live=live,
        static=static,
    )
