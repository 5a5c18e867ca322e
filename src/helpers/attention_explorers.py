"""Chapter 4's explorers: where do the three heads look, and how does that move?

Each explorer is a pure *parameters -> data to draw* function (``*_frame``), a live
ipywidgets control built on it, and a static scrubber over a sweep of its main
parameter (see :mod:`helpers.widgets`). The heads are a dict ``{"avg": ..., "mask":
..., "attention": ...}`` of trained :class:`helpers.models.PooledCNN`, as
:func:`helpers.compare.three_heads` builds them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from helpers.models import PooledCNN
from helpers.scenes import render_scene
from helpers.viz import CMAP, overlay, overlay_png
from helpers.widgets import Explorer, scrubber

__all__ = [
    "QUERIES",
    "heads_frame",
    "draw_maps",
    "heads_explorer",
    "temperature_explorer",
    "query_explorer",
    "epoch_explorer",
]

QUERIES = ("bird", "leaf")
"""The attention head's two queries, in order: query 0 asks "is there a bird?", query 1
"is there a leaf?". The ``query`` argument of :func:`heads_frame` names one of them."""
TITLES = {"avg": "average", "mask": "fixed mask", "attention": "attention"}
"""Plot titles of the three heads, by name: the explorers label each map with them."""


@torch.no_grad()
def heads_frame(
    heads: Mapping[str, PooledCNN],
    y: float = 0.5,
    x: float = 0.5,
    *,
    distractors: int = 4,
    seed: int = 0,
    temperature: float = 1.0,
    query: str = "bird",
    bird: bool = True,
) -> dict[str, Any]:
    """Parameters -> data to draw: one scene and every head's map and P(bird).

    Args:
        heads: trained heads by name.
        y, x: the bird's centre as fractions of the image.
        distractors, seed: the clutter (the seed keeps it fixed as the bird moves).
        temperature: divides the pooling scores (1 = as trained).
        query: ``"bird"`` or ``"leaf"``: which query's map the attention head shows.
        bird: draw the bird (or a decoy in its place).

    Returns:
        A dict with ``image`` (3, H, W), ``mask`` and ``leaf_mask`` (H, W), ``maps``
        ``{name: (h, w)}``, ``prob`` ``{name: P(bird)}`` and ``params``.
    """
    if query not in QUERIES:
        raise ValueError(f"query must be one of {QUERIES}, got {query!r}")
    if not heads:
        raise ValueError("heads must hold at least one trained PooledCNN")
    scene = render_scene((y, x), distractors=distractors, seed=seed, bird=bird)
    image = torch.from_numpy(scene.images)
    maps, prob = {}, {}
    for name, model in heads.items():
        q = QUERIES.index(query) if model.n_queries > 1 else 0
        maps[name] = model.pool_weights(image, query=q, temperature=temperature)[0].numpy()
        logit = model.logits_all(
            image.to(next(model.parameters()).device), temperature=temperature
        )
        prob[name] = float(torch.sigmoid(logit[0, 0]))
    return {
        "image": scene.images[0],
        "mask": scene.masks[0],
        "leaf_mask": scene.leaf_masks[0],
        "maps": maps,
        "prob": prob,
        "params": {"y": y, "x": x, "temperature": temperature, "query": query},
    }


def draw_maps(
    fig: Figure,
    image: np.ndarray,
    maps: Mapping[str, np.ndarray],
    *,
    titles: Mapping[str, str],
    mask: np.ndarray | None = None,
    vmax: float | None = None,
    suptitle: str | None = None,
) -> None:
    """Maps over one image, side by side, with one shared, labelled colour bar."""
    vmax = vmax if vmax is not None else max(float(m.max()) for m in maps.values())
    axes = fig.subplots(1, len(maps), squeeze=False)[0]
    for ax, (name, weights) in zip(axes, maps.items(), strict=True):
        overlay(ax, image, weights, vmin=0.0, vmax=vmax, colorbar=False, mask=mask)
        ax.set_title(titles[name], fontsize=9)
        if ax is not axes[0]:
            ax.set_ylabel("")
    bar = fig.colorbar(
        ScalarMappable(Normalize(0.0, vmax), CMAP), ax=list(axes), fraction=0.03, pad=0.02
    )
    bar.set_label("pooling weight")
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)


def _heads_titles(frame: dict[str, Any]) -> dict[str, str]:
    return {k: f"{TITLES.get(k, k)}: P(bird) {p:.2f}" for k, p in frame["prob"].items()}


def _sweep_scrubber(frames: Sequence[dict[str, Any]], label, alt: str) -> str:
    vmax = max(float(m.max()) for f in frames for m in f["maps"].values())

    def draw(fig: Figure, frame: dict[str, Any]) -> None:
        draw_maps(
            fig,
            frame["image"],
            frame["maps"],
            titles=_heads_titles(frame),
            mask=frame["mask"],
            vmax=vmax,
            suptitle=label(frame),
        )

    width = 2.0 * len(frames[0]["maps"]) + 0.8
    return scrubber(draw, frames, alt=alt, figsize=(width, 2.6))


def _live(heads, controls: dict, *, seed: int, fixed: dict | None = None):
    """Sliders -> heads_frame -> one picture per head and a line of predictions."""
    import ipywidgets as w

    pictures = {name: w.Image(format="png", width=216, height=216) for name in heads}
    captions = {name: w.Label() for name in heads}
    fixed = fixed or {}

    def redraw(_change: object = None) -> None:
        frame = heads_frame(
            heads, **{k: c.value for k, c in controls.items()}, **fixed, seed=seed
        )
        vmax = max(float(m.max()) for m in frame["maps"].values())
        for name in heads:
            pictures[name].value = overlay_png(
                frame["image"], frame["maps"][name], mask=frame["mask"], vmax=vmax
            )
            captions[name].value = _heads_titles(frame)[name]

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    panels = [w.VBox([captions[n], pictures[n]]) for n in heads]
    return w.VBox([w.HBox(list(controls.values())), w.HBox(panels)])


def heads_explorer(heads: Mapping[str, PooledCNN], *, seed: int = 0, frames: int = 9):
    """Move the bird and the clutter; watch the three heads' maps and predictions.

    The maps follow the bird (or not). Static: the bird crossing from the left half
    into the right half."""
    import ipywidgets as w

    controls = {
        "y": w.FloatSlider(0.5, min=0.15, max=0.85, step=0.02, description="y"),
        "x": w.FloatSlider(0.25, min=0.15, max=0.85, step=0.02, description="x"),
        "distractors": w.IntSlider(4, min=0, max=10, description="distractors"),
        "bird": w.Checkbox(True, description="bird"),
    }
    sweep = [
        heads_frame(heads, 0.45, x, seed=seed) for x in np.linspace(0.15, 0.85, frames)
    ]
    alt = (
        "A bird crossing from the left half, where training birds were, into the right "
        "half. Three maps over the scene: the average head's is flat, the fixed mask's "
        "stays where it was, the attention head's moves with the bird."
    )
    static = _sweep_scrubber(sweep, lambda f: f"bird at x = {f['params']['x']:.2f}", alt)
    return Explorer(_live(heads, controls, seed=seed), static, "heads explorer")


def temperature_explorer(
    heads: Mapping[str, PooledCNN], *, y: float = 0.5, x: float = 0.7, seed: int = 1
) -> Explorer:
    """Divide the pooling scores by a temperature: sharper below 1, flatter above.
    Static: a sweep of temperatures from 0.25 to 4."""
    import ipywidgets as w

    controls = {
        "temperature": w.FloatLogSlider(
            1.0, base=2, min=-2, max=2, step=0.25, description="T"
        )
    }
    sweep = [
        heads_frame(heads, y, x, seed=seed, temperature=t)
        for t in 2.0 ** np.arange(-2, 2.5, 1.0)
    ]
    alt = (
        "One scene at softmax temperatures from 0.25 to 4: the attention and mask maps "
        "sharpen at low temperature and flatten towards uniform at high temperature; "
        "the average head does not change."
    )
    static = _sweep_scrubber(
        sweep, lambda f: f"temperature {f['params']['temperature']:.2f}", alt
    )
    return Explorer(
        _live(heads, controls, seed=seed, fixed={"y": y, "x": x}),
        static,
        "temperature explorer",
    )


def query_explorer(model: PooledCNN, seeds: Sequence[int] = tuple(range(6))) -> Explorer:
    """Same image, same weights, two queries: where "bird" and "leaf" look.
    Static: a scrubber over scenes, both maps side by side."""
    import ipywidgets as w

    def frame(seed: int) -> dict[str, Any]:
        both = {
            q: heads_frame(
                {"attention": model}, 0.5, 0.35 + 0.04 * (seed % 8), seed=seed, query=q
            )
            for q in QUERIES
        }
        return {
            "image": both["bird"]["image"],
            "mask": both["bird"]["mask"],
            "leaf_mask": both["bird"]["leaf_mask"],
            "maps": {q: both[q]["maps"]["attention"] for q in QUERIES},
            "seed": seed,
        }

    titles = {"bird": 'query "bird"', "leaf": 'query "leaf"'}
    frames = [frame(s) for s in seeds]
    vmax = max(float(m.max()) for f in frames for m in f["maps"].values())

    def draw(fig: Figure, f: dict[str, Any]) -> None:
        draw_maps(fig, f["image"], f["maps"], titles=titles, mask=f["mask"], vmax=vmax)

    alt = (
        "Scenes with a bird and leaves, two attention maps each from the same weights: "
        'the "bird" query\'s weight lies on the bird, the "leaf" query\'s lies elsewhere, '
        "off the bird."
    )
    static = scrubber(draw, frames, alt=alt, figsize=(4.8, 2.6))
    picker = w.IntSlider(seeds[0], min=min(seeds), max=max(seeds) + 20, description="scene")
    pictures = {q: w.Image(format="png", width=216, height=216) for q in QUERIES}

    def redraw(_change: object = None) -> None:
        f = frame(picker.value)
        for q in QUERIES:
            pictures[q].value = overlay_png(f["image"], f["maps"][q], mask=f["mask"])

    picker.observe(redraw, names="value")
    redraw()
    live = w.VBox(
        [picker, w.HBox([w.VBox([w.Label(titles[q]), pictures[q]]) for q in QUERIES])]
    )
    return Explorer(live, static, "query explorer")


def epoch_explorer(
    snapshots: Sequence[dict[str, Any]], image: np.ndarray, mask: np.ndarray
) -> Explorer:
    """Maps of one scene after each epoch of training (epoch 0 = before training).

    Args:
        snapshots: one dict per epoch: ``{"epoch": int, "maps": {name: (h, w)}}``.
        image, mask: the scene the maps belong to.
    """
    import ipywidgets as w

    if len(snapshots) < 2:
        raise ValueError("epoch_explorer needs snapshots of at least two epochs")
    names = list(snapshots[0]["maps"])
    titles = {n: TITLES.get(n, n) for n in names}
    vmax = max(float(m.max()) for s in snapshots for m in s["maps"].values())

    def draw(fig: Figure, s: dict[str, Any]) -> None:
        draw_maps(
            fig,
            image,
            s["maps"],
            titles=titles,
            mask=mask,
            vmax=vmax,
            suptitle=f"after epoch {s['epoch']}",
        )

    alt = (
        "The maps of one scene after each training epoch: before training they are "
        "nearly flat; as training goes on the attention map gathers on the bird."
    )
    static = scrubber(draw, snapshots, alt=alt, figsize=(2.0 * len(names) + 0.8, 2.6))
    slider = w.IntSlider(0, min=0, max=len(snapshots) - 1, description="epoch")
    pictures = {n: w.Image(format="png", width=216, height=216) for n in names}

    def redraw(_change: object = None) -> None:
        s = snapshots[slider.value]
        for n in names:
            pictures[n].value = overlay_png(image, s["maps"][n], mask=mask, vmax=vmax)

    slider.observe(redraw, names="value")
    redraw()
    live = w.VBox(
        [slider, w.HBox([w.VBox([w.Label(titles[n]), pictures[n]]) for n in names])]
    )
    return Explorer(live, static, "epoch explorer")
