from io import BytesIO

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from figure_checks import text_problems, widgets_in
from helpers.explorers.maps import PICTURE, draw_maps, maps_figsize
from helpers.explorers.png import overlay_png
from helpers.explorers.pooling_heads import (
    context_explorer,
    epoch_explorer,
    heads_explorer,
    heads_frame,
    temperature_explorer,
)
from helpers.pooling_heads import three_heads
from helpers.viz import COLUMN_WIDTH


@pytest.fixture(scope="module")
def heads():
    torch.manual_seed(0)
    h = three_heads()
    with torch.no_grad():
        h["mask"].mask_logits.normal_()
    for m in h.values():
        m.eval()
    return h


def test_heads_frame_data(heads):
    f = heads_frame(heads, 0.5, 0.3, seed=2)
    assert f["image"].shape == (3, 48, 48) and f["mask"].any()
    assert set(f["maps"]) == {"avg", "mask", "attention"}
    for m in f["maps"].values():
        assert m.shape == (6, 6) and abs(m.sum() - 1) < 1e-5
    assert all(0 <= p <= 1 for p in f["prob"].values())
    np.testing.assert_allclose(f["maps"]["avg"], 1 / 36)


def test_what_moves_when_the_bird_moves(heads):
    a = heads_frame(heads, 0.5, 0.25, seed=2)
    b = heads_frame(heads, 0.5, 0.75, seed=2)
    np.testing.assert_allclose(a["maps"]["mask"], b["maps"]["mask"])  # fixed
    assert not np.allclose(a["maps"]["attention"], b["maps"]["attention"])  # computed


def test_temperature_and_query(heads):
    cold = heads_frame(heads, 0.5, 0.5, temperature=0.25)["maps"]["attention"]
    hot = heads_frame(heads, 0.5, 0.5, temperature=4.0)["maps"]["attention"]
    assert cold.max() > hot.max()
    bird = heads_frame(heads, 0.5, 0.5, query="bird")["maps"]["attention"]
    leaf = heads_frame(heads, 0.5, 0.5, query="leaf")["maps"]["attention"]
    assert not np.allclose(bird, leaf)
    with pytest.raises(ValueError, match="query must be one of"):
        heads_frame(heads, query="sky")


def test_overlay_png_colours_by_weight():
    image = np.zeros((3, 48, 48), np.float32)
    weights = np.zeros((6, 6))
    weights[0, 0] = 1.0
    pixels = np.asarray(Image.open(BytesIO(overlay_png(image, weights, scale=1))))
    assert pixels.shape == (48, 48, 3)
    assert pixels[:8, :8].mean() > pixels[8:, 8:].mean() + 50  # the heavy cell is bright
    with pytest.raises(ValueError, match="does not tile"):
        overlay_png(image, np.ones((5, 5)) / 25)


def test_draw_maps_labels_everything(heads):
    f = heads_frame(heads, 0.5, 0.5)
    fig = plt.figure()
    draw_maps(fig, f["image"], f["maps"], titles={k: k for k in f["maps"]}, mask=f["mask"])
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert "pooling weight" in labels and "y (pixels)" in labels
    plt.close(fig)


def test_explorers_have_live_and_static_forms(heads):
    snapshots = [{"epoch": e, "maps": heads_frame(heads, 0.5, 0.5)["maps"]} for e in (0, 1)]
    f = heads_frame(heads, 0.5, 0.5)
    for ex in (
        heads_explorer(heads, frames=3),
        temperature_explorer(heads),
        context_explorer(heads["attention"], seeds=(0, 1)),
        epoch_explorer(snapshots, f["image"], f["mask"]),
    ):
        bundle = ex._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in bundle
        assert bundle["text/html"].count("data:image/png;base64") >= 2
        # every live map view has one colour bar, as tall as its pictures
        (bar,) = _colour_bars(ex)
        assert int(bar.height) == PICTURE
        assert Image.open(BytesIO(bar.value)).size == (2 * int(bar.width), 2 * PICTURE)
    with pytest.raises(ValueError, match="at least two epochs"):
        epoch_explorer(snapshots[:1], f["image"], f["mask"])


def _figure(size) -> Figure:
    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    return fig


