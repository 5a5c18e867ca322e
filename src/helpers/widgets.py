"""Explorers: a live ipywidgets control in a kernel, a static scrubber in the book.

Every explorer is built from three pieces:

1. a pure *parameters -> data to draw* function (tested without a browser),
2. thin ipywidgets wiring that calls it on every slider move,
3. a static counterpart: the same function over a sweep of one parameter, rendered
   by :func:`scrubber` as a self-contained player (frames and JavaScript inline; no
   kernel, no CDN) whose first frame shows even where its script cannot run.

:class:`Explorer` carries 2 and 3 in one output. Its display bundle holds the widget
view *and* the static HTML: JupyterLab shows the live widget, and the book (whose
myst-nb configuration drops the widget-view type) shows the scrubber.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Callable, Sequence
from functools import lru_cache
from html import escape
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from helpers.scenes import render_scene
from helpers.viz import (
    COLUMN_WIDTH,
    DPI,
    PIXEL_RATIO,
    check_figure,
    colorbar_png,
    outline,
    to_hwc,
    to_png,
)

__all__ = [
    "Explorer",
    "NOTE",
    "scrubber",
    "colour_bar",
    "scene_reach",
    "scene_frame",
    "scene_explorer",
]


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
        """The ipywidgets widget, live in a kernel (JupyterLab, Jupyter Notebook)."""
        self.static_html = static_html
        """The HTML a reader without a kernel sees (the book), e.g. a :func:`scrubber`."""
        self.name = name
        """A short name, e.g. ``"nudge explorer"``, also the output's plain-text form."""

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        bundle = dict(self.widget._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["text/html"] = self.static_html
        bundle["text/plain"] = f"{self.name} (live in JupyterLab; a scrubber in the book)"
        return bundle

    def __repr__(self) -> str:
        return f"Explorer({self.name!r})"


_PLAYER = """\
<div class="explorer-static" id="{uid}" style="max-width: 100%; width: {width}px">
<img class="explorer-frame" src="{first}" alt="{alt}" width="{width}" height="{height}"
 style="display: block; width: 100%; max-width: {width}px; height: auto">
<div class="explorer-controls"
 style="display: none; align-items: center; gap: 0.4em; margin-top: 0.3em">
<button type="button" data-step="-1" aria-label="previous frame">&larr;</button>
<button type="button" data-play aria-label="play">&#x25B6;</button>
<button type="button" data-step="1" aria-label="next frame">&rarr;</button>
<input type="range" min="0" max="{last}" value="0" step="1" aria-label="frame"
 style="flex: 1 1 auto; min-width: 0">
<output aria-live="polite">1 / {count}</output>
</div>
<p class="explorer-note" style="font-size: 0.9em; margin: 0.3em 0">{note}</p>
<script>
(function () {{
  const root = document.getElementById("{uid}");
  if (!root || root.dataset.ready) return;
  root.dataset.ready = "1";
  const img = root.querySelector("img"), slider = root.querySelector("input");
  const count = root.querySelector("output"), play = root.querySelector("[data-play]");
  const frames = [img.src].concat({rest});
  let timer = null;
  function show(i) {{
    i = (i + frames.length) % frames.length;
    img.src = frames[i]; slider.value = i; count.value = (i + 1) + " / " + frames.length;
  }}
  function stop() {{
    clearInterval(timer); timer = null;
    play.innerHTML = "&#x25B6;"; play.setAttribute("aria-label", "play");
  }}
  slider.addEventListener("input", () => {{ stop(); show(Number(slider.value)); }});
  root.querySelectorAll("[data-step]").forEach((b) => b.addEventListener("click",
    () => {{ stop(); show(Number(slider.value) + Number(b.dataset.step)); }}));
  play.addEventListener("click", () => {{
    if (timer) return stop();
    play.innerHTML = "&#x2016;"; play.setAttribute("aria-label", "pause");
    timer = setInterval(() => show(Number(slider.value) + 1), {interval});
  }});
  root.querySelector(".explorer-controls").style.display = "flex";
  root.querySelector(".explorer-note").remove();
}})();
</script>
</div>"""

NOTE = "This picture is the explorer at its first frame: run the cell to make it live."
"""What an explorer shows where its player cannot run (an untrusted notebook in
JupyterLab strips scripts): its first frame stays visible, with this line."""


def _frame_png(fig: Figure) -> bytes:
    """One frame as a small PNG: :data:`~helpers.viz.PIXEL_RATIO` times the pixels,
    reduced to a 256-colour palette (a third of the bytes; flat plot colours survive
    it unchanged, and scenes are drawn from few colours; the octree method keeps
    colour bars smoother than median cut, in fewer bytes)."""
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI * PIXEL_RATIO)
    rgb = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    small = rgb.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    out = io.BytesIO()
    small.save(out, format="PNG", optimize=True)
    return out.getvalue()


