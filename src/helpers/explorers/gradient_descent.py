"""Chapter 1's explorers: one weight's effect on the loss, and the weight map forming.

* :func:`nudge_frame`: change one weight of a trained logistic regression by ``delta``
  and see the loss, the loss along that weight's axis, and the gradient dL/dw there
  (the slope that backprop computes and SGD steps against); drawn by
  :func:`draw_nudge`, live in :func:`nudge_explorer`;
* :func:`sgd_frame`: the weight map after a given number of SGD steps, beside the
  loss curve; drawn by :func:`draw_sgd`, live in :func:`sgd_explorer`.

Built on :mod:`helpers.explorers.framework`. The weight map is
:func:`helpers.logistic.weight_map`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from helpers.explorers.framework import BlitView, Explorer, build, colour_bar, scrubber
from helpers.explorers.png import signed_png
from helpers.logistic import Run, pixel_side, weight_map
from helpers.viz import COLUMN_WIDTH, DIVERGING, DPI

__all__ = [
    "CHANNELS",
    "nudge_frame",
    "nudge_limits",
    "draw_nudge",
    "nudge_explorer",
    "sgd_frame",
    "draw_sgd",
    "sgd_explorer",
    "NudgeView",
    "SGDView",
]

CHANNELS = ("red", "green", "blue")
"""The names of the image's colour channels, by index (0 red, 1 green, 2 blue).

The nudge explorer's channel menu and the labels of its plots use them."""
FIGSIZE = (COLUMN_WIDTH, 2.2)
"""The static frames' size in inches, the book's column wide and low (page weight).

(:data:`~helpers.viz.COLUMN_WIDTH`, 2.2): a low frame keeps the scrubber's PNGs small."""


def _softplus(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def nudge_frame(
    w: np.ndarray,
    b: float,
    X: np.ndarray,
    y: np.ndarray,
    *,
    channel: int = 1,
    row: int = 12,
    col: int = 12,
    delta: float = 0.0,
    span: float = 0.5,
    points: int = 41,
) -> dict[str, Any]:
    """Parameters -> data to draw: weight (channel, row, col) moved by ``delta``.

    Args:
        w: trained weights (3 H W,).
        b: trained bias.
        X: the data (N, 3 H W).
        y: its 0/1 labels (N,).
        channel: the weight's colour channel (0, 1, 2 = red, green, blue).
        row: the weight's pixel row.
        col: the weight's pixel column.
        delta: how far to move it from its trained value.
        span: the loss curve covers the trained value +- span ...
        points: ... at this many values.

    Returns:
        A dict with ``weights`` (points,) and ``curve`` (points,), the loss along that
        weight's axis;
        ``weight`` and ``loss`` at the nudged value; ``grad``: dL/dw there,
        mean((p - y) x_i) (the tests check it equals backprop through
        :mod:`helpers.autograd`); ``map`` (H, W) the nudged weight map;
        ``trained`` the trained value; and the parameters.
    """
    w = np.asarray(w, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    side = pixel_side(w.size)
    if X.ndim != 2 or X.shape[1] != w.size or len(X) != len(y):
        raise ValueError(f"X must be (N, {w.size}) with N = len(y); got {X.shape}")
    for name, value, high in (
        ("channel", channel, 3),
        ("row", row, side),
        ("col", col, side),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {value!r}")
        if not 0 <= value < high:
            raise ValueError(f"{name} must be in [0, {high}), got {value}")
    i = (channel * side + row) * side + col
    y = np.asarray(y, dtype=np.float64)
    z0 = X @ w + b - w[i] * X[:, i]  # the logits without this weight's term
    weights = w[i] + np.linspace(-span, span, points)
    z = z0[:, None] + X[:, i, None] * weights[None]  # (N, points)
    curve = (_softplus(z) - y[:, None] * z).mean(0)
    nudged = w.copy()
    nudged[i] += delta
    z = z0 + nudged[i] * X[:, i]
    p = np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))), 1 - 1 / (1 + np.exp(-np.abs(z))))
    loss = float((_softplus(z) - y * z).mean())
    grad = float(((p - y) * X[:, i]).mean())  # dL/dw_i = mean((p - y) x_i)
    return {
        "weights": weights,
        "curve": curve,
        "weight": float(nudged[i]),
        "trained": float(w[i]),
        "loss": loss,
        "grad": grad,
        "map": weight_map(nudged),
        "params": {"channel": channel, "row": row, "col": col, "delta": delta},
    }


