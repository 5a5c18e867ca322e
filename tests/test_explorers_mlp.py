from html import escape
from io import BytesIO

import ipywidgets as w
import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from figure_checks import frame_figure, text_problems, widgets_in
from helpers.explorers.depth import (
    DEPTH_FIGSIZE,
    INIT_NAMES,
    STD_LIMITS,
    DepthView,
    depth_explorer,
    draw_depth,
)
from helpers.explorers.framework import NOTE, Explorer
from helpers.explorers.mlp_saliency import (
    MLP_MOVE_FIGSIZE,
    draw_move,
    move_explorer,
    move_frame,
    weight_energy,
)
from helpers.initialisation import depth_frame
from helpers.models import INITS, MLP
from helpers.saliency import centroid, saliency
from helpers.scenes import render_scene
from helpers.viz import COLUMN_WIDTH, DPI


@pytest.fixture(scope="module")
def mlp():
    torch.manual_seed(0)
    return MLP()  # untrained, 48x48, two hidden layers of 256


def _size(png: bytes) -> tuple[int, int]:
    return Image.open(BytesIO(png)).size


def test_init_names_cover_every_init():
    assert set(INIT_NAMES) == set(INITS)


# ----------------------------------------------------------------------------------
# depth


def test_draw_depth_plots_both_statistics_on_fixed_log_axes():
    assert DEPTH_FIGSIZE[0] <= COLUMN_WIDTH
    frame = depth_frame(3, "relu", "he")
    fig = frame_figure(DEPTH_FIGSIZE)
    draw_depth(fig, frame)
    assert len(fig.axes) == 2
    for ax, key in zip(fig.axes, ("activation_std", "gradient_std"), strict=True):
        assert ax.get_yscale() == "log"
        assert ax.get_ylim() == pytest.approx(STD_LIMITS)
        assert ax.get_xlabel() == "hidden layer l" and ax.get_ylabel().startswith("std")
        (line,) = ax.get_lines()
        np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3])
        np.testing.assert_allclose(line.get_ydata(), frame[key])
    assert "activations" in fig.axes[0].get_ylabel()
    assert "gradients" in fig.axes[1].get_ylabel()
    title = fig._suptitle.get_text()
    assert "3 hidden layers" in title and "relu" in title and INIT_NAMES["he"] in title
    assert text_problems(fig) == []
    # a deeper, vanishing net: the axes stay where they were
    fig.clear()
    draw_depth(fig, depth_frame(20, "tanh", "naive"))
    assert all(ax.get_ylim() == pytest.approx(STD_LIMITS) for ax in fig.axes)
    assert text_problems(fig) == []


def test_depth_view_draws_each_frame():
    view = DepthView()
    a = view.show(depth_frame(3, "relu", "he"))
    b = view.show(depth_frame(3, "tanh", "naive"))
    again = view.show(depth_frame(3, "relu", "he"))
    assert a.startswith(b"\x89PNG") and b.startswith(b"\x89PNG")
    assert a != b and a == again  # nothing of the previous frame is left behind
    assert _size(a) == tuple(round(v * DPI) for v in DEPTH_FIGSIZE)


def test_depth_explorer_live_and_static():
    explorer = depth_explorer(depth=3)
    assert isinstance(explorer, Explorer)
    html = explorer.static_html
    assert html.count("data:image/png") == 6  # (relu, tanh) x (naive, glorot, he)
    assert escape(NOTE) in html and 'alt="' in html
    parts = list(widgets_in(explorer.widget))
    (picture,) = [c for c in parts if isinstance(c, w.Image)]
    (depth,) = [c for c in parts if isinstance(c, w.IntSlider)]
    menus = {c.description: c for c in parts if isinstance(c, w.Dropdown)}
    (caption,) = [c for c in parts if isinstance(c, w.HTML)]
    assert depth.value == 3 and set(menus) == {"activation", "init"}
    assert bytes(picture.value).startswith(b"\x89PNG")
    assert "3 hidden layers" in caption.value
    seen = [bytes(picture.value)]
    depth.value = 5
    assert "5 hidden layers" in caption.value
    seen.append(bytes(picture.value))
    menus["activation"].value = "relu"
    seen.append(bytes(picture.value))
    menus["init"].value = "he"
    seen.append(bytes(picture.value))
    assert "He" in caption.value
    assert len(set(seen)) == len(seen)  # every change redrew the picture


@pytest.mark.parametrize("depth", [0, 21, "3", 2.0, True])
def test_depth_explorer_rejects_bad_depths(depth):
    with pytest.raises(ValueError, match="depth must be"):
        depth_explorer(depth=depth)


# ----------------------------------------------------------------------------------
# move the bird


