import time
from io import BytesIO

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from PIL import Image

from helpers.attention_explorers import (
    draw_maps,
    epoch_explorer,
    heads_explorer,
    heads_frame,
    query_explorer,
    temperature_explorer,
)
from helpers.compare import three_heads
from helpers.viz import overlay_png


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


def test_redraw_is_fast(heads):
    heads_frame(heads, 0.5, 0.5)
    start = time.perf_counter()
    for x in np.linspace(0.2, 0.8, 10):
        f = heads_frame(heads, 0.5, x)
        for m in f["maps"].values():
            overlay_png(f["image"], m, mask=f["mask"])
    assert (time.perf_counter() - start) / 10 < 0.5  # budget 100 ms; bench measures it


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
        query_explorer(heads["attention"], seeds=(0, 1)),
        epoch_explorer(snapshots, f["image"], f["mask"]),
    ):
        bundle = ex._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in bundle
        assert bundle["text/html"].count("data:image/png;base64") >= 2
    with pytest.raises(ValueError, match="at least two epochs"):
        epoch_explorer(snapshots[:1], f["image"], f["mask"])
