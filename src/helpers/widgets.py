"""Explorers: a live ipywidgets control in a kernel, a static scrubber in the book.

Every explorer is built from three pieces:

1. a pure *parameters -> data to draw* function (tested without a browser),
2. thin ipywidgets wiring that calls it on every slider move,
3. a static counterpart: the same function over a sweep of one parameter, rendered
   by :func:`scrubber` as a self-contained ``to_jshtml`` animation (frames and
   JavaScript inline; no kernel, no CDN).

:class:`Explorer` carries 2 and 3 in one output. Its display bundle holds the widget
view *and* the static HTML: JupyterLab shows the live widget, and the book (whose
myst-nb configuration drops the widget-view type) shows the scrubber.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from html import escape
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import numpy as np
from matplotlib.animation import HTMLWriter
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from helpers.scenes import render_scene
from helpers.viz import outline, to_hwc, to_png

__all__ = ["Explorer", "scrubber", "scene_frame", "scene_explorer"]


class Explorer:
    """A live widget with a static HTML stand-in, displayed as one output.

    Args:
        widget: the ipywidgets widget (live in a kernel).
        static_html: what a reader without a kernel sees (e.g. from :func:`scrubber`).
        name: a short name, also the output's plain-text form.
    """

    def __init__(self, widget: Any, static_html: str, name: str):
        if not isinstance(static_html, str) or not static_html:
            raise ValueError("static_html must be a non-empty HTML string")
        self.widget = widget
        self.static_html = static_html
        self.name = name

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        bundle = dict(self.widget._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["text/html"] = self.static_html
        bundle["text/plain"] = f"{self.name} (live in JupyterLab; a scrubber in the book)"
        return bundle

    def __repr__(self) -> str:
        return f"Explorer({self.name!r})"


# matplotlib's player loads Font Awesome from a CDN for its button icons; the book
# must work offline, so the link goes and the icons become plain characters.
_ICONS = {  # characters that common fonts (DejaVu, system UI fonts) all draw
    "fa fa-minus": "&minus;",
    "fa fa-fast-backward": "&#x21E4;",
    "fa fa-step-backward": "&larr;",
    "fa fa-play fa-flip-horizontal": "&#x25C0;",
    "fa fa-pause": "&#x2016;",
    "fa fa-play": "&#x25B6;",
    "fa fa-step-forward": "&rarr;",
    "fa fa-fast-forward": "&#x21E5;",
    "fa fa-plus": "+",
}


def _offline(html: str, alt: str) -> str:
    """Make matplotlib's jshtml player self-contained and accessible."""
    html = re.sub(r'<link rel="stylesheet"\s+href="https?://[^"]*">', "", html)
    for cls, char in _ICONS.items():
        html = html.replace(
            f'<i class="{cls}"></i>', f'<span aria-hidden="true">{char}</span>'
        )
    html = re.sub(r'<img id="(_anim_img\w+)">', rf'<img id="\1" alt="{escape(alt)}">', html)
    return re.sub(
        r'(<input id="_anim_slider\w+" type="range")', r'\1 aria-label="frame"', html
    )


def scrubber(
    draw: Callable[[Figure, dict[str, Any]], None],
    frames: Sequence[dict[str, Any]],
    *,
    alt: str,
    figsize: tuple[float, float] = (3.6, 3.6),
    dpi: int = 72,
    interval_ms: int = 300,
) -> str:
    """A self-contained HTML scrubber (play, pause, a slider) over precomputed frames.

    Args:
        draw: ``draw(fig, frame)`` draws one frame on an emptied figure.
        frames: the data of each frame, e.g. from a "parameters -> data" function.
        figsize, dpi: keep them small: every frame is embedded as a PNG.
        interval_ms: time between frames when playing.
        alt: alternative text of the animation, for readers who cannot see it.

    Returns:
        HTML with the frames and the player's JavaScript inline (no network).
    """
    if not isinstance(alt, str) or not alt.strip():
        raise ValueError("alt must describe the animation for readers who cannot see it")
    if len(frames) < 2:
        raise ValueError(f"a scrubber needs at least 2 frames, got {len(frames)}")
    # matplotlib's HTMLWriter driven directly: each frame is drawn once, as it is saved
    # (FuncAnimation.to_jshtml draws every frame three times).
    fig = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(fig)
    writer = HTMLWriter(fps=1000 / interval_ms, embed_frames=True, default_mode="once")
    with TemporaryDirectory() as tmp:
        path = Path(tmp, "scrubber.html")
        with writer.saving(fig, path, dpi):
            for frame in frames:
                fig.clear()
                draw(fig, frame)
                writer.grab_frame()
        html = path.read_text()
    return _offline(html, alt)


