"""helpers.explorers.every_model: every model's "what matters here" map, one bird."""

from html import escape

import ipywidgets as w
import numpy as np
import pytest
import torch

from figure_checks import frame_figure, text_problems, widgets_in
from helpers.answer import MAP_NAMES as NAMES
from helpers.answer import MULTIPLIED, READ_OFF, what_matters
from helpers.cam import cell_contributions, class_activation_map
from helpers.explorers.every_model import (
    ANSWER_BIRD_SIZE as BIRD_SIZE,
)
from helpers.explorers.every_model import (
    ANSWER_DISTRACTORS as DISTRACTORS,
)
from helpers.explorers.every_model import (
    ANSWER_FIGSIZE as FIGSIZE,
)
from helpers.explorers.every_model import (
    answer_explorer,
    answer_frame,
    draw_answer,
    scaled_to_largest,
)
from helpers.explorers.framework import Explorer, scene_reach
from helpers.explorers.png import overlay_png
from helpers.metrics import attention_mass, flat_mass
from helpers.models import PooledCNN, ReadoutCNN, ViT
from helpers.rollout import class_attention
from helpers.scenes import make_scenes, render_scene
from helpers.viz import small_text


def _models() -> dict:
    """The five models, untrained: the maps are computed all the same."""
    torch.manual_seed(0)
    models = {
        "flatten": ReadoutCNN("flatten"),
        "avg": PooledCNN("avg"),
        "mask": PooledCNN("mask"),
        "attention": PooledCNN("attention"),
        "vit": ViT(),
    }
    with torch.no_grad():
        models["mask"].mask_logits.normal_()  # a learned-looking, non-uniform mask
        models["attention"].queries.mul_(8)  # sharper attention than at initialisation
        for block in models["vit"].blocks:
            block.attention.qkv.weight.mul_(4)
    return {k: m.eval() for k, m in models.items()}


@pytest.fixture(scope="module")
def models():
    return _models()


@pytest.fixture(scope="module")
def images():
    return make_scenes(4, seed=3, distractors=2).images


@pytest.fixture(scope="module")
def maps(models, images):
    return what_matters(models, images)


def test_what_matters_keys_shapes_and_shares(maps, images):
    n = len(images)
    assert list(maps) == list(NAMES)
    assert set(NAMES) == set(MULTIPLIED) | set(READ_OFF)
    assert len(MULTIPLIED) + len(READ_OFF) == len(NAMES)
    for name, m in maps.items():
        assert m.shape == (n, 6, 6), name
        assert m.dtype == np.float64, name
        assert (m >= 0).all(), name
        np.testing.assert_allclose(m.sum(axis=(1, 2)), 1.0, atol=1e-9, err_msg=name)


def test_flatten_is_the_size_of_its_weights(models, maps):
    weight = models["flatten"].classifier.weight.detach().double()  # (1, 64 * 6 * 6)
    size = weight.reshape(64, 6, 6).abs().sum(0).numpy()  # flattened as (C, h, w)
    expected = size / size.sum()
    for m in maps["flatten"]:  # the same for every image
        np.testing.assert_allclose(m, expected, rtol=1e-6, atol=1e-12)


def test_pooling_and_vit_maps_are_the_models_own(models, images, maps):
    x = torch.from_numpy(images)
    mask = models["mask"].pool_weights(x).double().numpy()
    np.testing.assert_allclose(maps["mask"], mask, rtol=1e-6, atol=1e-9)
    softmax = torch.softmax(models["mask"].mask_logits.detach().double().flatten(), 0)
    np.testing.assert_allclose(maps["mask"][0], softmax.reshape(6, 6), rtol=1e-5)
    np.testing.assert_allclose(maps["mask"], maps["mask"][:1].repeat(len(x), 0))
    attention = models["attention"].pool_weights(x).double().numpy()
    np.testing.assert_allclose(maps["attention"], attention, rtol=1e-6, atol=1e-9)
    assert not np.allclose(maps["attention"], maps["attention"][:1])
    vit = class_attention(models["vit"].attention_maps(x))
    np.testing.assert_allclose(maps["vit"], vit, rtol=1e-5, atol=1e-9)