def scrubber(
    draw: Callable[[Figure, dict[str, Any]], None],
    frames: Sequence[dict[str, Any]],
    *,
    alt: str,
    figsize: tuple[float, float] = (COLUMN_WIDTH, 2.8),
    interval_ms: int = 400,
) -> str:
    """A self-contained HTML scrubber (previous, play, next, a slider) over frames.

    The first frame is the picture itself (an ``<img>`` with its PNG inline), so it
    shows wherever the player's script cannot run, with the line :data:`NOTE`; the
    script shows the controls and removes the line. (The controls are hidden by an
    inline ``display: none``, which JupyterLab's sanitizer keeps; it drops
    ``hidden``.) The picture scales down with the column (phones); it is drawn for
    the column (see :mod:`helpers.viz`).

    Args:
        draw: ``draw(fig, frame)`` draws one frame on an emptied figure.
        frames: the data of each frame, e.g. from a "parameters -> data" function.
        alt: alternative text of the animation, for readers who cannot see it.
        figsize: (width, height) in inches; at most
            :data:`~helpers.viz.COLUMN_WIDTH` wide (each frame is embedded as a PNG:
            keep them few and small).
        interval_ms: time between frames when playing.

    Returns:
        HTML with the frames and the player's JavaScript inline (no network).

    Raises:
        ValueError: no alt text, fewer than 2 frames, a figure wider than the column
            or text smaller than :data:`~helpers.viz.MIN_FONT_PT` in a frame.
    """
    if not isinstance(alt, str) or not alt.strip():
        raise ValueError("alt must describe the animation for readers who cannot see it")
    if len(frames) < 2:
        raise ValueError(f"a scrubber needs at least 2 frames, got {len(frames)}")
    if not isinstance(interval_ms, int) or interval_ms < 20:
        raise ValueError(f"interval_ms must be an int of at least 20, got {interval_ms!r}")
    fig = Figure(figsize=figsize, dpi=DPI)
    FigureCanvasAgg(fig)
    uris = []
    for frame in frames:
        fig.clear()
        draw(fig, frame)
        check_figure(fig)
        uris.append("data:image/png;base64," + base64.b64encode(_frame_png(fig)).decode())
    width, height = (round(v * DPI) for v in figsize)
    uid = "explorer-" + hashlib.sha1((alt + "".join(uris)).encode()).hexdigest()[:12]
    return _PLAYER.format(
        uid=uid,
        first=uris[0],
        rest=json.dumps(uris[1:]),
        alt=escape(alt),
        width=width,
        height=height,
        last=len(uris) - 1,
        count=len(uris),
        interval=int(interval_ms),
        note=escape(NOTE),
    )


def colour_bar(
    cmap: str, vmin: float, vmax: float, label: str, *, height: int, extend: str = "neither"
) -> Any:
    """A live view's colour bar: an ipywidgets Image of
    :func:`~helpers.viz.colorbar_png`, 90 CSS pixels wide and ``height`` tall (the
    pictures it stands beside), marked with the class ``explorer-colorbar``."""
    import ipywidgets as w

    png = colorbar_png(cmap, vmin, vmax, label, height=height, extend=extend)
    bar = w.Image(value=png, format="png", width=90, height=height)
    bar.add_class("explorer-colorbar")
    return bar


# ----------------------------------------------------------------------------------
# The scene explorer of chapter 0: move the bird, change its size and the clutter.


