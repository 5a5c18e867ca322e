"""Chapter 0's explorer: a bird scene whose bird you move, resize and clutter.

:func:`scene_frame` (the bird's centre, size and the number of distractors -> the
scene, its mask and where the bird is) drawn by :func:`draw_scene`, live in
:func:`scene_explorer`; static: the bird crossing the image.
"""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from helpers.explorers.framework import (
    Explorer,
    bird_sweep,
    build,
    scene_reach,
    scrubber,
)
from helpers.explorers.png import to_png
from helpers.scenes import render_scene
from helpers.viz import outline, to_hwc

__all__ = ["scene_frame", "draw_scene", "scene_explorer"]


def scene_frame(
    y: float = 0.5,
    x: float = 0.5,
    *,
    bird_size: float = 0.3,
    distractors: int = 3,
    seed: int = 0,
) -> dict[str, Any]:
    """Parameters -> data to draw for the scene explorer.

    Returns:
        ``image`` (3, H, W), ``mask`` (H, W) bool, ``center`` (2,) the mask's centroid
        as fractions, ``pixels`` the bird's pixel count, and the parameters.
    """
    scene = render_scene((y, x), bird_size=bird_size, distractors=distractors, seed=seed)
    return {
        "image": scene.images[0],
        "mask": scene.masks[0],
        "center": scene.centers[0],
        "pixels": int(scene.masks[0].sum()),
        "params": {"y": y, "x": x, "bird_size": bird_size, "distractors": distractors},
    }


def _describe(frame: dict[str, Any]) -> str:
    cy, cx = frame["center"]
    return (
        f"bird centre (y, x) = ({cy:.2f}, {cx:.2f})<br>"
        f"{frame['pixels']} bird pixels (outlined in magenta)"
    )


def draw_scene(fig: Figure, frame: dict[str, Any]) -> None:
    """Draw a :func:`scene_frame`: the scene, its bird outlined, on pixel axes."""
    ax = fig.add_subplot()
    ax.imshow(to_hwc(frame["image"]))
    outline(ax, frame["mask"])
    ax.set_xlabel("x (pixels)")
    ax.set_ylabel("y (pixels)")
    ax.set_title(f"bird at x = {frame['center'][1]:.2f}: {frame['pixels']} bird pixels")
    fig.subplots_adjust(left=0.17, right=0.97, bottom=0.15, top=0.91)


def scene_explorer(*, seed: int = 0, frames: int = 10) -> Explorer:
    """Move the bird (x, y), change its size and the number of distractors.

    Live: sliders and the scene with its mask outlined; the x and y sliders run over
    the centres the bird can reach (:func:`~helpers.explorers.framework.scene_reach`,
    which depends on its size). Static: the bird crossing the image from left to
    right in ``frames`` steps.
    """
    import ipywidgets as w

    (y_low, y_high), (x_low, x_high) = scene_reach(0.3)
    controls = {
        "y": w.FloatSlider(0.5, min=y_low, max=y_high, step=0.01, description="y"),
        "x": w.FloatSlider(0.5, min=x_low, max=x_high, step=0.01, description="x"),
        "bird_size": w.FloatSlider(
            0.3, min=0.15, max=0.6, step=0.05, description="bird size"
        ),
        "distractors": w.IntSlider(3, min=0, max=10, description="distractors"),
    }
    # fixed sizes: the picture stays put whatever the caption's length
    picture = w.Image(
        format="png", width=288, height=288, layout=w.Layout(width="288px", height="288px")
    )
    caption = w.HTML(layout=w.Layout(width="340px", height="4.5em"))

    def fit_sliders(_change: object = None) -> None:
        """Give the x and y sliders the range a bird of this size can reach (observed
        before the redraw, so a slider clamped here redraws a consistent scene)."""
        reach = scene_reach(round(controls["bird_size"].value, 4))
        for slider, (low, high) in zip((controls["y"], controls["x"]), reach, strict=True):
            if low > slider.max:  # widen on the side it moves to first: min <= max
                slider.max, slider.min = high, low
            else:
                slider.min, slider.max = low, high

    def show(frame: dict[str, Any]) -> None:
        picture.value = to_png(frame["image"], mask=frame["mask"])
        caption.value = _describe(frame)

    controls["bird_size"].observe(fit_sliders, names="value")
    live = w.HBox(
        [
            w.VBox(
                [*controls.values(), caption],
                layout=w.Layout(width="340px", flex="0 0 340px"),
            ),
            picture,
        ],
        layout=w.Layout(width="640px", align_items="flex-start"),
    )
    sweep = bird_sweep(lambda y, x: scene_frame(y, x, seed=seed), 0.3, frames, y=0.45)
    alt = (
        "A bird crossing a cluttered sky from left to right, its mask outlined in "
        "magenta; the slider steps through its positions."
    )
    static = scrubber(draw_scene, sweep, alt=alt, figsize=(3.4, 3.4))
    return build(
        "scene explorer",
        controls=controls,
        frame=lambda **v: scene_frame(**v, seed=seed),
        show=show,
        live=live,
        static=static,
    )
