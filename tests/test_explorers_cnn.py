from html import escape

import ipywidgets as w
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from figure_checks import frame_figure, text_problems, widgets_in
from helpers.cam import class_activation_map
from helpers.explorers.class_activation import (
    CNN_MOVE_FIGSIZE,
    cnn_move_explorer,
    cnn_move_frame,
    draw_cnn_move,
    strongest_channel,
)
from helpers.explorers.filters import (
    FILTER_FIGSIZE,
    draw_filter,
    filter_explorer,
    filter_frame,
    photo,
)
from helpers.explorers.framework import NOTE, Explorer
from helpers.models import PooledCNN
from helpers.scenes import render_scene
from helpers.viz import COLUMN_WIDTH


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return PooledCNN("avg").eval()  # untrained, 48x48, 16 first-layer filters


def _limits(frame) -> tuple[float, float]:
    return float(frame["feature"].max()), float(np.abs(frame["cam"]).max())


# ----------------------------------------------------------------------------------
# the photograph


def test_photo_is_a_small_colour_image_and_cached():
    p = photo()
    assert p.dtype == np.float32 and p.ndim == 3
    assert p.shape[0] == 3 and p.shape[2] == 96 and p.shape[1] > 96  # a portrait
    assert 0.0 <= p.min() and p.max() <= 1.0 and p.max() > p.min()
    assert photo() is p  # read once
    small = photo(32)
    assert small.shape[:1] == (3,) and small.shape[2] == 32


@pytest.mark.parametrize("width", [15, 513, 0, -96, 96.0, "96", True])
def test_photo_rejects_bad_widths(width):
    photo(96)  # a cached int width must not let an equal float through
    with pytest.raises(ValueError, match="width must be"):
        photo(width)


# ----------------------------------------------------------------------------------
# filters


