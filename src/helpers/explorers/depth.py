"""Chapter 2's depth explorer: initialisation at depth, layer by layer.

:func:`~helpers.initialisation.depth_frame` (depth, activation, initialisation -> the
standard deviation of activations and gradients per layer) drawn by
:func:`draw_depth`, live in :func:`depth_explorer` (a :class:`DepthView` redraws only
the two lines); static: the six (activation, initialisation) pairs.
"""

from __future__ import annotations

from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from helpers.explorers.framework import BlitView, Explorer, build, scrubber
from helpers.initialisation import depth_frame
from helpers.models import ACTIVATIONS, INITS
from helpers.viz import COLUMN_WIDTH, DPI

__all__ = [
    "STD_LIMITS",
    "INIT_NAMES",
    "draw_depth",
    "DepthView",
    "depth_explorer",
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
    two lines over it (a :class:`~helpers.explorers.framework.BlitView`), in a few
    milliseconds.
    """

    def __init__(self) -> None:
        fig = Figure(figsize=DEPTH_FIGSIZE, dpi=DPI)
        left, right = _depth_axes(fig)
        self.view = BlitView(fig)
        """The figure, its axes drawn once, the two lines redrawn by every frame."""
        (self.activations,) = left.plot([], [], "o-", color="#5e3c99", ms=4, animated=True)
        (self.gradients,) = right.plot([], [], "s-", color="#e66101", ms=4, animated=True)
        self.view.animate(self.activations, self.gradients)
        self.view.freeze()

    def show(self, frame: dict[str, Any]) -> bytes:
        """Draw a depth frame's two lines on the fixed axes; return the PNG."""
        self.activations.set_data(frame["layer"], frame["activation_std"])
        self.gradients.set_data(frame["layer"], frame["gradient_std"])
        return self.view.png()


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

    def show(frame: dict[str, Any]) -> None:
        picture.value = view.show(frame)
        caption.value = _depth_caption(frame)

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
    return build(
        "depth explorer",
        controls=controls,
        frame=depth_frame,
        show=show,
        live=live,
        static=static,
    )