# ----------------------------------------------------------------------------------
# The scene explorer of chapter 0: move the bird, change its size and the clutter.


def scene_frame(
    y: float = 0.5,
    x: float = 0.5,
    *,
    bird_size: float = 0.3,
    distractors: int = 3,
    seed: int = 0,
) -> dict[str, Any]:
    """Parameters -> data to draw for the scene explorer.

    Returns:
        ``image`` (3, H, W), ``mask`` (H, W) bool, ``center`` (2,) the mask's centroid
        as fractions, ``pixels`` the bird's pixel count, and the parameters.
    """
    scene = render_scene((y, x), bird_size=bird_size, distractors=distractors, seed=seed)
    return {
        "image": scene.images[0],
        "mask": scene.masks[0],
        "center": scene.centers[0],
        "pixels": int(scene.masks[0].sum()),
        "params": {"y": y, "x": x, "bird_size": bird_size, "distractors": distractors},
    }


def _describe(frame: dict[str, Any]) -> str:
    cy, cx = frame["center"]
    return f"bird centre (row, col) = ({cy:.2f}, {cx:.2f}), {frame['pixels']} bird pixels"


def _draw_scene(fig: Figure, frame: dict[str, Any]) -> None:
    ax = fig.add_subplot()
    ax.imshow(to_hwc(frame["image"]))
    outline(ax, frame["mask"])
    ax.set_xlabel("x (pixels)")
    ax.set_ylabel("y (pixels)")
    ax.set_title(f"x = {frame['params']['x']:.2f}: {frame['pixels']} bird px", fontsize=9)
    fig.tight_layout()


def scene_explorer(*, seed: int = 0, frames: int = 12) -> Explorer:
    """Move the bird (x, y), change its size and the number of distractors.

    Live: sliders and the scene with its mask outlined. Static: the bird crossing
    the image from left to right in ``frames`` steps.
    """
    import ipywidgets as w

    sliders = {
        "y": w.FloatSlider(0.5, min=0.0, max=1.0, step=0.02, description="y"),
        "x": w.FloatSlider(0.5, min=0.0, max=1.0, step=0.02, description="x"),
        "bird_size": w.FloatSlider(
            0.3, min=0.15, max=0.6, step=0.05, description="bird size"
        ),
        "distractors": w.IntSlider(3, min=0, max=10, description="distractors"),
    }
    picture = w.Image(format="png", width=288, height=288)
    caption = w.Label()

    def redraw(_change: object = None) -> None:
        frame = scene_frame(**{k: s.value for k, s in sliders.items()}, seed=seed)
        picture.value = to_png(frame["image"], mask=frame["mask"])
        caption.value = _describe(frame)

    for slider in sliders.values():
        slider.observe(redraw, names="value")
    redraw()
    live = w.HBox([w.VBox(list(sliders.values()) + [caption]), picture])
    sweep = [scene_frame(0.45, x, seed=seed) for x in np.linspace(0.15, 0.85, frames)]
    alt = (
        "A bird crossing a cluttered sky from left to right, its mask outlined in "
        "magenta; the slider steps through its positions."
    )
    return Explorer(live, scrubber(_draw_scene, sweep, alt=alt), "scene explorer")