def test_read_off_maps_are_the_cells_terms_rescaled(models, images, maps):
    cam = np.clip(class_activation_map(models["avg"], images).astype(np.float64), 0, None)
    assert (cam.sum(axis=(1, 2)) > 0).all()
    np.testing.assert_allclose(
        maps["avg"], cam / cam.sum(axis=(1, 2), keepdims=True), rtol=1e-5, atol=1e-9
    )
    terms = np.clip(cell_contributions(models["flatten"], images), 0, None)
    assert (terms.sum(axis=(1, 2)) > 0).all()
    np.testing.assert_allclose(
        maps["flatten_terms"],
        terms / terms.sum(axis=(1, 2), keepdims=True),
        rtol=1e-5,
        atol=1e-9,
    )
    assert not np.allclose(maps["flatten_terms"], maps["flatten_terms"][:1])


def test_cam_all_negative_gives_a_flat_map(images):
    models = _models()
    with torch.no_grad():  # the features are after a ReLU (>= 0): every cell <= 0
        models["avg"].classifier.weight.copy_(-models["avg"].classifier.weight.abs() - 0.1)
    assert (class_activation_map(models["avg"], images) <= 0).all()
    flat = what_matters(models, images)["avg"]
    np.testing.assert_allclose(flat, np.full((len(images), 6, 6), 1 / 36))


def test_numpy_and_torch_batches_agree(models, images, maps):
    from_torch = what_matters(models, torch.from_numpy(images))
    for name in NAMES:
        np.testing.assert_allclose(from_torch[name], maps[name], rtol=1e-6, err_msg=name)


def test_what_matters_rejects_bad_models(models, images):
    missing = {k: m for k, m in models.items() if k != "vit"}
    with pytest.raises(ValueError, match="keys.*'attention'.*'vit'"):
        what_matters(missing, images)
    with pytest.raises(ValueError, match="keys"):
        what_matters(list(models.values()), images)
    for key, wrong in [
        ("flatten", ReadoutCNN("max")),
        ("flatten", PooledCNN("avg")),
        ("mask", PooledCNN("avg")),
        ("attention", PooledCNN("mask")),
        ("avg", ViT()),
        ("vit", PooledCNN("attention")),
    ]:
        with pytest.raises(TypeError, match=f"models\\['{key}'\\] must be"):
            what_matters({**models, key: wrong}, images)


def test_what_matters_rejects_bad_images(models, images):
    for bad in (images[0], images[:, :1], images.tolist()):
        with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
            what_matters(models, bad)


@pytest.fixture(scope="module")
def frames(models):
    return answer_frame(models, 0.5, 0.3), answer_frame(models, 0.5, 0.7)


def test_answer_frame_data(frames):
    f = frames[0]
    assert set(f) == {"image", "mask", "maps", "mass", "flat", "prob", "params"}
    scene = render_scene((0.5, 0.3), bird_size=BIRD_SIZE, distractors=DISTRACTORS)
    np.testing.assert_array_equal(f["image"], scene.images[0])
    np.testing.assert_array_equal(f["mask"], scene.masks[0])
    assert f["params"] == {"y": 0.5, "x": 0.3}
    for name in NAMES:
        m = f["maps"][name]
        assert m.shape == (6, 6)
        assert 0 <= f["mass"][name] <= 1
        assert f["mass"][name] == pytest.approx(
            float(attention_mass(m[None], scene.masks)[0])
        )
        assert f["flat"][name] == pytest.approx(float(flat_mass(scene.masks, m.shape)[0]))
    assert set(f["prob"]) == {"flatten", "avg", "mask", "attention", "vit"}
    assert all(0 < p < 1 for p in f["prob"].values())
    assert len(set(f["flat"].values())) == 1  # one grid, one flat share


