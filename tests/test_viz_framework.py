import re

import matplotlib.pyplot as plt
import numpy as np
import pytest

from helpers.explorers.framework import NOTE, Explorer, scene_reach, scrubber
from helpers.explorers.png import to_png
from helpers.explorers.scene import scene_explorer, scene_frame
from helpers.scenes import make_scenes, render_scene
from helpers.viz import (
    CMAP,
    COLUMN_WIDTH,
    DPI,
    MIN_FONT_PT,
    PIXEL_RATIO,
    check_figure,
    figure_png,
    overlay,
    show_scenes,
    to_hwc,
)


def test_to_hwc():
    img = np.zeros((3, 5, 7))
    assert to_hwc(img).shape == (5, 7, 3)
    assert to_hwc(np.zeros((5, 7, 3))).shape == (5, 7, 3)
    with pytest.raises(ValueError, match=r"\(3, H, W\) or \(H, W, 3\)"):
        to_hwc(np.zeros((5, 7)))


def test_show_scenes_grid(scenes):
    fig = show_scenes(scenes, 10, ncols=5, masks=True)
    titled = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert len(titled) == 10
    assert titled == ["bird" if y else "no bird" for y in scenes.labels[:10]]
    plt.close(fig)
    with pytest.raises(TypeError, match="Scenes"):
        show_scenes(scenes.images)
    with pytest.raises(ValueError, match="positive int"):
        show_scenes(scenes, 0)


def test_overlay_labels_axes_and_colorbar():
    scene = render_scene((0.5, 0.5), seed=0)
    fig, ax = plt.subplots()
    weights = np.arange(36.0).reshape(6, 6) / 630
    overlay(ax, scene.images[0], weights, label="attention", mask=scene.masks[0])
    assert ax.get_xlabel() == "x (pixels)" and ax.get_ylabel() == "y (pixels)"
    heat = ax.images[1]
    assert heat.get_cmap().name == CMAP
    assert heat.get_extent() == [0, 48, 48, 0]  # the 6x6 grid spans the whole image
    assert any(a.get_ylabel() == "attention" for a in fig.axes if a is not ax)
    with pytest.raises(ValueError, match=r"weights of shape \(h, w\)"):
        overlay(ax, scene.images[0], np.ones(6))
    plt.close(fig)


def test_to_png_outlines_the_mask():
    from io import BytesIO

    from PIL import Image

    scene = render_scene((0.5, 0.5), seed=0)
    png = to_png(scene.images[0], scale=2, mask=scene.masks[0])
    pixels = np.asarray(Image.open(BytesIO(png)))
    assert pixels.shape == (96, 96, 3)
    magenta = (pixels == [255, 0, 255]).all(axis=2)
    assert magenta.sum() > 20
    ys, xs = np.nonzero(magenta)  # the outline surrounds the bird's centre
    assert abs(ys.mean() / 96 - scene.centers[0, 0]) < 0.05


def test_scene_frame_follows_the_parameters():
    a = scene_frame(0.4, 0.3, distractors=2)
    b = scene_frame(0.4, 0.7, distractors=2)
    assert a["image"].shape == (3, 48, 48) and a["mask"].shape == (48, 48)
    assert abs(a["center"][1] - 0.3) < 0.03 and abs(b["center"][1] - 0.7) < 0.03
    assert a["pixels"] == int(a["mask"].sum()) > 0


def test_scrubber_is_self_contained():
    frames = [scene_frame(0.5, x) for x in (0.3, 0.5, 0.7)]

    def draw(fig, frame):
        fig.add_subplot().imshow(to_hwc(frame["image"]))

    html = scrubber(draw, frames, alt="three birds")
    assert html.count("data:image/png;base64") == 3
    assert not re.search(r"<script[^>]+src=", html)  # no external JavaScript
    assert not re.search(r"<link[^>]+href=", html)  # no external style sheet
    markup = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=\\\s]*", "", html)
    assert "http" not in markup and "cdn" not in markup.lower()
    assert 'alt="three birds"' in html and 'aria-label="frame"' in html
    with pytest.raises(ValueError, match="at least 2 frames"):
        scrubber(draw, frames[:1], alt="one bird")
    with pytest.raises(ValueError, match="alt must describe"):
        scrubber(draw, frames, alt=" ")