@lru_cache(maxsize=32)
def scene_reach(bird_size: float = 0.3) -> tuple[tuple[float, float], tuple[float, float]]:
    """Where the centre of a bird of ``bird_size`` can be: ((y low, y high), (x low,
    x high)) as fractions of the image, rounded to hundredths.

    :func:`~helpers.scenes.render_scene` keeps the bird whole inside the image, so a
    centre asked for nearer the edge is moved in; this asks it for the corners and
    reads where the bird's centre (its mask's centroid) lands. The scene explorer's
    sliders run over this range, so that every slider value moves the bird.
    """
    low = render_scene((0.0, 0.0), bird_size=bird_size).centers[0]
    high = render_scene((1.0, 1.0), bird_size=bird_size).centers[0]
    y, x = (
        (round(float(lo), 2), round(float(hi), 2)) for lo, hi in zip(low, high, strict=True)
    )
    return y, x


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
    return (
        f"bird centre (y, x) = ({cy:.2f}, {cx:.2f})<br>"
        f"{frame['pixels']} bird pixels (outlined in magenta)"
    )


def _draw_scene(fig: Figure, frame: dict[str, Any]) -> None:
    ax = fig.add_subplot()
    ax.imshow(to_hwc(frame["image"]))
    outline(ax, frame["mask"])
    ax.set_xlabel("x (pixels)")
    ax.set_ylabel("y (pixels)")
    ax.set_title(f"bird at x = {frame['center'][1]:.2f}: {frame['pixels']} bird pixels")
    fig.subplots_adjust(left=0.17, right=0.97, bottom=0.15, top=0.91)


def scene_explorer(*, seed: int = 0, frames: int = 10) -> Explorer:
    """Move the bird (x, y), change its size and the number of distractors.

    Live: sliders and the scene with its mask outlined; the x and y sliders run over
    the centres the bird can reach (:func:`scene_reach`, which depends on its size).
    Static: the bird crossing the image from left to right in ``frames`` steps.
    """
    import ipywidgets as w

    (y_low, y_high), (x_low, x_high) = scene_reach(0.3)
    sliders = {
        "y": w.FloatSlider(0.5, min=y_low, max=y_high, step=0.01, description="y"),
        "x": w.FloatSlider(0.5, min=x_low, max=x_high, step=0.01, description="x"),
        "bird_size": w.FloatSlider(
            0.3, min=0.15, max=0.6, step=0.05, description="bird size"
        ),
        "distractors": w.IntSlider(3, min=0, max=10, description="distractors"),
    }
    # fixed sizes: the picture stays put whatever the caption's length
    picture = w.Image(
        format="png", width=288, height=288, layout=w.Layout(width="288px", height="288px")
    )
    caption = w.HTML(layout=w.Layout(width="340px", height="4.5em"))
    busy = []

    def fit_sliders() -> None:
        """Give the x and y sliders the range a bird of this size can reach."""
        reach = scene_reach(round(sliders["bird_size"].value, 4))
        for slider, (low, high) in zip((sliders["y"], sliders["x"]), reach, strict=True):
            if low > slider.max:  # widen on the side it moves to first: min <= max
                slider.max, slider.min = high, low
            else:
                slider.min, slider.max = low, high

    def redraw(_change: object = None) -> None:
        if busy:  # a slider clamped by fit_sliders: one redraw follows
            return
        busy.append(True)
        try:
            fit_sliders()
        finally:
            busy.clear()
        frame = scene_frame(**{k: s.value for k, s in sliders.items()}, seed=seed)
        picture.value = to_png(frame["image"], mask=frame["mask"])
        caption.value = _describe(frame)

    for slider in sliders.values():
        slider.observe(redraw, names="value")
    redraw()
    controls = w.VBox(
        list(sliders.values()) + [caption],
        layout=w.Layout(width="340px", flex="0 0 340px"),
    )
    live = w.HBox(
        [controls, picture], layout=w.Layout(width="640px", align_items="flex-start")
    )
    sweep = [scene_frame(0.45, x, seed=seed) for x in np.linspace(x_low, x_high, frames)]
    alt = (
        "A bird crossing a cluttered sky from left to right, its mask outlined in "
        "magenta; the slider steps through its positions."
    )
    static = scrubber(_draw_scene, sweep, alt=alt, figsize=(3.4, 3.4))
    return Explorer(live, static, "scene explorer")