def test_fixed_maps_stay_while_computed_ones_move(frames):
    a, b = frames
    assert not np.array_equal(a["mask"], b["mask"])  # the bird moved
    for name in ("flatten", "mask"):  # weights: the same for every image
        np.testing.assert_allclose(a["maps"][name], b["maps"][name], err_msg=name)
    for name in ("attention", "vit", "flatten_terms", "avg"):  # from the image
        assert not np.allclose(a["maps"][name], b["maps"][name]), name


def test_answer_frame_rejects_bad_models(models):
    with pytest.raises(ValueError, match="keys"):
        answer_frame({"flatten": models["flatten"]})
    with pytest.raises(TypeError, match="models\\['flatten'\\]"):
        answer_frame({**models, "flatten": ReadoutCNN("max")})


def test_draw_answer_is_legible(frames):
    fig = frame_figure(FIGSIZE)
    draw_answer(fig, frames[0])
    fig.canvas.draw()
    assert small_text(fig) == []
    assert text_problems(fig) == []
    axes = [ax for sub in fig.subfigs for ax in sub.axes]
    titled = [ax for ax in axes if ax.get_title()]
    assert len(titled) == 6 and len(axes) == 8  # six maps and two colour bars
    for ax, name in zip(titled, MULTIPLIED + READ_OFF, strict=True):
        assert ax.get_title().startswith(NAMES[name]), name
        assert "on bird" in ax.get_title()
    assert [len(sub.axes) for sub in fig.subfigs] == [5, 3]


def test_scaled_maps_top_at_one(frames):
    for name in NAMES:
        assert scaled_to_largest(frames[0], name).max() == pytest.approx(1.0)


def test_answer_explorer_live_and_static(models):
    explorer = answer_explorer(models, frames=2)
    assert isinstance(explorer, Explorer)
    html = explorer.static_html
    assert html.count("data:image/png") == 2
    assert escape("A bird crossing a cluttered scene") in html
    parts = list(widgets_in(explorer.widget))
    sliders = {c.description: c for c in parts if isinstance(c, w.FloatSlider)}
    assert set(sliders) == {"y", "x"}
    images = [c for c in parts if isinstance(c, w.Image)]
    pictures = [c for c in images if "explorer-colorbar" not in c._dom_classes]
    assert len(pictures) == 6 and len(images) == 7
    pictures = dict(zip(MULTIPLIED + READ_OFF, pictures, strict=True))
    labels = [c.value for c in parts if isinstance(c, w.Label)]
    assert len(labels) == 6
    for label, name in zip(labels, MULTIPLIED + READ_OFF, strict=True):
        assert label.startswith(f"{NAMES[name]}: ") and "on bird" in label

    (_, _), (x_low, x_high) = scene_reach(BIRD_SIZE)
    assert sliders["x"].value == pytest.approx(x_low)
    start = answer_frame(models, sliders["y"].value, sliders["x"].value)
    before = {n: bytes(p.value) for n, p in pictures.items()}
    sliders["x"].value = 0.7
    after = {n: bytes(p.value) for n, p in pictures.items()}
    assert after["attention"] != before["attention"]
    moved = answer_frame(models, sliders["y"].value, 0.7)

    def old_map_on_new_scene(name: str) -> bytes:
        return overlay_png(
            moved["image"],
            scaled_to_largest(start, name),
            mask=moved["mask"],
            vmax=1.0,
            scale=3,
        )

    # The picture shows the scene too, so every picture changes as the bird moves;
    # but the flatten readout's (and the mask's) weights stay: the old map drawn over the
    # new scene is the new picture. Not so for attention's.
    for name in ("flatten", "mask"):
        assert after[name] == old_map_on_new_scene(name), name
    for name in ("attention", "vit"):
        assert after[name] != old_map_on_new_scene(name), name
    new_labels = [c.value for c in parts if isinstance(c, w.Label)]
    assert all("on bird" in v for v in new_labels)
    assert new_labels != labels


def test_answer_explorer_rejects_bad_models(models):
    with pytest.raises(ValueError, match="keys"):
        answer_explorer({})
    with pytest.raises(TypeError, match="models\\['vit'\\]"):
        answer_explorer({**models, "vit": PooledCNN()})