def test_explorer_bundle_has_live_and_static_forms():
    ex = scene_explorer(frames=3)
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/html"].count("data:image/png;base64") == 3
    assert bundle["text/plain"].startswith("scene explorer")
    # the live controls redraw the picture
    sliders = ex.widget.children[0].children
    picture = ex.widget.children[1]
    before = picture.value
    sliders[1].value = 0.2  # x
    assert picture.value != before
    with pytest.raises(ValueError, match="non-empty HTML"):
        Explorer(ex.widget, "", "empty")


def test_scenes_figure_closes():
    fig = show_scenes(make_scenes(4, seed=0), 4)
    assert len(fig.axes) == 4
    plt.close(fig)


def _png_size(uri: str) -> tuple[int, int]:
    from base64 import b64decode
    from io import BytesIO

    from PIL import Image

    return Image.open(BytesIO(b64decode(uri.split(",", 1)[1]))).size


def test_scrubber_shows_its_first_frame_without_script():
    frames = [scene_frame(0.5, x) for x in (0.3, 0.5, 0.7)]

    def draw(fig, frame):
        fig.add_subplot().imshow(to_hwc(frame["image"]))

    html = scrubber(draw, frames, alt="three birds", figsize=(3.0, 2.5))
    # the picture is the first frame itself: an untrusted notebook strips the script
    no_script = re.sub(r"<script>.*</script>", "", html, flags=re.S)
    img = re.search(
        r'<img class="explorer-frame" src="(data:image/png;base64,[^"]+)"', html
    )
    assert img and img.group(1) in no_script
    assert NOTE in no_script
    # drawn for the column: 300 x 250 CSS px, with PIXEL_RATIO times the pixels
    assert 'width="300" height="250"' in html
    assert _png_size(img.group(1)) == (300 * PIXEL_RATIO, 250 * PIXEL_RATIO)
    assert "max-width: 100%" in html  # scales down on a phone
    # deterministic: the same frames give the same HTML (nbval, caches)
    assert scrubber(draw, frames, alt="three birds", figsize=(3.0, 2.5)) == html


def test_scrubber_refuses_illegible_frames():
    frames = [scene_frame(0.5, x) for x in (0.3, 0.7)]

    def tiny(fig, frame):
        fig.add_subplot().set_title("tiny", fontsize=MIN_FONT_PT - 1)

    with pytest.raises(ValueError, match="MIN_FONT_PT"):
        scrubber(tiny, frames, alt="tiny text")
    with pytest.raises(ValueError, match="COLUMN_WIDTH"):
        scrubber(lambda fig, f: fig.add_subplot(), frames, alt="wide", figsize=(9, 3))


