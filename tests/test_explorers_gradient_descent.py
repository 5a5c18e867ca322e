from io import BytesIO

import ipywidgets as w
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image

from figure_checks import text_problems, widgets_in
from helpers.autograd import Tensor
from helpers.explorers.gradient_descent import (
    FIGSIZE,
    NudgeView,
    SGDView,
    draw_nudge,
    draw_sgd,
    nudge_explorer,
    nudge_frame,
    nudge_limits,
    sgd_explorer,
    sgd_frame,
)
from helpers.explorers.png import colorbar_png
from helpers.explorers.png import signed_png as map_png
from helpers.logistic import (
    centred_scenes,
    features,
    logistic_loss,
    train_logistic,
    weight_map,
)
from helpers.viz import COLUMN_WIDTH, DIVERGING


@pytest.fixture(scope="module")
def trained():
    s = centred_scenes(300, seed=4)
    X = features(s.images)
    X = X - X.mean(0)
    run = train_logistic(
        X, s.labels, lr=0.1, batch_size=32, epochs=3, snapshot_every=10, progress=False
    )
    return run, X, s.labels


def test_weight_map_sums_channels():
    w = np.arange(12.0)
    np.testing.assert_array_equal(weight_map(w), [[12.0, 15.0], [18.0, 21.0]])
    with pytest.raises(ValueError, match="3 H W"):
        weight_map(np.zeros(10))


def test_nudge_frame_loss_and_gradient_equal_backprop(trained):
    run, X, y = trained
    f = nudge_frame(run.w, run.b, X, y, channel=2, row=5, col=7, delta=0.3)
    i = (2 * 24 + 5) * 24 + 7
    w = run.w.copy()
    w[i] += 0.3
    wt = Tensor(w)
    loss = logistic_loss(wt, Tensor(run.b), X, y)
    loss.backward()
    assert f["loss"] == pytest.approx(loss.item(), rel=1e-12)
    assert f["grad"] == pytest.approx(wt.grad[i], rel=1e-9, abs=1e-15)
    assert f["weight"] == pytest.approx(run.w[i] + 0.3)
    np.testing.assert_allclose(f["map"], weight_map(w))
    # the curve is the loss along this weight's axis: it passes through the point
    assert np.interp(f["weight"], f["weights"], f["curve"]) == pytest.approx(
        f["loss"], rel=1e-3
    )


def test_gradient_is_the_slope_and_points_downhill(trained):
    run, X, y = trained
    eps = 1e-5
    f = nudge_frame(run.w, run.b, X, y, delta=0.2)
    up = nudge_frame(run.w, run.b, X, y, delta=0.2 + eps)["loss"]
    down = nudge_frame(run.w, run.b, X, y, delta=0.2 - eps)["loss"]
    assert f["grad"] == pytest.approx((up - down) / (2 * eps), rel=1e-4)
    step = nudge_frame(run.w, run.b, X, y, delta=0.2 - 0.5 * f["grad"])
    assert step["loss"] < f["loss"]  # a small step against the gradient lowers it


def test_nudge_frame_rejects_bad_arguments(trained):
    run, X, y = trained
    with pytest.raises(ValueError, match="row must be in"):
        nudge_frame(run.w, run.b, X, y, row=24)
    with pytest.raises(TypeError, match="channel must be an int"):
        nudge_frame(run.w, run.b, X, y, channel=1.5)
    with pytest.raises(ValueError, match="X must be"):
        nudge_frame(run.w, run.b, X[:, :10], y)


def test_sgd_frame(trained):
    run, _, _ = trained
    f0 = sgd_frame(run, 0)
    assert not f0["map"].any() and np.isnan(f0["loss"])
    f = sgd_frame(run, 20)
    assert f["map"].shape == (24, 24)
    assert f["loss"] == pytest.approx(run.losses[10:20].mean())
    with pytest.raises(ValueError, match="snapshots"):
        sgd_frame(run, 7)


def frame_figure() -> Figure:
    fig = Figure(figsize=FIGSIZE)
    FigureCanvasAgg(fig)
    return fig


def test_draw_functions_label_their_axes(trained):
    run, X, y = trained
    assert FIGSIZE[0] <= COLUMN_WIDTH
    fig = frame_figure()
    frame = nudge_frame(run.w, run.b, X, y, channel=1, row=11, col=12)
    draw_nudge(fig, frame)
    weights, curve, bar = fig.axes  # map, loss curve, then the colour bar
    assert weights.get_xlabel() and curve.get_xlabel() and curve.get_ylabel()
    assert bar.get_ylabel() == "weight (R+G+B)"
    # the words match the picture: the box is black and named as such
    (box,) = [p for p in weights.patches if isinstance(p, Rectangle)]
    assert box.get_edgecolor()[:3] == (0.0, 0.0, 0.0)
    assert "boxed" in weights.get_title()
    assert curve.get_xlabel() == "green weight at row 11, col 12 (boxed)"
    assert text_problems(fig) == []
    fig.clear()
    draw_sgd(fig, sgd_frame(run, 30), vmax=1.0)
    assert fig.axes[1].get_xlabel() == "SGD step"
    assert text_problems(fig) == []


