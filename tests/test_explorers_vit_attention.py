from html import escape

import ipywidgets as w
import numpy as np
import pytest
import torch

from figure_checks import frame_figure, text_problems, widgets_in
from helpers.explorers.framework import NOTE, Explorer
from helpers.explorers.maps import maps_figsize
from helpers.explorers.vit_attention import VIT_BIRD_SIZE as BIRD_SIZE
from helpers.explorers.vit_attention import VIT_DISTRACTORS as DISTRACTORS
from helpers.explorers.vit_attention import (
    draw_token,
    draw_vit_move,
    token_explorer,
    token_frame,
    token_name,
    vit_move_explorer,
    vit_move_frame,
)
from helpers.models import PooledCNN, ViT
from helpers.rollout import attention_rollout, class_attention
from helpers.scenes import render_scene
from helpers.viz import COLUMN_WIDTH


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = ViT().eval()  # untrained; its attention is still computed from the image
    with torch.no_grad():
        for block in m.blocks:  # sharper attention than at initialisation
            block.attention.qkv.weight.mul_(4)
    return m


def test_token_names():
    assert token_name(0) == "class token"
    assert token_name(1) == "patch 1"
    assert token_name(36) == "patch 36"
    assert token_name(np.int64(6)) == "patch 6"
    for bad in (-1, 37, 1.0, True):
        with pytest.raises(ValueError, match="token must be"):
            token_name(bad)


def test_query_frame_is_the_models_attention_row(model):
    f = token_frame(model, 8, 1, 0.5, 0.3, seed=2)
    scene = render_scene((0.5, 0.3), bird_size=BIRD_SIZE, distractors=DISTRACTORS, seed=2)
    np.testing.assert_array_equal(f["image"], scene.images[0])
    np.testing.assert_array_equal(f["mask"], scene.masks[0])
    maps = model.attention_maps(torch.from_numpy(scene.images))[0, 1, :, 8]
    np.testing.assert_allclose(f["heads"], maps[:, 1:].reshape(4, 6, 6), atol=1e-6)
    np.testing.assert_allclose(f["to_class"], maps[:, 0], atol=1e-6)
    np.testing.assert_allclose(f["heads"].sum((1, 2)) + f["to_class"], 1.0, atol=1e-5)
    np.testing.assert_allclose(f["mean"], f["heads"].mean(0))
    assert f["name"] == "patch 8" and f["layer"] == 1 and 0 < f["prob"] < 1
    logit = model(torch.from_numpy(scene.images))[0].item()
    assert f["prob"] == pytest.approx(1 / (1 + np.exp(-logit)), abs=1e-6)


def test_query_frame_changes_with_the_query_and_the_bird(model):
    a = token_frame(model, 0, 1, 0.5, 0.3)
    b = token_frame(model, 8, 1, 0.5, 0.3)
    c = token_frame(model, 0, 1, 0.5, 0.7)
    assert not np.allclose(a["heads"], b["heads"])
    assert not np.allclose(a["heads"], c["heads"])


@pytest.mark.parametrize(
    ("args", "match"),
    [((37, 0), "token must be"), ((0, 2), "layer must be"), ((0, 1.0), "layer must be")],
)
def test_query_frame_rejects_bad_input(model, args, match):
    with pytest.raises(ValueError, match=match):
        token_frame(model, *args)


def test_frames_reject_other_models():
    for frame in (token_frame, vit_move_frame):
        with pytest.raises(TypeError, match="helpers.models.ViT"):
            frame(PooledCNN())


def test_vit_move_frame_data(model):
    f = vit_move_frame(model, 0.5, 0.7, seed=1)
    scene = render_scene((0.5, 0.7), bird_size=BIRD_SIZE, distractors=DISTRACTORS, seed=1)
    maps = model.attention_maps(torch.from_numpy(scene.images))
    np.testing.assert_allclose(f["maps"]["class token"], class_attention(maps)[0])
    np.testing.assert_allclose(f["maps"]["rollout"], attention_rollout(maps)[0])
    cells = f["mask"].reshape(6, 8, 6, 8).any(axis=(1, 3))
    for name, m in f["maps"].items():
        assert f["mass"][name] == pytest.approx(float(m[cells].sum()))
    assert f["flat"] == pytest.approx(cells.mean())