def test_book_style_sizes_figures_for_the_column():
    assert plt.rcParams["figure.dpi"] == DPI
    assert plt.rcParams["xtick.labelsize"] >= MIN_FONT_PT
    fig, ax = plt.subplots(figsize=(4, 2))
    ax.plot([0, 1], [0, 1])
    ax.set_xlabel("x")
    png, meta = figure_png(fig)
    from io import BytesIO

    from PIL import Image

    w, h = Image.open(BytesIO(png)).size
    assert (meta["width"], meta["height"]) == (w // PIXEL_RATIO, h // PIXEL_RATIO)
    assert 0.8 * 4 * DPI < meta["width"] <= 4 * DPI  # its size, less the tight box's margin
    ax.set_title("small", fontsize=6)
    with pytest.raises(ValueError, match="'small' \\(6 pt\\)"):
        figure_png(fig)
    plt.close(fig)
    wide = plt.figure(figsize=(COLUMN_WIDTH + 1, 2))
    wide.add_subplot()
    with pytest.raises(ValueError, match="does not fit the book's column"):
        check_figure(wide)
    plt.close(wide)
    assert figure_png(plt.figure()) is None  # nothing drawn, nothing shown
    plt.close("all")


def _sliders(explorer) -> dict:
    return {s.description: s for s in explorer.widget.children[0].children[:4]}


@pytest.mark.parametrize("bird_size", [0.15, 0.3, 0.45, 0.6])
def test_scene_reach_is_where_the_bird_goes(bird_size):
    (y_low, y_high), (x_low, x_high) = scene_reach(bird_size)
    assert 0 < y_low < 0.5 < y_high < 1 and 0 < x_low < 0.5 < x_high < 1
    for y, x in ((y_low, x_low), (y_high, x_high), (y_low, x_high)):
        center = scene_frame(y, x, bird_size=bird_size)["center"]
        assert np.abs(center - [y, x]).max() < 0.03
    # inside the range the bird moves with the slider: nothing is dead
    inner = scene_frame(y_low, x_low + 0.05, bird_size=bird_size)["center"]
    assert inner[1] > scene_frame(y_low, x_low, bird_size=bird_size)["center"][1] + 0.03


def test_scene_sliders_follow_the_bird_size():
    ex = scene_explorer(frames=2)
    sliders = _sliders(ex)
    assert (sliders["x"].min, sliders["x"].max) == scene_reach(0.3)[1]
    sliders["x"].value = sliders["x"].max
    picture = ex.widget.children[1]
    before = bytes(picture.value)
    sliders["bird size"].value = 0.6  # a bigger bird reaches less far
    (y_low, y_high), (x_low, x_high) = scene_reach(0.6)
    assert (sliders["y"].min, sliders["y"].max) == (y_low, y_high)
    assert (sliders["x"].min, sliders["x"].max) == (x_low, x_high)
    assert sliders["x"].value == x_high and bytes(picture.value) != before
    for x in (x_low, x_high):
        sliders["x"].value = x
        frame = scene_frame(sliders["y"].value, x, bird_size=0.6, distractors=3)
        assert abs(frame["center"][1] - x) < 0.03
    sliders["bird size"].value = 0.15  # and a smaller one further
    assert (sliders["x"].min, sliders["x"].max) == scene_reach(0.15)[1]


def test_scene_explorer_layout_has_fixed_widths():
    ex = scene_explorer(frames=2)
    controls, picture = ex.widget.children
    caption = controls.children[-1]
    for widget in (ex.widget, controls, picture, caption):
        assert widget.layout.width and widget.layout.width.endswith("px")
    width = caption.layout.width
    _sliders(ex)["distractors"].value = 10  # a new caption ...
    assert caption.layout.width == width  # ... in the same box
    assert "<br>" in caption.value  # two lines: centre, then pixels


def test_scene_scrubber_crosses_the_reachable_range():
    html = scene_explorer(frames=4).static_html
    assert html.count("data:image/png;base64") == 4
    assert 'width="340" height="340"' in html


def test_tick_labels_and_outside_legends_are_checked():
    fig, ax = plt.subplots(figsize=(6.8, 3))
    ax.plot([0, 1])
    ax.tick_params(labelsize=MIN_FONT_PT - 3)  # tick labels exist once laid out
    with pytest.raises(ValueError, match="MIN_FONT_PT"):
        check_figure(fig)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6.8, 3))
    ax.plot([0, 1], label="a legend placed outside the axes, to the right")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    with pytest.raises(ValueError, match="legend or label outside"):
        figure_png(fig)  # the tight box grows past the column
    plt.close(fig)


def test_colour_maps_values_onto_a_fixed_scale():
    from matplotlib import colormaps

    from helpers.explorers.png import colour
    from helpers.viz import DIVERGING

    values = np.array([[-2.0, 0.0], [1.0, 5.0]])
    rgb = colour(values, DIVERGING, -1.0, 1.0)
    assert rgb.shape == (3, 2, 2)
    np.testing.assert_allclose(rgb[:, 0, 0], colormaps[DIVERGING](0.0)[:3])  # clipped
    np.testing.assert_allclose(rgb[:, 0, 1], colormaps[DIVERGING](0.5)[:3])
    np.testing.assert_allclose(rgb[:, 1, 1], colormaps[DIVERGING](1.0)[:3])  # clipped