def _panels(fig: Figure) -> tuple[Axes, Axes, Axes]:
    """A square weight map, its colour bar and a plot to their right, laid out in
    inches (legible at any figure size): (map, plot, colour bar)."""
    width, height = fig.get_size_inches()
    top, bottom = 0.3, 0.45  # room for a title; for tick labels and an x label
    side = height - top - bottom
    x = [0.5, 0.5 + side + 0.08]  # the map (y label and ticks to its left), the bar
    plot_left = x[1] + 0.12 + 1.2  # the bar, its tick labels and label, the plot's
    inch = np.array([width, height, width, height])
    weights = fig.add_axes(np.array([x[0], bottom, side, side]) / inch)
    plot = fig.add_axes(np.array([plot_left, bottom, width - plot_left - 0.1, side]) / inch)
    bar = fig.add_axes(np.array([x[1], bottom, 0.12, side]) / inch)
    return weights, plot, bar


def nudge_limits(frame: dict[str, Any]) -> tuple[tuple[float, float], tuple[float, float]]:
    """The loss plot's (x limits, y limits) for a :func:`nudge_frame`.

    They depend on the chosen weight's loss curve only, not on the nudge, so the axes
    stay still while the weight moves; above the curve there is room for a legend."""
    xs, ys = frame["weights"], frame["curve"]
    low, high = float(ys.min()), float(ys.max())
    pad = (high - low) or 1e-3
    margin = 0.03 * (xs[-1] - xs[0])  # the point stays whole at the ends
    x_limits = (float(xs[0] - margin), float(xs[-1] + margin))
    return x_limits, (low - 0.08 * pad, high + 0.12 * pad)