def test_weight_energy_is_each_pixels_first_layer_weight_length(mlp):
    energy = weight_energy(mlp)
    assert energy.shape == (48, 48) and (energy > 0).all()
    weights = mlp.layers[0].weight.detach().double().reshape(256, 3, 48, 48)
    np.testing.assert_allclose(energy, (weights**2).sum(dim=(0, 1)).sqrt().numpy())
    small = MLP((4,), size=8)
    assert weight_energy(small).shape == (8, 8)
    with pytest.raises(TypeError, match="MLP"):
        weight_energy(nn.Linear(3, 1))


def test_move_frame_data(mlp):
    f = move_frame(mlp, 0.5, 0.3)
    assert set(f) == {
        "image",
        "mask",
        "center",
        "prob",
        "saliency",
        "saliency_center",
        "weights",
        "params",
    }
    assert f["image"].shape == (3, 48, 48) and f["mask"].shape == (48, 48)
    assert f["mask"].any() and 0.0 < f["prob"] < 1.0
    assert f["params"] == {"y": 0.5, "x": 0.3, "bird_size": 0.5, "distractors": 1}
    scene = render_scene((0.5, 0.3), bird_size=0.5, distractors=1, seed=0, size=48)
    np.testing.assert_array_equal(f["image"], scene.images[0])
    np.testing.assert_allclose(f["center"], scene.centers[0])
    expected = saliency(mlp, scene.images)
    assert f["saliency"].shape == (48, 48)
    np.testing.assert_allclose(f["saliency"], expected[0])
    np.testing.assert_allclose(f["saliency_center"], centroid(expected)[0])
    with torch.no_grad():
        logit = float(mlp.eval()(torch.from_numpy(scene.images))[0])
    assert f["prob"] == pytest.approx(1 / (1 + np.exp(-logit)))
    np.testing.assert_allclose(f["weights"], weight_energy(mlp))


def test_the_saliency_moves_with_the_bird_and_the_weights_do_not(mlp):
    before = {k: v.clone() for k, v in mlp.state_dict().items()}
    left, right = move_frame(mlp, 0.5, 0.3), move_frame(mlp, 0.5, 0.7)
    np.testing.assert_array_equal(left["weights"], right["weights"])  # a parameter
    assert not np.allclose(left["saliency"], right["saliency"])  # computed per image
    assert right["center"][1] > left["center"][1]
    for name, value in mlp.state_dict().items():  # nothing was trained
        assert torch.equal(value, before[name]), name
    assert all(p.grad is None for p in mlp.parameters())


def test_move_frame_rejects_other_models():
    with pytest.raises(TypeError, match="MLP"):
        move_frame(nn.Sequential(nn.Flatten(), nn.Linear(3 * 48 * 48, 1)), 0.5, 0.5)


def test_draw_move_draws_three_legible_panels(mlp):
    assert MLP_MOVE_FIGSIZE[0] <= COLUMN_WIDTH
    frame = move_frame(mlp, 0.5, 0.4)
    fig = frame_figure(MLP_MOVE_FIGSIZE)
    draw_move(fig, frame, vmax=float(frame["saliency"].max()), wmax=1.0)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == [
        f"P(bird) = {frame['prob']:.2f}",
        "saliency (this image)",
        "weights (every image)",
    ]
    bars = {ax.get_ylabel() for ax in fig.axes if not ax.get_title()}
    assert bars == {"|dz/dx|", "weight size"}  # both maps have their colour bar
    assert len(fig.axes) == 5  # three panels, two colour bars


def test_draw_move_text_is_legible(mlp):
    frame = move_frame(mlp, 0.5, 0.4)
    fig = frame_figure(MLP_MOVE_FIGSIZE)
    draw_move(fig, frame, vmax=float(frame["saliency"].max()), wmax=1.0)
    assert text_problems(fig) == []


def test_move_explorer_live_and_static(mlp):
    explorer = move_explorer(mlp, frames=3)
    assert isinstance(explorer, Explorer)
    html = explorer.static_html
    assert html.count("data:image/png") == 3 and escape(NOTE) in html
    parts = list(widgets_in(explorer.widget))
    sliders = {c.description: c for c in parts if isinstance(c, w.FloatSlider)}
    assert set(sliders) == {"x", "y"}
    images = [c for c in parts if isinstance(c, w.Image)]
    pictures = [c for c in images if "explorer-colorbar" not in c._dom_classes]
    assert len(pictures) == 3 and len(images) == 4  # scene, saliency, weights; a bar
    before = [bytes(p.value) for p in pictures]
    assert all(v.startswith(b"\x89PNG") for v in before)
    sliders["x"].value = 0.3
    after = [bytes(p.value) for p in pictures]
    assert after[0] != before[0] and after[1] != before[1]
    assert after[2] == before[2]  # the weights do not move with the bird
    sliders["y"].value = 0.4
    assert bytes(pictures[0].value) != after[0]
    assert bytes(pictures[2].value) == before[2]


def test_move_explorer_rejects_other_models():
    with pytest.raises(TypeError, match="MLP"):
        move_explorer(nn.Linear(3, 1), frames=3)