def test_colour_bar_is_an_image_widget_of_its_height():
    from helpers.explorers.framework import colour_bar

    bar = colour_bar("cividis", 0.0, 1.0, "weight", height=150, extend="max")
    assert bytes(bar.value).startswith(b"\x89PNG")
    assert (int(bar.width), int(bar.height)) == (90, 150)
    assert "explorer-colorbar" in bar._dom_classes


def test_build_wires_every_control_to_one_redraw():
    import ipywidgets as w

    from helpers.explorers.framework import build

    controls = {"a": w.IntSlider(1, min=0, max=5), "b": w.IntSlider(2, min=0, max=5)}
    shown = []
    explorer = build(
        "sum explorer",
        controls=controls,
        frame=lambda a, b: {"sum": a + b},
        show=shown.append,
        live=w.VBox(list(controls.values())),
        static="<p>static</p>",
    )
    assert shown == [{"sum": 3}]  # drawn once at once
    controls["b"].value = 4
    assert shown[-1] == {"sum": 5}
    assert repr(explorer) == "Explorer('sum explorer')"
    with pytest.raises(ValueError, match="at least one control"):
        build("none", controls={}, frame=dict, show=print, live=None, static="x")


def test_bird_sliders_and_sweep_span_the_reachable_centres():
    from helpers.explorers.framework import bird_sliders, bird_sweep

    (y_low, y_high), (x_low, x_high) = scene_reach(0.5)
    sliders = bird_sliders(0.5, x=None)
    assert (sliders["x"].min, sliders["x"].max, sliders["x"].value) == (
        x_low,
        x_high,
        x_low,
    )
    assert (sliders["y"].min, sliders["y"].max) == (y_low, y_high)
    sweep = bird_sweep(lambda y, x: (y, x), 0.5, 3, y=0.4)
    assert sweep == [(0.4, x_low), (0.4, (x_low + x_high) / 2), (0.4, x_high)]
    with pytest.raises(ValueError, match="at least 2"):
        bird_sweep(lambda y, x: None, 0.5, 1)


def test_blit_view_redraws_only_its_moving_artists():
    from io import BytesIO

    from matplotlib.figure import Figure
    from PIL import Image

    from helpers.explorers.framework import BlitView

    fig = Figure(figsize=(2, 1), dpi=DPI)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    (point,) = ax.plot([0.5], [0.5], "o", color="red", animated=True, ms=10)
    view = BlitView(fig)
    view.animate(point)
    with pytest.raises(RuntimeError, match="freeze"):
        view.png()
    view.freeze()
    first = np.asarray(Image.open(BytesIO(view.png())).convert("RGB"))
    point.set_data([0.1], [0.5])
    moved = np.asarray(Image.open(BytesIO(view.png())).convert("RGB"))
    assert first.shape == (100, 200, 3)
    red = lambda im: (im[..., 0] > 200) & (im[..., 1] < 80)  # noqa: E731
    assert red(first)[:, 90:110].any() and not red(moved)[:, 90:110].any()
    assert red(moved)[:, 10:30].any()


def test_map_panels_draw_each_map_on_one_fixed_scale():
    from helpers.explorers.maps import MapPanels
    from helpers.explorers.png import overlay_png

    scene = render_scene((0.5, 0.5), seed=0)
    maps = {"a": np.full((6, 6), 1 / 36), "b": np.eye(6) / 6}
    panels = MapPanels(maps, vmax=0.5, clipped=True, label="weight", side=120, scale=3)
    panels.show(scene.images[0], maps, scene.masks[0], {"a": "flat", "b": "diagonal"})
    for name, weights in maps.items():
        expected = overlay_png(
            scene.images[0], weights, mask=scene.masks[0], vmax=0.5, scale=3
        )
        assert panels.pictures[name].value == expected
    assert [panels.captions[n].value for n in maps] == ["flat", "diagonal"]
    assert len(panels.row().children) == 3  # two boxes and the colour bar
    assert len(panels.boxes(["b"])) == 1
