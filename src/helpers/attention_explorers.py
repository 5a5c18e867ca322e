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
from matplotlib.figure import Figure, SubFigure

from helpers.compare import HEADS
from helpers.models import PooledCNN
from helpers.scenes import render_scene
from helpers.viz import CMAP, COLUMN_WIDTH, overlay, overlay_png, to_hwc
from helpers.widgets import Explorer, colour_bar, scene_reach, scrubber

__all__ = [
    "QUERIES",
    "heads_frame",
    "draw_maps",
    "maps_figsize",
    "heads_explorer",
    "temperature_explorer",
    "query_explorer",
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


def _inches(fig: Figure | SubFigure) -> tuple[float, float]:
    """The size in inches of a figure or of a subfigure (its share of the figure)."""
    return fig.bbox.width / fig.dpi, fig.bbox.height / fig.dpi


def _layout(title_lines: int, suptitle: bool) -> tuple[float, float, float, float, float]:
    """The margins of :func:`draw_maps` in inches: (top, bottom, left, gap between
    maps, width of the colour bar with its gap, ticks and label)."""
    top = 0.1 + 0.17 * title_lines + (0.28 if suptitle else 0.0)
    return top, 0.45, 0.5, 0.12, 0.1 + 0.12 + 0.62


def maps_figsize(
    n: int,
    *,
    side: float = 1.55,
    title_lines: int = 1,
    suptitle: bool = False,
    width: float | None = None,
) -> tuple[float, float]:
    """The (width, height) in inches that fits ``n`` maps ``side`` inches square in
    :func:`draw_maps`, with titles of ``title_lines`` lines and, if asked, a suptitle;
    ``width`` widens it (the maps stay centred)."""
    top, bottom, left, gap, bar = _layout(title_lines, suptitle)
    needed = left + n * side + (n - 1) * gap + bar + 0.05
    if width is not None and width < needed - 1e-9:
        raise ValueError(f"{n} maps {side} inches wide need {needed:.2f} inches")
    return (width or round(needed, 2), round(top + side + bottom, 2))


def draw_maps(
    fig: Figure | SubFigure,
    image: np.ndarray,
    maps: Mapping[str, np.ndarray],
    *,
    titles: Mapping[str, str],
    mask: np.ndarray | None = None,
    vmax: float | None = None,
    suptitle: str | None = None,
    extend: str = "neither",
    label: str = "pooling weight",
) -> None:
    """Maps over one image, side by side, with one shared, labelled colour bar.

    Laid out in inches for the book's column (legible at any size): the maps are
    squares as large as the figure or subfigure ``fig`` allows, centred, y ticks on
    the first only; titles may have several lines. The colour bar runs from 0 to
    ``vmax`` (the largest weight if ``None``); ``extend="max"`` marks weights above
    it, which are clipped to its top colour; ``label`` names it. :func:`maps_figsize`
    gives a figure size that fits the maps without empty space.
    """
    vmax = vmax if vmax is not None else max(float(m.max()) for m in maps.values())
    n = len(maps)
    size_h, size_w = to_hwc(image).shape[:2]
    width, height = _inches(fig)
    lines = max(str(titles[name]).count("\n") + 1 for name in maps)
    top, bottom, left, gap, bar = _layout(lines, suptitle is not None)
    side = min(height - top - bottom, (width - left - (n - 1) * gap - bar - 0.05) / n)
    if side <= 0.3:
        raise ValueError(
            f"a figure {width:.2f} x {height:.2f} inches is too small for {n} maps"
        )
    x = (width - (left + n * side + (n - 1) * gap + bar)) / 2 + left
    y = height - top - side
    inch = np.array([width, height, width, height])
    for i, (name, weights) in enumerate(maps.items()):
        ax = fig.add_axes(np.array([x + i * (side + gap), y, side, side]) / inch)
        overlay(ax, image, weights, vmin=0.0, vmax=vmax, colorbar=False, mask=mask)
        ax.set_title(titles[name])
        ax.set_xticks(np.arange(0, size_w + 1, 20))  # every 20 pixels of the scene
        ax.set_yticks(np.arange(0, size_h + 1, 20))
        if i:
            ax.set_ylabel("")
            ax.tick_params(labelleft=False)
    cax = fig.add_axes(np.array([x + n * side + (n - 1) * gap + 0.1, y, 0.12, side]) / inch)
    bar = fig.colorbar(ScalarMappable(Normalize(0.0, vmax), CMAP), cax=cax, extend=extend)
    bar.set_label(label)
    if suptitle:
        fig.suptitle(suptitle, y=1 - 0.05 / height, va="top")


def _heads_titles(frame: dict[str, Any]) -> dict[str, str]:
    return {k: f"{TITLES.get(k, k)}\nP(bird) = {p:.2f}" for k, p in frame["prob"].items()}


def _vmax(frames: Sequence[dict[str, Any]]) -> float:
    """The largest weight of all the frames' maps: the fixed top of a colour scale."""
    return max(float(m.max()) for f in frames for m in f["maps"].values())


def _sweep_scrubber(frames: Sequence[dict[str, Any]], label, alt: str) -> str:
    vmax = _vmax(frames)

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


# ----------------------------------------------------------------------------------
# Live views: one picture per map (coloured straight into a PNG, a few milliseconds),
# on one fixed colour scale drawn once beside them as a colour bar.

PICTURE = 216
"""The live views' pictures are this many CSS pixels square."""


def _colour_bar(vmax: float, *, clipped: bool, label: str = "pooling weight") -> Any:
    """The live views' colour bar: 0 to ``vmax``, as tall as the pictures."""
    extend = "max" if clipped else "neither"
    return colour_bar(CMAP, 0.0, vmax, label, height=PICTURE, extend=extend)


def _panels(captions: Mapping[str, Any], pictures: Mapping[str, Any], bar: Any) -> Any:
    """Caption over picture for each map, the colour bar at the right; fixed sizes."""
    import ipywidgets as w

    boxes = [
        w.VBox([captions[n], pictures[n]], layout=w.Layout(width=f"{PICTURE + 8}px"))
        for n in pictures
    ]
    row = [*boxes, w.VBox([w.Label(" "), bar])]
    return w.HBox(row, layout=w.Layout(align_items="flex-start"))


def _picture() -> Any:
    import ipywidgets as w

    return w.Image(format="png", width=PICTURE, height=PICTURE)


def _caption() -> Any:
    import ipywidgets as w

    return w.Label(layout=w.Layout(width=f"{PICTURE}px"))


def _live(
    heads,
    controls: dict,
    *,
    seed: int,
    vmax: float,
    clipped: bool = True,
    fixed: dict | None = None,
):
    """Sliders -> heads_frame -> one picture per head on the fixed colour scale 0 to
    ``vmax``, their predictions and the colour bar (``clipped``: the controls can
    reach weights above ``vmax``, which are shown in its top colour)."""
    import ipywidgets as w

    pictures = {name: _picture() for name in heads}
    captions = {name: _caption() for name in heads}
    fixed = fixed or {}

    def redraw(_change: object = None) -> None:
        frame = heads_frame(
            heads, **{k: c.value for k, c in controls.items()}, **fixed, seed=seed
        )
        titles = _heads_titles(frame)
        for name in heads:
            pictures[name].value = overlay_png(
                frame["image"], frame["maps"][name], mask=frame["mask"], vmax=vmax
            )
            captions[name].value = titles[name].replace("\n", ": ")

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    bar = _colour_bar(vmax, clipped=clipped)
    return w.VBox([w.HBox(list(controls.values())), _panels(captions, pictures, bar)])


def heads_explorer(heads: Mapping[str, PooledCNN], *, seed: int = 0, frames: int = 7):
    """Move the bird and the clutter; watch the three heads' maps and predictions.

    The maps follow the bird (or not). Static: the bird crossing from the left half
    into the right half in ``frames`` steps. Live and static share one colour scale,
    0 to the largest weight of the static sweep; the x and y sliders run over the
    centres the bird can reach (:func:`helpers.widgets.scene_reach`)."""
    import ipywidgets as w

    (y_low, y_high), (x_low, x_high) = scene_reach(0.3)  # heads_frame's bird size
    controls = {
        "y": w.FloatSlider(0.5, min=y_low, max=y_high, step=0.02, description="y"),
        "x": w.FloatSlider(0.25, min=x_low, max=x_high, step=0.02, description="x"),
        "distractors": w.IntSlider(4, min=0, max=10, description="distractors"),
        "bird": w.Checkbox(True, description="bird"),
    }
    sweep = [
        heads_frame(heads, 0.45, x, seed=seed) for x in np.linspace(x_low, x_high, frames)
    ]
    alt = (
        "A bird crossing from the left half, where training birds were, into the right "
        "half. Three maps over the scene: the average head's is flat, the fixed mask's "
        "stays where it was, the attention head's moves with the bird."
    )
    static = _sweep_scrubber(sweep, lambda f: f"bird at x = {f['center'][1]:.2f}", alt)
    live = _live(heads, controls, seed=seed, vmax=_vmax(sweep))
    return Explorer(live, static, "heads explorer")


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
    fixed = {"y": y, "x": x}
    live = _live(heads, controls, seed=seed, vmax=_vmax(sweep), clipped=False, fixed=fixed)
    return Explorer(live, static, "temperature explorer")


def query_explorer(model: PooledCNN, seeds: Sequence[int] = tuple(range(6))) -> Explorer:
    """Same image, same weights, two queries: where "bird" and "leaf" look.

    Static: a scrubber over the scenes of ``seeds``, both maps side by side. Live: any
    scene, on the static frames' colour scale (weights above its top clipped)."""
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
    vmax = _vmax(frames)

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
    pictures = {q: _picture() for q in QUERIES}
    captions = {q: _caption() for q in QUERIES}

    def redraw(_change: object = None) -> None:
        f = frame(picker.value)
        for q in QUERIES:
            pictures[q].value = overlay_png(
                f["image"], f["maps"][q], mask=f["mask"], vmax=vmax
            )

    picker.observe(redraw, names="value")
    redraw()
    for q in QUERIES:
        captions[q].value = titles[q]
    bar = _colour_bar(vmax, clipped=True)
    live = w.VBox([picker, _panels(captions, pictures, bar)])
    return Explorer(live, static, "query explorer")


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
    vmax = _vmax(snapshots)

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
    pictures = {n: _picture() for n in names}
    captions = {n: _caption() for n in names}

    def redraw(_change: object = None) -> None:
        s = snapshots[slider.value]
        for n in names:
            pictures[n].value = overlay_png(image, s["maps"][n], mask=mask, vmax=vmax)

    slider.observe(redraw, names="value")
    redraw()
    for n in names:
        captions[n].value = titles[n]
    bar = _colour_bar(vmax, clipped=False)
    live = w.VBox([slider, _panels(captions, pictures, bar)])
    return Explorer(live, static, "epoch explorer")