def test_nudge_axes_stay_still_while_the_weight_moves(trained):
    run, X, y = trained
    limits, drawn = set(), set()
    for delta in (-0.5, -0.2, 0.0, 0.3, 0.5):
        frame = nudge_frame(run.w, run.b, X, y, row=5, col=7, delta=delta)
        limits.add(nudge_limits(frame))
        fig = frame_figure()
        draw_nudge(fig, frame)
        drawn.add((fig.axes[1].get_xlim(), fig.axes[1].get_ylim()))
        (x0, x1), (y0, y1) = nudge_limits(frame)
        assert x0 < frame["weight"] < x1 and y0 < frame["loss"] < y1  # the point shows
    assert len(limits) == 1 and drawn == limits
    other = nudge_frame(run.w, run.b, X, y, row=6, col=7)
    assert nudge_limits(other) != limits.pop()  # a new weight: new limits
    # the live view too
    view = NudgeView(vmax=1.0)
    seen = set()
    for delta in (-0.5, 0.0, 0.5):
        view.show(nudge_frame(run.w, run.b, X, y, row=5, col=7, delta=delta))
        seen.add((view.ax.get_xlim(), view.ax.get_ylim()))
    assert len(seen) == 1


def test_explorers_carry_a_live_widget_and_an_offline_scrubber(trained):
    run, X, y = trained
    for explorer in (nudge_explorer(run.w, run.b, X, y, frames=3), sgd_explorer(run)):
        bundle = explorer._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in bundle
        html = bundle["text/html"]
        assert "<script" in html and "http" not in html.replace("http://www.w3.org", "")
        assert 'alt="' in html
        # the live map has its colour bar (drawn once, at twice the pixels)
        (bar,) = [
            c for c in widgets_in(explorer.widget) if "explorer-colorbar" in c._dom_classes
        ]
        assert _size(bar.value) == (2 * int(bar.width), 2 * int(bar.height))


def test_sgd_scrubber_spreads_its_frames_over_the_snapshots(trained):
    run, _, _ = trained
    steps = sorted(run.snapshots)
    html = sgd_explorer(run, frames=4).static_html
    assert html.count("data:image/png;base64") == 4
    assert sgd_explorer(run, frames=100).static_html.count("data:image/png") == len(steps)
    slider = [
        c for c in widgets_in(sgd_explorer(run).widget) if isinstance(c, w.SelectionSlider)
    ]
    assert list(slider[0].options) == steps  # the live view keeps every snapshot


def test_colorbar_png_is_labelled_and_sized():
    png = colorbar_png(DIVERGING, -1.0, 1.0, "weight (R+G+B)", height=150)
    assert _size(png) == (180, 300)
    pixels = np.asarray(Image.open(BytesIO(png)).convert("RGB"))
    assert (pixels < 100).all(axis=2).sum() > 200  # ticks, tick labels, the label


def _size(png: bytes) -> tuple[int, int]:
    return Image.open(BytesIO(png)).size


def test_map_png_colours_and_boxes_a_pixel():
    m = np.zeros((24, 24))
    m[3, 4] = 1.0
    plain = np.asarray(Image.open(BytesIO(map_png(m, 1.0))))
    assert plain.shape == (192, 192, 3)
    assert (plain[0, 0] > 240).all()  # 0 is white: limits are symmetric
    assert not np.array_equal(plain[3 * 8 + 4, 4 * 8 + 4], plain[0, 0])  # coloured
    boxed = np.asarray(Image.open(BytesIO(map_png(m, 1.0, box=(10, 10)))))
    assert tuple(boxed[79, 84]) == (0, 0, 0)  # black just above the weight, as drawn
    assert tuple(boxed[84, 84]) == tuple(plain[84, 84])  # the weight's colour shows
    clipped = np.asarray(Image.open(BytesIO(map_png(5 * m, 1.0))))
    assert tuple(clipped[28, 36]) == tuple(plain[28, 36])  # beyond vmax: clipped


def test_live_views_redraw_only_what_moves(trained):
    run, X, y = trained
    view = NudgeView(vmax=1.0)
    a = view.show(nudge_frame(run.w, run.b, X, y, delta=0.0))
    background = view.plot.background
    b = view.show(nudge_frame(run.w, run.b, X, y, delta=0.3))
    assert view.plot.background is background  # same weight: only the point moved
    assert a[1] != b[1] and a[0] != b[0] and _size(a[1]) == _size(b[1])
    view.show(nudge_frame(run.w, run.b, X, y, row=3, delta=0.3))
    assert view.plot.background is not background  # a new weight: a new curve
    sgd = SGDView(run.losses, vmax=1.0)
    first, last = sgd.show(sgd_frame(run, 0)), sgd.show(sgd_frame(run, 30))
    assert first[0] != last[0] and first[1] != last[1]
