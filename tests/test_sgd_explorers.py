from io import BytesIO

import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from helpers.autograd import Tensor
from helpers.logistic import centred_scenes, features, logistic_loss, train_logistic
from helpers.sgd_explorers import (
    NudgeView,
    SGDView,
    draw_nudge,
    draw_sgd,
    map_png,
    nudge_explorer,
    nudge_frame,
    sgd_explorer,
    sgd_frame,
    weight_map,
)


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


def test_draw_functions_label_their_axes(trained):
    run, X, y = trained
    fig = plt.figure(figsize=(7, 2.8), dpi=72)
    frame = nudge_frame(run.w, run.b, X, y)
    draw_nudge(fig, frame)
    weights, curve, bar = fig.axes  # map, loss curve, then the colour bar
    assert weights.get_xlabel() and curve.get_xlabel() and curve.get_ylabel()
    assert bar.get_ylabel() == "weight (R+G+B)"
    fig.clear()
    draw_sgd(fig, sgd_frame(run, 30), vmax=1.0)
    plt.close(fig)


def test_explorers_carry_a_live_widget_and_an_offline_scrubber(trained):
    run, X, y = trained
    for explorer in (nudge_explorer(run.w, run.b, X, y, frames=3), sgd_explorer(run)):
        bundle = explorer._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in bundle
        html = bundle["text/html"]
        assert "<script" in html and "http" not in html.replace("http://www.w3.org", "")
        assert 'alt="' in html


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
    assert tuple(boxed[80, 84]) == (255, 0, 255)  # the box's top edge, in magenta


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
