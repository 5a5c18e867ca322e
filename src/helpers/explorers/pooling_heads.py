"""Chapter 4's explorers: where do the three pooling heads look, and how does that move?

The heads are a dict ``{"avg": ..., "mask": ..., "attention": ...}`` of trained
:class:`helpers.models.PooledCNN`, as :func:`helpers.pooling_heads.three_heads` builds them.

* :func:`heads_frame` (the bird's centre, the clutter, a temperature, a query -> one
  scene and every head's map and P(bird)), live in :func:`heads_explorer` (move the
  bird) and :func:`temperature_explorer` (sharpen or flatten the softmax);
* :func:`context_frame` (a scene -> the attention head's maps for its two queries,
  "bird" and "leaf"), live in :func:`context_explorer`: same image, same weights,
  another context vector, another map;
* :func:`epoch_explorer`: one scene's maps after each epoch of training.

Maps are drawn by :mod:`helpers.explorers.maps` on one fixed colour scale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from helpers.explorers.framework import (
    Explorer,
    bird_sliders,
    bird_sweep,
    build,
    scrubber,
)
from helpers.explorers.maps import MapPanels, draw_maps, largest_weight, maps_figsize
from helpers.models import PooledCNN
from helpers.pooling_heads import HEADS
from helpers.scenes import render_scene
from helpers.viz import COLUMN_WIDTH

__all__ = [
    "QUERIES",
    "TITLES",
    "heads_frame",
    "heads_explorer",
    "temperature_explorer",
    "context_frame",
    "context_explorer",
    "epoch_explorer",
]

QUERIES = ("bird", "leaf")
"""The attention head's two queries, in order (query 0 "bird", query 1 "leaf").