def _colour_bars(explorer) -> list:
    return [c for c in widgets_in(explorer.widget) if "explorer-colorbar" in c._dom_classes]


def _pictures(explorer) -> list:
    return [
        c
        for c in widgets_in(explorer.widget)
        if isinstance(c, w.Image) and "explorer-colorbar" not in c._dom_classes
    ]


@pytest.mark.parametrize(
    "titles, suptitle",
    [
        ({"avg": "average\nP(bird) = 0.97", "mask": "fixed mask\nP(bird) = 0.50"}, "x"),
        ({"avg": "avg: P(bird) 0.97", "mask": "mask: P(bird) 0.50"}, None),
    ],
)
def test_draw_maps_fits_the_column_without_overlaps(heads, titles, suptitle):
    f = heads_frame(heads, 0.5, 0.5)
    names = list(f["maps"])
    titles = {**titles, "attention": "attention: P(bird) 0.99"}
    lines = max(t.count("\n") + 1 for t in titles.values())
    size = maps_figsize(3, title_lines=lines, suptitle=suptitle is not None)
    assert size[0] <= COLUMN_WIDTH
    for figsize in (size, (COLUMN_WIDTH, size[1]), (COLUMN_WIDTH, 2.9)):
        fig = _figure(figsize)
        draw_maps(fig, f["image"], f["maps"], titles=titles, suptitle=suptitle)
        assert text_problems(fig) == [], figsize
        maps = fig.axes[: len(names)]
        sides = {round(ax.get_window_extent().width) for ax in maps}
        assert len(sides) == 1  # maps of one size, squares
        assert sides == {round(maps[0].get_window_extent().height)}
        assert [ax.get_ylabel() for ax in maps] == ["y (pixels)", "", ""]
    with pytest.raises(ValueError, match="need"):
        maps_figsize(3, width=3.0)


def test_draw_maps_in_subfigures_as_the_notebook_draws_them(heads):
    fig = _figure((COLUMN_WIDTH, 2.6))
    for sub in fig.subfigures(1, 2):
        f = heads_frame(heads, 0.5, 0.3, query="bird")
        maps = {"bird": f["maps"]["attention"], "leaf": f["maps"]["avg"]}
        titles = {"bird": 'query "bird"', "leaf": 'query "leaf"'}
        draw_maps(sub, f["image"], maps, titles=titles, mask=f["mask"])
    assert text_problems(fig) == []
    assert sum(ax.get_ylabel() == "pooling weight" for ax in fig.axes) == 2


def test_live_views_keep_one_colour_scale(heads):
    ex = temperature_explorer(heads)
    (slider,) = [c for c in widgets_in(ex.widget) if isinstance(c, w.FloatLogSlider)]
    (bar,) = _colour_bars(ex)
    average, mask, attention = _pictures(ex)
    shown, colour_bar = [], bytes(bar.value)
    for t in (0.25, 1.0, 4.0):
        slider.value = t
        shown.append((bytes(average.value), bytes(mask.value)))
    # the average head's map does not change with the temperature: nor do its colours
    assert shown[0][0] == shown[1][0] == shown[2][0]
    assert len({m for _, m in shown}) == 3  # the fixed mask's map does
    assert bytes(bar.value) == colour_bar
    # the scale is the static sweep's: at T = 0.25 the largest weight is its top
    frame = heads_frame(heads, 0.5, 0.7, seed=1, temperature=0.25)
    top = max(float(m.max()) for m in frame["maps"].values())
    slider.value = 0.25
    expected = overlay_png(
        frame["image"], frame["maps"]["attention"], mask=frame["mask"], vmax=top
    )
    assert bytes(attention.value) == expected


def test_heads_sliders_run_where_the_bird_can_go(heads):
    ex = heads_explorer(heads, frames=3)
    sliders = {
        c.description: c for c in widgets_in(ex.widget) if isinstance(c, w.FloatSlider)
    }
    for low, high in (
        (sliders["y"].min, sliders["x"].min),
        (sliders["y"].max, sliders["x"].max),
    ):
        center = heads_frame(heads, low, high)["center"]
        assert np.abs(center - [low, high]).max() < 0.03
