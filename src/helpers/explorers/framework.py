"""The explorers' framework: one object, one builder, the bird's controls, one view.

Every explorer of the course is built from the same pieces:

1. a pure *parameters -> data to draw* function, its **frame** (tested without a
   browser), e.g. :func:`helpers.explorers.pooling_heads.heads_frame`;
2. **live** wiring: ipywidgets controls whose values are the frame function's
   arguments, and a ``show(frame)`` that puts the frame's pictures (PNGs from
   :mod:`helpers.explorers.png`) into the live view. :func:`build` connects them:
   every control's change computes a frame and shows it;
3. a **static** counterpart: the frame function over a sweep of one parameter,
   rendered by :func:`scrubber` as a self-contained player (frames and JavaScript
   inline; no kernel, no CDN) whose first frame shows even where its script cannot run.

:class:`Explorer` carries 2 and 3 in one output. Its display bundle holds the widget
view *and* the static HTML: JupyterLab shows the live widget, and the book (whose
myst-nb configuration drops the widget-view type) shows the scrubber.

Most explorers move a bird: :func:`scene_reach` says where its centre can be,
:func:`bird_sliders` makes the x and y sliders over that range and :func:`bird_sweep`
the static frames of the bird crossing the image. Plots that change on every slider
move are redrawn by a :class:`BlitView` (the static parts cached, only the moving
artists drawn again).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from html import escape
from typing import Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from helpers.explorers.png import colorbar_png
from helpers.scenes import render_scene
from helpers.viz import COLUMN_WIDTH, DPI, PIXEL_RATIO, check_figure

__all__ = [
    "Explorer",
    "build",
    "NOTE",
    "scrubber",
    "colour_bar",
    "scene_reach",
    "bird_sliders",
    "bird_sweep",
    "BlitView",
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


def build(
    name: str,
    *,
    controls: Mapping[str, Any],
    frame: Callable[..., dict[str, Any]],
    show: Callable[[dict[str, Any]], None],
    live: Any,
    static: str,
) -> Explorer:
    """An explorer from its parts: every change of a control redraws the live view.

    Args:
        name: the explorer's short name.
        controls: ipywidgets controls by name; their values are ``frame``'s keyword
            arguments (``frame(**{name: control.value})``).
        frame: parameters -> data to draw (a partial of the explorer's frame function).
        show: puts one frame's pictures and captions into the live view's widgets.
        live: the live view, laid out (it holds the controls and what ``show`` fills).
        static: the book's stand-in, e.g. a :func:`scrubber` over a sweep of frames.

    Returns:
        The :class:`Explorer`, its live view already showing the controls' values.
    """
    if not controls:
        raise ValueError("an explorer needs at least one control")

    def redraw(_change: object = None) -> None:
        show(frame(**{key: control.value for key, control in controls.items()}))

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    return Explorer(live, static, name)


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
    :func:`~helpers.explorers.png.colorbar_png`, 90 CSS pixels wide and ``height`` tall (the
    pictures it stands beside), marked with the class ``explorer-colorbar``."""
    import ipywidgets as w

    png = colorbar_png(cmap, vmin, vmax, label, height=height, extend=extend)
    bar = w.Image(value=png, format="png", width=90, height=height)
    bar.add_class("explorer-colorbar")
    return bar


# ----------------------------------------------------------------------------------
# Moving the bird: where its centre can be, the sliders over that range, the sweep.


@lru_cache(maxsize=32)
def scene_reach(bird_size: float = 0.3) -> tuple[tuple[float, float], tuple[float, float]]:
    """Where the centre of a bird of ``bird_size`` can be: ((y low, y high), (x low,
    x high)) as fractions of the image, rounded to hundredths.

    :func:`~helpers.scenes.render_scene` keeps the bird whole inside the image, so a
    centre asked for nearer the edge is moved in; this asks it for the corners and
    reads where the bird's centre (its mask's centroid) lands. The explorers' x and y
    sliders run over this range, so that every slider value moves the bird.
    """
    low = render_scene((0.0, 0.0), bird_size=bird_size).centers[0]
    high = render_scene((1.0, 1.0), bird_size=bird_size).centers[0]
    y, x = (
        (round(float(lo), 2), round(float(hi), 2)) for lo, hi in zip(low, high, strict=True)
    )
    return y, x


def bird_sliders(
    bird_size: float, *, y: float = 0.5, x: float | None = 0.5, step: float = 0.02
) -> dict[str, Any]:
    """``{"y": slider, "x": slider}`` over the centres a bird of ``bird_size`` can reach
    (:func:`scene_reach`), starting at (``y``, ``x``); ``x=None`` starts at the left."""
    import ipywidgets as w

    (y_low, y_high), (x_low, x_high) = scene_reach(bird_size)
    x = x_low if x is None else x
    return {
        "y": w.FloatSlider(y, min=y_low, max=y_high, step=step, description="y"),
        "x": w.FloatSlider(x, min=x_low, max=x_high, step=step, description="x"),
    }


def bird_sweep(
    frame: Callable[[float, float], dict[str, Any]],
    bird_size: float,
    frames: int,
    *,
    y: float = 0.5,
) -> list[dict[str, Any]]:
    """The static frames of the bird crossing the image from left to right at height
    ``y``: ``frame(y, x)`` at ``frames`` centres evenly spread over the reachable x."""
    if isinstance(frames, bool) or not isinstance(frames, int) or frames < 2:
        raise ValueError(f"frames must be an int of at least 2, got {frames!r}")
    _, (x_low, x_high) = scene_reach(bird_size)
    return [frame(y, x) for x in np.linspace(x_low, x_high, frames)]


# ----------------------------------------------------------------------------------
# A plot redrawn on every slider move: the static parts drawn once, the rest blitted.


class BlitView:
    """A matplotlib figure whose animated artists are drawn over a cached background.

    Make the figure and its static parts, mark the moving artists with
    ``animated=True`` and pass them to :meth:`animate`, then :meth:`freeze` once (and
    again whenever a static part changes, e.g. new axis limits). :meth:`png` draws
    only the moving artists over the background: a few milliseconds a frame.
    """

    def __init__(self, fig: Figure) -> None:
        self.fig = fig
        """The figure, drawn at its own DPI (the book's :data:`~helpers.viz.DPI`)."""
        self.canvas = FigureCanvasAgg(fig)
        self.moving: list[Artist] = []
        """The animated artists, redrawn by every :meth:`png`."""
        self.background: Any = None

    def animate(self, *artists: Artist) -> None:
        """Add artists (made with ``animated=True``) to those redrawn every frame."""
        self.moving.extend(artists)

    def freeze(self) -> None:
        """Draw everything but the animated artists once and keep it as background."""
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(self.fig.bbox)

    def png(self) -> bytes:
        """The background with the moving artists drawn on it, as a PNG."""
        from PIL import Image

        if self.background is None:
            raise RuntimeError("call freeze() before png(): there is no background yet")
        self.canvas.restore_region(self.background)
        for artist in self.moving:
            artist.axes.draw_artist(artist)
        buffer = io.BytesIO()
        pixels = np.asarray(self.canvas.buffer_rgba())[..., :3]
        Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
        return buffer.getvalue()