The ``query`` argument of :func:`heads_frame` (and so of the explorers) names one."""
TITLES = HEADS
"""Plot titles of the three heads, by name; the explorers label each map with them."""


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
        A dict with ``image`` (3, H, W), ``mask`` and ``leaf_mask`` (H, W), ``center``
        (2,) where the bird's centre is (kept whole inside the image, it may lie
        nearer the middle than ``y, x``), ``maps`` ``{name: (h, w)}``, ``prob``
        ``{name: P(bird)}`` and ``params``.
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
        "center": scene.centers[0],
        "maps": maps,
        "prob": prob,
        "params": {"y": y, "x": x, "temperature": temperature, "query": query},
    }


def _heads_titles(frame: dict[str, Any]) -> dict[str, str]:
    return {k: f"{TITLES.get(k, k)}\nP(bird) = {p:.2f}" for k, p in frame["prob"].items()}


def _sweep_scrubber(frames: Sequence[dict[str, Any]], label, alt: str) -> str:
    vmax = largest_weight(frames)

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

    size = maps_figsize(
        len(frames[0]["maps"]), title_lines=2, suptitle=True, width=COLUMN_WIDTH
    )
    return scrubber(draw, frames, alt=alt, figsize=size)


def _heads_live(
    heads: Mapping[str, PooledCNN],
    controls: dict[str, Any],
    *,
    name: str,
    static: str,
    vmax: float,
    clipped: bool,
    **fixed: Any,
) -> Explorer:
    """The live heads view: the controls above one picture per head on the fixed
    colour scale 0 to ``vmax``, captioned with its P(bird); ``fixed`` are further
    arguments of :func:`heads_frame` that no control changes."""
    import ipywidgets as w

    panels = MapPanels(heads, vmax=vmax, clipped=clipped)

    def show(frame: dict[str, Any]) -> None:
        titles = _heads_titles(frame)
        captions = {n: titles[n].replace("\n", ": ") for n in heads}
        panels.show(frame["image"], frame["maps"], frame["mask"], captions)

    return build(
        name,
        controls=controls,
        frame=lambda **v: heads_frame(heads, **v, **fixed),
        show=show,
        live=w.VBox([w.HBox(list(controls.values())), panels.row()]),
        static=static,
    )


def heads_explorer(
    heads: Mapping[str, PooledCNN], *, seed: int = 0, frames: int = 7
) -> Explorer:
    """Move the bird and the clutter; watch the three heads' maps and predictions.

    The maps follow the bird (or not). Static: the bird crossing from the left half
    into the right half in ``frames`` steps. Live and static share one colour scale,
    0 to the largest weight of the static sweep; the x and y sliders run over the
    centres the bird can reach (:func:`helpers.explorers.framework.scene_reach`)."""
    import ipywidgets as w

    controls = {
        **bird_sliders(0.3, x=0.25),  # heads_frame's bird size
        "distractors": w.IntSlider(4, min=0, max=10, description="distractors"),
        "bird": w.Checkbox(True, description="bird"),
    }
    sweep = bird_sweep(
        lambda y, x: heads_frame(heads, y, x, seed=seed), 0.3, frames, y=0.45
    )
    alt = (
        "A bird crossing from the left half, where training birds were, into the right "
        "half. Three maps over the scene: the average head's is flat, the fixed mask's "
        "stays where it was, the attention head's moves with the bird."
    )
    static = _sweep_scrubber(sweep, lambda f: f"bird at x = {f['center'][1]:.2f}", alt)
    return _heads_live(
        heads,
        controls,
        name="heads explorer",
        static=static,
        vmax=largest_weight(sweep),
        clipped=True,
        seed=seed,
    )


def temperature_explorer(
    heads: Mapping[str, PooledCNN], *, y: float = 0.5, x: float = 0.7, seed: int = 1
) -> Explorer:
    """Divide the pooling scores by a temperature: sharper below 1, flatter above.

    Static: a sweep of temperatures from 0.25 to 4. Live: the same range; both on
    one colour scale, 0 to the sweep's largest weight, so that the colours show what
    the temperature changes."""
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
    # the sweep spans the slider's temperatures: its largest weight is the live one's
    return _heads_live(
        heads,
        controls,
        name="temperature explorer",
        static=static,
        vmax=largest_weight(sweep),
        clipped=False,
        y=y,
        x=x,
        seed=seed,
    )


def context_frame(model: PooledCNN, seed: int) -> dict[str, Any]:
    """Parameters -> data to draw: scene ``seed`` and the attention head's map for
    each of its queries (:data:`QUERIES`), the bird at mid height, x from 0.35 on.

    Returns:
        ``image`` (3, H, W), ``mask`` and ``leaf_mask`` (H, W), ``maps`` (one (h, w)
        map per query, by name) and ``seed``.
    """
    x = 0.35 + 0.04 * (seed % 8)
    both = {
        q: heads_frame({"attention": model}, 0.5, x, seed=seed, query=q) for q in QUERIES
    }
    return {
        "image": both["bird"]["image"],
        "mask": both["bird"]["mask"],
        "leaf_mask": both["bird"]["leaf_mask"],
        "maps": {q: both[q]["maps"]["attention"] for q in QUERIES},
        "seed": seed,
    }


def context_explorer(model: PooledCNN, seeds: Sequence[int] = tuple(range(6))) -> Explorer:
    """Same image, same weights, two queries (two context vectors): where "bird" and
    "leaf" look.

    Static: a scrubber over the scenes of ``seeds``, both maps side by side. Live: any
    scene, on the static frames' colour scale (weights above its top clipped)."""
    import ipywidgets as w

    titles = {"bird": 'query "bird"', "leaf": 'query "leaf"'}
    frames = [context_frame(model, s) for s in seeds]
    vmax = largest_weight(frames)

    def draw(fig: Figure, f: dict[str, Any]) -> None:
        draw_maps(
            fig,
            f["image"],
            f["maps"],
            titles=titles,
            mask=f["mask"],
            vmax=vmax,
            suptitle=f"scene {f['seed']}",
        )

    alt = (
        "Scenes with a bird and leaves, two attention maps each from the same weights: "
        'the "bird" query\'s weight lies on the bird, the "leaf" query\'s lies elsewhere, '
        "off the bird."
    )
    size = maps_figsize(len(QUERIES), suptitle=True)
    static = scrubber(draw, frames, alt=alt, figsize=size)
    picker = w.IntSlider(seeds[0], min=min(seeds), max=max(seeds) + 20, description="scene")
    panels = MapPanels(QUERIES, vmax=vmax, clipped=True)
    for q in QUERIES:
        panels.captions[q].value = titles[q]
    return build(
        "context explorer",
        controls={"seed": picker},
        frame=lambda seed: context_frame(model, seed),
        show=lambda f: panels.show(f["image"], f["maps"], f["mask"]),
        live=w.VBox([picker, panels.row()]),
        static=static,
    )


def epoch_explorer(
    snapshots: Sequence[dict[str, Any]], image: np.ndarray, mask: np.ndarray
) -> Explorer:
    """Maps of one scene after each epoch of training (epoch 0 = before training).

    Live and static share one colour scale, 0 to the largest weight of all epochs.

    Args:
        snapshots: one dict per epoch: ``{"epoch": int, "maps": {name: (h, w)}}``.
        image, mask: the scene the maps belong to.
    """
    import ipywidgets as w

    if len(snapshots) < 2:
        raise ValueError("epoch_explorer needs snapshots of at least two epochs")
    names = list(snapshots[0]["maps"])
    titles = {n: TITLES.get(n, n) for n in names}
    vmax = largest_weight(snapshots)

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
    size = maps_figsize(len(names), suptitle=True, width=COLUMN_WIDTH)
    static = scrubber(draw, snapshots, alt=alt, figsize=size)
    slider = w.IntSlider(0, min=0, max=len(snapshots) - 1, description="epoch")
    panels = MapPanels(names, vmax=vmax, clipped=False)
    for n in names:
        panels.captions[n].value = titles[n]
    return build(
        "epoch explorer",
        controls={"epoch": slider},
        frame=lambda epoch: snapshots[epoch],
        show=lambda s: panels.show(image, s["maps"], mask),
        live=w.VBox([slider, panels.row()]),
        static=static,
    )