def _tangent(frame: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The tangent at the nudged value: a segment half the curve's span long."""
    x0, l0, g = frame["weight"], frame["loss"], frame["grad"]
    half = (frame["weights"][-1] - frame["weights"][0]) / 4
    xs = np.array([x0 - half, x0 + half])
    return xs, l0 + g * (xs - x0)


def _weight_label(params: dict[str, Any]) -> str:
    channel, row, col = CHANNELS[params["channel"]], params["row"], params["col"]
    return f"{channel} weight at row {row}, col {col}"


def draw_nudge(fig: Figure, frame: dict[str, Any], vmax: float | None = None) -> None:
    """Draw a :func:`nudge_frame`: the weight map and the loss along one weight.

    The nudged pixel is boxed in black on the map (which sums the pixel's three
    colour weights); the tangent's slope is the gradient. The loss axes have the
    fixed limits of :func:`nudge_limits`.
    """
    left, right, bar = _panels(fig)
    vmax = vmax or float(np.abs(frame["map"]).max())
    im = left.imshow(
        frame["map"], cmap=DIVERGING, vmin=-vmax, vmax=vmax, interpolation="nearest"
    )
    p = frame["params"]
    left.add_patch(
        Rectangle((p["col"] - 0.5, p["row"] - 0.5), 1, 1, fill=False, ec="k", lw=1.5)
    )
    left.set_xlabel("x (pixels)")
    left.set_ylabel("y (pixels)")
    left.set_title("weight map, nudged pixel boxed")
    fig.colorbar(im, cax=bar).set_label("weight (R+G+B)")
    right.plot(frame["weights"], frame["curve"], color="0.3", label="loss")
    xs, ys = _tangent(frame)
    right.plot(xs, ys, color="#e66101", lw=2, label="slope = dL/dw")
    right.plot([frame["weight"]], [frame["loss"]], "o", color="#5e3c99")
    right.axvline(frame["trained"], color="0.6", ls=":", lw=1, label="trained value")
    (x_limits, y_limits) = nudge_limits(frame)
    right.set_xlim(*x_limits)
    right.set_ylim(*y_limits)
    right.ticklabel_format(axis="y", useOffset=False)
    right.set_xlabel(_weight_label(p) + " (boxed)")
    right.set_ylabel("training loss")
    slope = f"{frame['grad']:+.4f}".replace("-", "\u2212")  # a minus, as on the axes
    right.set_title(f"loss {frame['loss']:.4f}, dL/dw = {slope}")
    right.legend(loc="upper center")


# ----------------------------------------------------------------------------------
# Live views: redrawn on every slider move, so they avoid a full matplotlib redraw.
# The weight map is coloured directly into a PNG; the loss plot keeps its static parts
# as a cached background and redraws only what moves (blitting).


def _loss_plot(left: float = 0.6) -> tuple[BlitView, Axes]:
    """A 420x220 px loss plot, margins in inches, as a :class:`BlitView` and its axes."""
    width, height = 4.2, 2.2
    fig = Figure(figsize=(width, height), dpi=DPI)
    ax = fig.add_axes(
        (left / width, 0.45 / height, 1 - (left + 0.1) / width, 1 - 0.55 / height)
    )
    return BlitView(fig), ax


class NudgeView:
    """The live nudge explorer's pictures: ``show(frame)`` -> (map PNG, plot PNG).

    A new weight redraws the loss curve and sets the axes' limits
    (:func:`nudge_limits`); a new nudge of the same weight only moves the point and
    the tangent, on axes that stay still.
    """

    def __init__(self, vmax: float) -> None:
        self.vmax = vmax
        """The weight map's fixed colour limit, drawn from -vmax to vmax (0 is white)."""
        self.plot, ax = _loss_plot(left=0.75)  # room for losses with four decimals
        """The loss plot, 420x220 px, a cached background with the moving parts on top.

        Only the point and the tangent are redrawn for a new nudge (blitting).
        """
        self.ax = ax
        """The loss plot's axes."""
        self.weight: tuple | None = None
        """(channel, row, col) of the weight the loss curve is drawn for, None at first."""
        (self.curve,) = ax.plot([], [], color="0.3")
        self.trained = ax.axvline(0.0, color="0.6", ls=":", lw=1)
        """The dotted vertical line at the chosen weight's trained value."""
        ax.set_ylabel("training loss")
        ax.ticklabel_format(axis="y", useOffset=False)
        (tangent,) = ax.plot([], [], color="#e66101", lw=2, animated=True)
        (point,) = ax.plot([], [], "o", color="#5e3c99", animated=True)
        self.plot.animate(tangent, point)

    def show(self, frame: dict[str, Any]) -> tuple[bytes, bytes]:
        """Draw a :func:`nudge_frame` and return (weight map PNG, loss plot PNG).

        The map has the nudged pixel boxed; a new weight also redraws the loss curve.
        """
        p = frame["params"]
        which = (p["channel"], p["row"], p["col"])
        if which != self.weight:  # the same artists with new data: no new ticks
            ax = self.ax
            self.curve.set_data(frame["weights"], frame["curve"])
            self.trained.set_xdata([frame["trained"]] * 2)
            ax.set_xlabel(_weight_label(p) + " (boxed)")
            x_limits, y_limits = nudge_limits(frame)
            ax.set_xlim(*x_limits)
            ax.set_ylim(*y_limits)
            self.plot.freeze()
            self.weight = which
        tangent, point = self.plot.moving
        tangent.set_data(*_tangent(frame))
        point.set_data([frame["weight"]], [frame["loss"]])
        box = (p["row"], p["col"])
        return signed_png(frame["map"], self.vmax, box=box), self.plot.png()


class SGDView:
    """The live SGD explorer's pictures: ``show(frame)`` -> (map PNG, plot PNG)."""

    def __init__(self, losses: np.ndarray, vmax: float) -> None:
        self.vmax = vmax
        """The weight map's fixed colour limit, drawn from -vmax to vmax (0 is white)."""
        self.plot, ax = _loss_plot()
        """The loss plot, 420x220 px, a cached background with the moving parts on top.

        Only the smoothed loss so far and the current step's line are redrawn (blitting).
        """
        steps = np.arange(1, len(losses) + 1)
        self.smooth = np.convolve(losses, np.ones(20) / 20, mode="valid")
        """The loss averaged over 20 steps, (steps - 19,), entry i for steps i+1 to i+20."""
        ax.plot(steps, losses, color="0.85", lw=0.6)
        ax.plot(steps[19:], self.smooth, color="0.55", lw=1)
        ax.set_xlabel("SGD step")
        ax.set_ylabel("training loss")
        (self.so_far,) = ax.plot([], [], color="#5e3c99", lw=1.5, animated=True)
        self.now = ax.axvline(1, color="#e66101", lw=1, animated=True)
        """The orange vertical line at the step shown, redrawn on every frame."""
        self.plot.animate(self.so_far, self.now)
        self.plot.freeze()

    def show(self, frame: dict[str, Any]) -> tuple[bytes, bytes]:
        """Draw an :func:`sgd_frame` and return (weight map PNG, loss plot PNG)."""
        step = frame["step"]
        shown = self.smooth[: max(step - 19, 0)]
        self.so_far.set_data(np.arange(20, 20 + len(shown)), shown)
        self.now.set_xdata([max(step, 1)])
        return signed_png(frame["map"], self.vmax), self.plot.png()


def _live_layout(controls: list, caption: Any, pictures: list) -> Any:
    """Controls, a caption line and the pictures in a row, all of fixed widths (a
    longer caption moves nothing)."""
    import ipywidgets as wd

    caption.layout = wd.Layout(width="640px")
    row = wd.HBox(pictures, layout=wd.Layout(align_items="flex-start"))
    return wd.VBox([*controls, caption, row])


def _weight_bar(vmax: float) -> Any:
    return colour_bar(DIVERGING, -vmax, vmax, "weight (R+G+B)", height=192)


def nudge_explorer(
    w: np.ndarray,
    b: float,
    X: np.ndarray,
    y: np.ndarray,
    *,
    channel: int = 1,
    row: int = 12,
    col: int = 12,
    frames: int = 7,
) -> Explorer:
    """Pick one weight and nudge it; the loss and its gradient follow.

    Live: the weight map (one fixed colour scale, with its colour bar) and the loss
    along the chosen weight, on axes that stay still while it is nudged. Static: that
    weight swept across its range.
    """
    import ipywidgets as wd

    side = pixel_side(np.size(w))
    vmax = float(np.abs(weight_map(w)).max())
    controls = {
        "channel": wd.Dropdown(
            options=[(c, k) for k, c in enumerate(CHANNELS)],
            value=channel,
            description="channel",
        ),
        "row": wd.IntSlider(row, min=0, max=side - 1, description="row"),
        "col": wd.IntSlider(col, min=0, max=side - 1, description="col"),
        "delta": wd.FloatSlider(0.0, min=-0.5, max=0.5, step=0.05, description="nudge"),
    }
    view = NudgeView(vmax)
    weight_picture = wd.Image(format="png", width=192, height=192)
    plot_picture = wd.Image(format="png", width=420, height=220)
    caption = wd.Label()

    def show(frame: dict[str, Any]) -> None:
        weight_picture.value, plot_picture.value = view.show(frame)
        caption.value = (
            f"weight {frame['weight']:+.3f}: loss {frame['loss']:.4f}, "
            f"dL/dw = {frame['grad']:+.5f} (the tangent's slope)"
        )

    live = _live_layout(
        [wd.HBox(list(controls.values())[:2]), wd.HBox(list(controls.values())[2:])],
        caption,
        [weight_picture, _weight_bar(vmax), plot_picture],
    )
    sweep = [
        nudge_frame(w, b, X, y, channel=channel, row=row, col=col, delta=d)
        for d in np.linspace(-0.5, 0.5, frames)
    ]
    alt = (
        f"One weight ({CHANNELS[channel]}, row {row}, column {col}) moved from 0.5 below "
        "to 0.5 above its trained value: the loss is a smooth valley along that weight, "
        "lowest near the trained value, and the tangent's slope (the gradient) changes "
        "sign there."
    )
    static = scrubber(
        lambda fig, f: draw_nudge(fig, f, vmax=vmax), sweep, alt=alt, figsize=FIGSIZE
    )
    return build(
        "nudge explorer",
        controls=controls,
        frame=lambda **v: nudge_frame(w, b, X, y, **v),
        show=show,
        live=live,
        static=static,
    )


def _spread(items: list, n: int) -> list:
    """``n`` of ``items`` spread evenly from the first to the last (all if fewer)."""
    if n >= len(items):
        return list(items)
    return [items[i] for i in np.linspace(0, len(items) - 1, n).round().astype(int)]


def sgd_frame(run: Run, step: int) -> dict[str, Any]:
    """Parameters -> data to draw: the weight map after ``step`` SGD steps.

    ``step`` must be one of ``run.snapshots``. Returns a dict with ``map`` (H, W),
    ``step``, ``losses`` (all steps) and ``loss`` (the mean of the 10 steps before it).
    """
    if step not in run.snapshots:
        raise ValueError(f"step must be one of the snapshots {sorted(run.snapshots)}")
    recent = run.losses[max(0, step - 10) : step]
    return {
        "map": weight_map(run.snapshots[step][0]),
        "step": step,
        "losses": run.losses,
        "loss": float(recent.mean()) if len(recent) else float("nan"),
    }


def draw_sgd(fig: Figure, frame: dict[str, Any], vmax: float) -> None:
    """The weight map after ``frame['step']`` steps beside the loss curve so far."""
    left, right, bar = _panels(fig)
    im = left.imshow(
        frame["map"], cmap=DIVERGING, vmin=-vmax, vmax=vmax, interpolation="nearest"
    )
    left.set_xlabel("x (pixels)")
    left.set_ylabel("y (pixels)")
    left.set_title(f"weights after {frame['step']} steps")
    fig.colorbar(im, cax=bar).set_label("weight (R+G+B)")
    losses, step = frame["losses"], frame["step"]
    smooth = np.convolve(losses, np.ones(20) / 20, mode="valid")  # mean of 20 steps
    steps = np.arange(1, len(losses) + 1)
    right.plot(  # not antialiased: the noisy line's grey shades cost many bytes
        steps, losses, color="0.8", lw=0.6, antialiased=False, label="one minibatch"
    )
    right.plot(steps[19:], smooth, color="0.55", lw=1)
    right.plot(
        steps[19:step],
        smooth[: max(step - 19, 0)],
        color="#5e3c99",
        lw=1.5,
        label="mean of 20 steps",
    )
    right.axvline(max(step, 1), color="#e66101", lw=1)
    right.set_xlim(0, len(losses) + 1)
    right.set_xlabel("SGD step")
    right.set_ylabel("training loss")
    loss = frame["loss"]
    title = f"step {step}: loss {loss:.3f}" if np.isfinite(loss) else "before training"
    right.set_title(title)
    right.legend(loc="upper right")


def sgd_explorer(run: Run, *, frames: int = 6) -> Explorer:
    """Scrub through SGD steps: the weight map forms.

    Live: a slider over the snapshots, the map on one fixed colour scale with its
    colour bar; static: a scrubber over ``frames`` of them, spread from the first to
    the last (all of them if there are fewer).
    """
    import ipywidgets as wd

    steps = sorted(run.snapshots)
    vmax = max(float(np.abs(weight_map(w)).max()) for w, _ in run.snapshots.values())
    slider = wd.SelectionSlider(options=steps, value=steps[-1], description="step")
    view = SGDView(run.losses, vmax)
    weight_picture = wd.Image(format="png", width=192, height=192)
    plot_picture = wd.Image(format="png", width=420, height=220)
    caption = wd.Label()

    def show(frame: dict[str, Any]) -> None:
        weight_picture.value, plot_picture.value = view.show(frame)
        caption.value = f"after {frame['step']} steps: weight map (R+G+B), loss so far"

    alt = (
        "The weight map of logistic regression after 0 to "
        f"{steps[-1]} SGD steps: from all zeros, a bird-shaped pattern of positive and "
        "negative weights forms at the image centre while the loss falls."
    )
    static = scrubber(
        lambda fig, f: draw_sgd(fig, f, vmax),
        [sgd_frame(run, s) for s in _spread(steps, frames)],
        alt=alt,
        figsize=FIGSIZE,
    )
    live = _live_layout(
        [slider], caption, [weight_picture, _weight_bar(vmax), plot_picture]
    )
    return build(
        "SGD explorer",
        controls={"step": slider},
        frame=lambda step: sgd_frame(run, step),
        show=show,
        live=live,
        static=static,
    )