def test_draw_query_and_move_text_is_legible(model):
    size = maps_figsize(5, side=0.98, title_lines=1, suptitle=True, width=COLUMN_WIDTH)
    for token, layer in [(0, 1), (8, 0)]:
        fig = frame_figure(size)
        draw_token(fig, token_frame(model, token, layer), vmax=0.5)
        assert len(fig.axes) == 6  # mean, 4 heads, the colour bar
        assert fig.axes[1].get_title() == "head 1"
        assert text_problems(fig) == []
        assert len(fig.axes[0].patches) == (0 if token == 0 else 2)  # query outlined
    size = maps_figsize(2, side=1.9, title_lines=1, suptitle=True, width=COLUMN_WIDTH)
    fig = frame_figure(size)
    draw_vit_move(fig, vit_move_frame(model), vmax=0.3)
    assert [ax.get_title().split(":")[0] for ax in fig.axes[:2]] == [
        "class token",
        "rollout",
    ]
    assert text_problems(fig) == []


def test_query_explorer_live_and_static(model):
    explorer = token_explorer(model)
    assert isinstance(explorer, Explorer)
    html = explorer.static_html
    assert html.count("data:image/png") == 8 and escape(NOTE) in html
    parts = list(widgets_in(explorer.widget))
    menus = {c.description: c for c in parts if isinstance(c, w.Dropdown)}
    sliders = {c.description: c for c in parts if isinstance(c, w.FloatSlider)}
    assert set(menus) == {"query", "layer", "head"} and set(sliders) == {"x", "y"}
    assert len(menus["query"].options) == 37
    images = [c for c in parts if isinstance(c, w.Image)]
    pictures = [c for c in images if "explorer-colorbar" not in c._dom_classes]
    assert len(pictures) == 2 and len(images) == 3
    labels = [c for c in parts if isinstance(c, w.Label)]
    for control, value in [
        (menus["query"], 0),
        (menus["layer"], 0),
        (menus["head"], 2),
        (sliders["x"], 0.6),
        (sliders["y"], 0.4),
    ]:
        before = [bytes(p.value) for p in pictures] + [c.value for c in labels]
        control.value = value
        after = [bytes(p.value) for p in pictures] + [c.value for c in labels]
        assert after != before, control.description
    assert any(c.value == "head 3, layer 1" for c in labels)
    assert any(c.value.startswith("P(bird) = ") for c in labels)


def test_vit_move_explorer_live_and_static(model):
    explorer = vit_move_explorer(model, frames=3)
    html = explorer.static_html
    assert html.count("data:image/png") == 3 and escape(NOTE) in html
    parts = list(widgets_in(explorer.widget))
    sliders = {c.description: c for c in parts if isinstance(c, w.FloatSlider)}
    assert set(sliders) == {"x", "y"}
    images = [c for c in parts if isinstance(c, w.Image)]
    pictures = [c for c in images if "explorer-colorbar" not in c._dom_classes]
    assert len(pictures) == 2 and len(images) == 3
    before = [bytes(p.value) for p in pictures]
    sliders["x"].value = 0.6
    after = [bytes(p.value) for p in pictures]
    assert all(a != b for a, b in zip(after, before, strict=True))
    labels = [c.value for c in parts if isinstance(c, w.Label)]
    assert any(v.startswith("P(bird) = ") and "flat baseline" in v for v in labels)
    assert any(v.startswith("class token: ") and "on bird" in v for v in labels)


def test_explorers_reject_other_models():
    for explorer in (token_explorer, vit_move_explorer):
        with pytest.raises(TypeError, match="helpers.models.ViT"):
            explorer(PooledCNN())