def test_filter_frame_data(model):
    f = filter_frame(model, 3)
    assert set(f) == {
        "filter",
        "scene",
        "mask",
        "scene_response",
        "photo",
        "photo_response",
        "limit",
        "params",
    }
    conv = model.backbone.net[0]
    assert f["filter"].shape == (3, 3, 3)
    np.testing.assert_array_equal(f["filter"], conv.weight[3].detach().numpy())
    assert f["scene"].shape == (3, 48, 48) and f["mask"].shape == (48, 48)
    assert f["mask"].any()
    scene = render_scene((0.45, 0.55), bird_size=0.5, distractors=2, seed=0)
    np.testing.assert_array_equal(f["scene"], scene.images[0])
    assert f["scene_response"].shape == (48, 48)
    assert f["photo_response"].shape == photo().shape[1:]
    assert f["params"] == {"k": 3, "seed": 0}

    def slide(image):  # the filter alone, circular padding, no bias
        x = F.pad(torch.from_numpy(image)[None], (1, 1, 1, 1), mode="circular")
        with torch.no_grad():
            return F.conv2d(x, conv.weight[3:4])[0, 0].numpy()

    np.testing.assert_allclose(f["scene_response"], slide(f["scene"]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(f["photo_response"], slide(photo()), rtol=1e-5, atol=1e-6)
    expected = max(np.abs(f["scene_response"]).max(), np.abs(f["photo_response"]).max())
    assert f["limit"] == pytest.approx(float(expected))


def test_filter_frame_accepts_numpy_ints_and_other_seeds(model):
    a = filter_frame(model, np.int64(2))
    np.testing.assert_array_equal(a["filter"], filter_frame(model, 2)["filter"])
    b = filter_frame(model, 2, seed=1)
    assert not np.array_equal(a["scene"], b["scene"])
    np.testing.assert_array_equal(a["photo_response"], b["photo_response"])


@pytest.mark.parametrize("k", [-1, 16, True, 1.0, "0"])
def test_filter_frame_rejects_bad_filters(model, k):
    with pytest.raises(ValueError, match="k must be a filter index from 0 to 15"):
        filter_frame(model, k)


def test_filter_frame_rejects_other_models():
    with pytest.raises(TypeError, match="PooledCNN"):
        filter_frame(nn.Conv2d(3, 16, 3), 0)


def test_draw_filter_panels(model):
    assert FILTER_FIGSIZE[0] <= COLUMN_WIDTH
    frame = filter_frame(model, 0)
    fig = frame_figure(FILTER_FIGSIZE)
    draw_filter(fig, frame)
    assert len(fig.axes) == 6  # three filter channels, two responses, a colour bar
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["on a scene", "on a photograph"]
    assert [ax.get_ylabel() for ax in fig.axes[:3]] == ["red", "green", "blue"]
    assert fig.axes[-1].get_ylabel() == "response"
    assert "filter 0" in [t.get_text() for t in fig.texts]
    for ax in fig.axes[3:5]:
        assert ax.images[0].get_clim() == pytest.approx((-frame["limit"], frame["limit"]))


def test_draw_filter_text_is_legible_for_every_filter(model):
    problems = {}
    fig = frame_figure(FILTER_FIGSIZE)
    for k in range(16):
        fig.clear()
        draw_filter(fig, filter_frame(model, k))
        if found := text_problems(fig):
            problems[k] = found
    assert problems == {}


def test_filter_explorer_live_and_static(model):
    explorer = filter_explorer(model, frames=3)
    assert isinstance(explorer, Explorer)
    html = explorer.static_html
    # the first frame is the <img>'s src, the two others are in the player's list
    assert html.count("data:image/png") == 3
    assert escape(NOTE) in html and 'alt="' in html
    parts = list(widgets_in(explorer.widget))
    (slider,) = [c for c in parts if isinstance(c, w.IntSlider)]
    images = [c for c in parts if isinstance(c, w.Image)]
    pictures = [c for c in images if "explorer-colorbar" not in c._dom_classes]
    assert len(pictures) == 3 and len(images) == 4  # weights, scene, photo; a bar
    assert (slider.min, slider.max, slider.value) == (0, 15, 0)
    before = [bytes(p.value) for p in pictures]
    assert all(v.startswith(b"\x89PNG") for v in before)
    slider.value = 5
    after = [bytes(p.value) for p in pictures]
    assert all(a != b for a, b in zip(after, before, strict=True))
    slider.value = 0
    assert [bytes(p.value) for p in pictures] == before  # same filter, same pictures


def test_filter_explorer_rejects_other_models():
    with pytest.raises(TypeError, match="PooledCNN"):
        filter_explorer(nn.Linear(3, 1), frames=3)


# ----------------------------------------------------------------------------------
# move the bird


def test_strongest_channel_is_the_largest_classifier_weight(model):
    c = strongest_channel(model)
    assert isinstance(c, int) and 0 <= c < 64
    assert c == int(np.argmax(model.classifier.weight[0].detach().numpy()))
    with pytest.raises(TypeError, match="PooledCNN"):
        strongest_channel(PooledCNN("attention"))
    with pytest.raises(TypeError, match="PooledCNN"):
        strongest_channel(PooledCNN("mask"))
    with pytest.raises(TypeError, match="PooledCNN"):
        strongest_channel(nn.Linear(64, 1))


def test_cnn_move_frame_data(model):
    f = cnn_move_frame(model, 0.5, 0.3)
    assert set(f) == {
        "image",
        "mask",
        "center",
        "prob",
        "feature",
        "cam",
        "cam_center",
        "pool",
        "params",
    }
    channel = strongest_channel(model)
    assert f["params"] == {"y": 0.5, "x": 0.3, "channel": channel}
    assert f["image"].shape == (3, 48, 48) and f["mask"].shape == (48, 48)
    assert f["mask"].any() and 0.0 < f["prob"] < 1.0
    scene = render_scene((0.5, 0.3), bird_size=0.5, distractors=1, seed=0)
    np.testing.assert_array_equal(f["image"], scene.images[0])
    np.testing.assert_allclose(f["center"], scene.centers[0])
    x = torch.from_numpy(scene.images)
    with torch.no_grad():
        features = model.backbone(x)[0, channel].numpy()
        logit = float(model(x)[0])
    assert f["feature"].shape == (6, 6)
    np.testing.assert_allclose(f["feature"], features, rtol=1e-6, atol=1e-6)
    assert f["prob"] == pytest.approx(1 / (1 + np.exp(-logit)))
    assert f["cam"].shape == (6, 6)
    np.testing.assert_allclose(f["cam"], class_activation_map(model, scene.images)[0])
    assert f["cam_center"].shape == (2,)
    assert ((0 < f["cam_center"]) & (f["cam_center"] < 1)).all()


def test_the_pooling_stays_uniform_while_the_maps_move(model):
    before = {k: v.clone() for k, v in model.state_dict().items()}
    left, right = cnn_move_frame(model, 0.5, 0.3), cnn_move_frame(model, 0.5, 0.7)
    assert right["center"][1] > left["center"][1]
    np.testing.assert_allclose(left["pool"], np.full((6, 6), 1 / 36), rtol=1e-6)
    np.testing.assert_array_equal(left["pool"], right["pool"])
    assert not np.allclose(left["cam"], right["cam"])  # computed from each image
    assert not np.allclose(left["feature"], right["feature"])
    assert not model.training
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), name


def test_cnn_move_frame_restores_training_mode():
    torch.manual_seed(0)
    model = PooledCNN("avg").train()
    cnn_move_frame(model, 0.5, 0.5)
    assert model.training


def test_cnn_move_frame_rejects_other_models():
    with pytest.raises(TypeError, match="PooledCNN"):
        cnn_move_frame(PooledCNN("attention"), 0.5, 0.5)
    with pytest.raises(TypeError, match="PooledCNN"):
        cnn_move_frame(nn.Linear(3, 1), 0.5, 0.5)


def test_draw_cnn_move_panels(model):
    assert CNN_MOVE_FIGSIZE[0] <= COLUMN_WIDTH
    frame = cnn_move_frame(model, 0.5, 0.4)
    # fixed scales, as the explorer passes them (this untrained model's strongest
    # feature is 0 everywhere at x = 0.4, which would leave the scale to matplotlib)
    feature_max, cam_limit = 2.0, 0.5
    fig = frame_figure(CNN_MOVE_FIGSIZE)
    draw_cnn_move(fig, frame, feature_max, cam_limit)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == [
        f"P(bird) = {frame['prob']:.2f}",
        f"feature {frame['params']['channel']}",
        "CAM (pooling 1/36 each)",
    ]
    assert len(fig.axes) == 5  # three panels, two colour bars
    assert fig.axes[-1].get_ylabel() == "cell score w·f"
    cam_image = fig.axes[2].images[-1]
    assert cam_image.get_clim() == pytest.approx((-cam_limit, cam_limit))
    assert fig.axes[1].images[-1].get_clim() == pytest.approx((0.0, feature_max))


def test_draw_cnn_move_text_is_legible(model):
    frame = cnn_move_frame(model, 0.5, 0.4)
    fig = frame_figure(CNN_MOVE_FIGSIZE)
    draw_cnn_move(fig, frame, *_limits(frame))
    assert text_problems(fig) == []


def test_cnn_move_explorer_live_and_static(model):
    explorer = cnn_move_explorer(model, frames=3)
    assert isinstance(explorer, Explorer)
    html = explorer.static_html
    assert html.count("data:image/png") == 3 and escape(NOTE) in html
    parts = list(widgets_in(explorer.widget))
    sliders = {c.description: c for c in parts if isinstance(c, w.FloatSlider)}
    assert set(sliders) == {"x", "y"}
    images = [c for c in parts if isinstance(c, w.Image)]
    pictures = [c for c in images if "explorer-colorbar" not in c._dom_classes]
    assert len(pictures) == 3 and len(images) == 5  # scene, feature, CAM; 2 bars
    captions = [c.value for c in parts if isinstance(c, w.HTML)]
    assert "CAM (pooling 1/36 each)" in captions
    before = [bytes(p.value) for p in pictures]
    assert all(v.startswith(b"\x89PNG") for v in before)
    sliders["x"].value = 0.3
    after = [bytes(p.value) for p in pictures]
    assert all(a != b for a, b in zip(after, before, strict=True))
    sliders["y"].value = 0.4
    assert bytes(pictures[0].value) != after[0]


def test_cnn_move_explorer_rejects_other_models():
    with pytest.raises(TypeError, match="PooledCNN"):
        cnn_move_explorer(PooledCNN("attention"), frames=3)
