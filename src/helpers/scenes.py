"""Synthetic bird scenes: the course's only data set, generated, never downloaded.

Every scene is a small sky with clouds and pixel noise, some clutter (leaves, blobs,
branches) and one *main object*: a bird in half of the scenes, and in the other half a
decoy (a leaf or a blob with a bird's colour and area). The decoy keeps the task honest:
a scene with a bird has no extra object and no extra mean colour or brightness, so these
global statistics do not tell the label. Which colours sit together in a patch does tell
part of it (a bird is several colours, a decoy one: chapter 0's probe,
:mod:`helpers.colour_probe`); the rest is the bird's shape.

Because we draw the scenes ourselves we know the bird's exact pixels (``masks``), which
later chapters use to *score* where a model looks.

Shapes are drawn as signed distance fields in each object's own coordinate frame
(``u`` along the object, ``v`` across it), turned into anti-aliased coverage and
composited back to front. Everything is vectorised over scenes with numpy.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["Scenes", "make_scenes", "render_scene", "MAX_DISTRACTORS"]

MAX_DISTRACTORS = 16
"""The most distractors a scene may hold."""

_CHUNK = 500  # scenes rendered at once: keeps the (chunk, H, W) fields in cache
_GROUPS = 3  # window sizes per kind of object and chunk (see _groups)

# Colour palettes (RGB in [0, 1]). Blobs and decoys share the birds' palette, so that
# colour alone never tells a bird.
_BIRD_COLOURS = np.array(
    [
        [0.15, 0.12, 0.10],  # blackbird
        [0.45, 0.30, 0.18],  # sparrow brown
        [0.75, 0.15, 0.12],  # cardinal red
        [0.20, 0.35, 0.75],  # bluebird
        [0.90, 0.80, 0.20],  # goldfinch yellow
        [0.55, 0.55, 0.58],  # pigeon grey
        [0.92, 0.90, 0.85],  # gull white
        [0.85, 0.45, 0.15],  # robin orange
    ]
)
_LEAF_COLOURS = np.array(
    [
        [0.25, 0.55, 0.20],
        [0.40, 0.65, 0.25],
        [0.15, 0.40, 0.15],
        [0.80, 0.45, 0.10],
        [0.70, 0.20, 0.10],
        [0.55, 0.35, 0.15],
        [0.85, 0.75, 0.20],
    ]
)
_BRANCH_COLOURS = np.array([[0.35, 0.24, 0.14], [0.25, 0.20, 0.16], [0.45, 0.38, 0.30]])
_SKY_COLOURS = np.array(
    [
        [0.35, 0.55, 0.85],  # blue
        [0.55, 0.70, 0.90],  # pale blue
        [0.70, 0.72, 0.75],  # overcast
        [0.95, 0.65, 0.45],  # dusk
    ]
)
_BEAK_COLOURS = np.array([[0.95, 0.65, 0.10], [0.20, 0.18, 0.16]])

# Distractor kinds, and the main object (a bird or its decoy).
_LEAF, _BLOB, _BRANCH, _MAIN = 0, 1, 2, 3

# How far each shape reaches from its centre, in units of its size, so that a window
# of ceil(extent * size) + 2 pixels each side holds every pixel it touches (the
# anti-aliased edge included; tests/test_scenes.py checks this against huge windows).
_EXTENTS = {_LEAF: 0.65, _BLOB: 0.6, _BRANCH: 0.55, _MAIN: 0.62}

# The bird in its own frame, in units of its length (tail tip to beak tip is about 1).
# u points from tail to beak, v points down. _ORIGIN shifts the parts so that the
# silhouette's centroid (wing folded) sits at u = v = 0: the centre we are asked for is
# where the bird's pixels are centred.
_ORIGIN = (-0.0145, -0.0284)


@dataclass(frozen=True)
class Scenes:
    """A batch of bird scenes.

    ``len(scenes)`` is N; ``scenes[index]`` selects scenes (an int, a slice, an index
    or boolean array) and returns a smaller :class:`Scenes`.
    """

    images: np.ndarray
    """The pictures, float32 (N, 3, H, W), RGB values in [0, 1]."""
    labels: np.ndarray
    """int64 (N,), 1 where the scene holds a bird, 0 where it does not."""
    masks: np.ndarray
    """bool (N, H, W), the bird's visible pixels; all False without a bird."""
    centers: np.ndarray
    """float64 (N, 2), the centroid of the bird's mask as fractions (row, column).

    Fractions of the image height and width; NaN without a bird.
    """
    leaf_masks: np.ndarray
    """bool (N, H, W), pixels covered by leaves (distractors and leaf decoys)."""

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int | slice | np.ndarray) -> Scenes:
        """The scenes at ``index`` (an int, a slice, an index or boolean array)."""
        if isinstance(index, numbers.Integral):
            index = slice(int(index), int(index) + 1) if index != -1 else slice(-1, None)
        return Scenes(
            self.images[index],
            self.labels[index],
            self.masks[index],
            self.centers[index],
            self.leaf_masks[index],
        )

    def __repr__(self) -> str:
        n, _, h, w = self.images.shape
        birds = int(self.labels.sum())
        return f"Scenes(n={n}, size={h}x{w}, birds={birds})"


# ----------------------------------------------------------------------------------
# Argument checks: every bad argument gets a message that says what was expected.


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return int(value)


def _check_real(name: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if not (low <= value <= high):  # also rejects NaN
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return float(value)


def _check_range(
    name: str, value: object, low: float, high: float, *, integer: bool
) -> tuple[float, float]:
    """A number or a (low, high) pair, each within [low, high], in order."""
    check = _check_int if integer else _check_real
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(
                f"{name} must be a number or a (low, high) pair, got {value!r}"
            )
        a, b = (check(f"{name}[{i}]", v, low, high) for i, v in enumerate(value))
        if a > b:
            raise ValueError(f"{name} must be (low, high) with low <= high, got {value!r}")
        return a, b
    if isinstance(value, (numbers.Real, bool)) or value is None:
        v = check(name, value, low, high)
        return v, v
    raise TypeError(
        f"{name} must be a number or a (low, high) pair, got {type(value).__name__}"
    )


def _check_region(region: object) -> tuple[float, float, float, float]:
    if not isinstance(region, (tuple, list, np.ndarray)) or len(region) != 4:
        raise TypeError(
            "region must be (top, bottom, left, right) as fractions of the image, "
            f"got {region!r}"
        )
    t, b, l, r = (_check_real(f"region[{i}]", v, 0.0, 1.0) for i, v in enumerate(region))
    if not (t < b and l < r):
        raise ValueError(
            "region must be (top, bottom, left, right) with top < bottom and "
            f"left < right, got {tuple(region)}"
        )
    return t, b, l, r


# ----------------------------------------------------------------------------------
# Parameters: everything random about a scene, drawn in a fixed order from one seed.


def _pick(rng: np.random.Generator, palette: np.ndarray, shape: tuple, jitter: float):
    """Colours drawn from ``palette`` with a little jitter: shape + (3,)."""
    idx = rng.integers(0, len(palette), size=shape)
    return np.clip(palette[idx] + rng.uniform(-jitter, jitter, size=shape + (3,)), 0, 1)


def _sample(
    n: int,
    rng: np.random.Generator,
    *,
    region: tuple[float, float, float, float],
    distractors: tuple[float, float],
    bird_size: tuple[float, float],
    slots: int,
) -> dict[str, np.ndarray]:
    """Draw the parameters of ``n`` scenes; sizes and positions as image fractions."""
    p: dict[str, np.ndarray] = {}
    p["labels"] = rng.permutation(np.arange(n) % 2).astype(np.int64)
    # background
    p["sky_top"] = _pick(rng, _SKY_COLOURS, (n,), 0.06)
    p["sky_bottom"] = p["sky_top"] + rng.uniform(0.2, 0.6, (n, 1)) * (1 - p["sky_top"])
    p["cloud_on"] = rng.random((n, 3)) < 0.6
    p["cloud_y"] = rng.uniform(0, 1, (n, 3))
    p["cloud_x"] = rng.uniform(0, 1, (n, 3))
    p["cloud_r"] = rng.uniform(0.08, 0.22, (n, 3))
    p["cloud_a"] = rng.uniform(0.3, 0.7, (n, 3))
    p["noise"] = rng.uniform(0.01, 0.04, n)
    # the main object: a bird (label 1) or a decoy (label 0), same place, size, colour
    length = rng.uniform(*bird_size, n)
    margin = 0.5 * length + 0.02
    t, b, l, r = region
    p["length"] = length
    p["cy"] = np.clip(rng.uniform(t, b, n), margin, 1 - margin)
    p["cx"] = np.clip(rng.uniform(l, r, n), margin, 1 - margin)
    p["angle"] = rng.uniform(-0.35, 0.35, n)
    p["flip"] = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    p["wing"] = np.where(rng.random(n) < 0.5, 0.0, rng.uniform(-1.1, -0.3, n))
    p["body_rgb"] = _pick(rng, _BIRD_COLOURS, (n,), 0.08)
    p["wing_rgb"] = p["body_rgb"] * rng.uniform(0.55, 0.8, (n, 1))
    p["beak_rgb"] = _pick(rng, _BEAK_COLOURS, (n,), 0.05)
    p["decoy_kind"] = rng.integers(0, 2, n)  # a leaf or a blob
    p["decoy_aspect"] = rng.uniform(0.45, 0.7, n)
    # distractors: `slots` of them, the first k active
    lo, hi = int(distractors[0]), int(distractors[1])
    p["k"] = rng.integers(lo, hi + 1, n)
    shape = (n, slots)
    p["d_on"] = np.arange(slots)[None, :] < p["k"][:, None]
    p["d_kind"] = rng.choice(3, size=shape, p=[0.45, 0.35, 0.20])
    p["d_y"] = rng.uniform(0, 1, shape)
    p["d_x"] = rng.uniform(0, 1, shape)
    p["d_size"] = np.where(
        p["d_kind"] == _BRANCH,
        rng.uniform(0.3, 0.6, shape),
        rng.uniform(0.10, 0.28, shape),
    )
    p["d_aspect"] = rng.uniform(0.3, 0.6, shape)
    p["d_angle"] = rng.uniform(-np.pi, np.pi, shape)
    leaf_rgb = _pick(rng, _LEAF_COLOURS, shape, 0.06)
    blob_rgb = _pick(rng, _BIRD_COLOURS, shape, 0.08)
    branch_rgb = _pick(rng, _BRANCH_COLOURS, shape, 0.04)
    kind = p["d_kind"][..., None]
    p["d_rgb"] = np.where(
        kind == _LEAF, leaf_rgb, np.where(kind == _BLOB, blob_rgb, branch_rgb)
    )
    return p


# ----------------------------------------------------------------------------------
# Drawing: signed distances (negative inside, in pixels) turned into coverage.


def _coverage(dist: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] from a signed distance in pixels."""
    return np.clip(0.5 - dist, 0.0, 1.0)


def _frame(gy, gx, cy, cx, angle, flip=1.0):
    """Pixel centres gy (m, P, 1), gx (m, 1, P) into each object's frame (u along it,
    v across), in pixels; cy, cx, angle, flip are (m,)."""
    dy, dx = gy - cy[:, None, None], gx - cx[:, None, None]
    c, s = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    u = (c * dx + s * dy) * np.asarray(flip)[..., None, None]
    v = -s * dx + c * dy
    return u, v


def _ellipse(u, v, cu, cv, a, b):
    """Approximate signed distance to an axis-aligned ellipse, in the units of u, v."""
    k = np.sqrt(((u - cu) / a) ** 2 + ((v - cv) / b) ** 2)
    return (k - 1.0) * np.minimum(a, b)


def _polygon(u, v, points):
    """Signed distance to a convex polygon with vertices in counter-clockwise order."""
    dist = None
    for (u0, v0), (u1, v1) in zip(points, points[1:] + points[:1], strict=True):
        eu, ev = u1 - u0, v1 - v0
        norm = np.hypot(eu, ev)
        d = ((u - u0) * ev - (v - v0) * eu) / norm  # outward normal for this order
        dist = d if dist is None else np.maximum(dist, d)
    return dist


def _capsule(u, v, u0, v0, u1, v1, r):
    """Signed distance to a segment (u0, v0)-(u1, v1) thickened by r."""
    eu, ev = u1 - u0, v1 - v0
    t = np.clip(((u - u0) * eu + (v - v0) * ev) / (eu * eu + ev * ev), 0.0, 1.0)
    return np.hypot(u - u0 - t * eu, v - v0 - t * ev) - r


def _leaf(u, v, width):
    """A lens-shaped leaf of length 1 along u, with a short stem (unit frame)."""
    w = np.asarray(width)
    radius = (0.25 + w * w / 4) / w
    off = radius - w / 2
    lens = np.maximum(np.hypot(u, v - off) - radius, np.hypot(u, v + off) - radius)
    return np.minimum(lens, _capsule(u, v, 0.45, 0.0, 0.62, 0.0, 0.025))


def _bird_parts(u, v, wing):
    """Signed distances of the bird's parts in its unit frame: silhouette and wing."""
    u, v = u + _ORIGIN[0], v + _ORIGIN[1]
    body = _ellipse(u, v, 0.0, 0.0, 0.30, 0.15)
    head = _ellipse(u, v, 0.27, -0.12, 0.11, 0.11)
    beak = _polygon(u, v, [(0.35, -0.16), (0.50, -0.11), (0.35, -0.07)])
    tail = _polygon(u, v, [(-0.20, -0.05), (-0.20, 0.05), (-0.50, 0.04), (-0.50, -0.12)])
    # the wing pivots at the shoulder; wing < 0 raises it above the back
    su, sv = 0.08, -0.06
    c, s = np.cos(wing), np.sin(wing)
    du, dv = u - su, v - sv
    wu, wv = c * du + s * dv, -s * du + c * dv
    wing_d = _ellipse(wu, wv, -0.22, 0.0, 0.24, 0.075)
    silhouette = np.minimum(np.minimum(body, head), np.minimum(tail, wing_d))
    return silhouette, wing_d, beak


class _Canvas:
    """Images under construction, padded so that every object's window fits.

    Objects are drawn in a square window around their centre (a few hundred pixels
    instead of the whole image), which is what makes 10,000 scenes take seconds.
    Windows are read and written through strided views, one block per scene.
    """

    def __init__(self, background: np.ndarray, pad: int):
        """Start from background (n, 3, H, W), with ``pad`` spare pixels around it."""
        n, _, size, _ = background.shape
        self.size, self.pad = size, pad
        side = size + 2 * pad
        self.rgb = np.zeros((n, 3, side, side), np.float32)
        self.crop(self.rgb)[...] = background
        self.bird = np.zeros((n, side, side), bool)
        self.leaf = np.zeros_like(self.bird)

    def window(self, idx, cy, cx, half):
        """Where a (2 half)^2 window around (cy, cx) px lies, and its pixel centres
        gy (m, P, 1), gx (m, 1, P) in image coordinates."""
        top = np.floor(cy).astype(np.int64) - half
        left = np.floor(cx).astype(np.int64) - half
        steps = np.arange(2 * half, dtype=np.float32) + 0.5
        gy = (top[:, None] + steps)[:, :, None].astype(np.float32)
        gx = (left[:, None] + steps)[:, None, :].astype(np.float32)
        return (idx, top + self.pad, left + self.pad, 2 * half), gy, gx

    @staticmethod
    def _view(plane, side):
        axes = (plane.ndim - 2, plane.ndim - 1)
        return sliding_window_view(plane, (side, side), axis=axes, writeable=True)

    def paint(self, at, *layers):
        """Composite each (alpha (m, P, P), rgb (m, 3)) layer, in order, in the windows."""
        idx, top, left, side = at
        view = self._view(self.rgb, side)
        win = view[idx, :, top, left]  # (m, 3, P, P)
        for alpha, rgb in layers:
            win += (rgb.astype(np.float32)[:, :, None, None] - win) * alpha[:, None]
        view[idx, :, top, left] = win

    def get(self, plane, at):
        idx, top, left, side = at
        return self._view(plane, side)[idx, top, left]

    def put(self, plane, at, value):
        idx, top, left, side = at
        self._view(plane, side)[idx, top, left] = value

    def crop(self, plane):
        p, s = self.pad, self.size
        return plane[..., p : p + s, p : p + s]


def _background(p: dict[str, np.ndarray], size: int) -> np.ndarray:
    """Sky gradient with soft white clouds: (n, 3, H, W) float32.

    A cloud is a Gaussian puff 1.8 times wider than tall; it factors into a column
    times a row, and all clouds are white, so together they are one alpha,
    1 - prod_j (1 - a_j): a few cheap operations per scene.
    """
    f32 = np.float32
    g = (np.arange(size) + 0.5).astype(f32) / size
    top = p["sky_top"].astype(f32)[:, :, None, None]
    bottom = p["sky_bottom"].astype(f32)[:, :, None, None]
    sky = top + (bottom - top) * g[None, None, :, None]  # (n, 3, H, 1)
    clear = np.ones((len(sky), size, size), f32)
    for j in range(p["cloud_on"].shape[1]):
        r = p["cloud_r"][:, j, None]
        a = p["cloud_a"][:, j, None] * p["cloud_on"][:, j, None]
        col = (a * np.exp(-(((g - p["cloud_y"][:, j, None]) / r) ** 2))).astype(f32)
        row = np.exp(-(((g - p["cloud_x"][:, j, None]) / (1.8 * r)) ** 2)).astype(f32)
        clear *= 1 - col[:, :, None] * row[:, None, :]
    return sky + (f32(0.97) - sky) * (1 - clear)[:, None]


def _half(extent: float, scale: np.ndarray) -> np.ndarray:
    """Half-widths (m,) of windows holding shapes of ``extent`` (unit frame) at
    ``scale`` (m,) pixels."""
    return np.ceil(extent * np.asarray(scale, np.float64)).astype(np.int64) + 2


def _distractor(canvas, p, idx, j, kind, half, size) -> None:
    """Draw distractor slot ``j`` (all of one ``kind``) of scenes ``idx`` on the canvas."""
    f32 = np.float32
    scale = (p["d_size"][idx, j] * size).astype(f32)
    cy, cx = (p["d_y"][idx, j] * size).astype(f32), (p["d_x"][idx, j] * size).astype(f32)
    at, gy, gx = canvas.window(idx, cy, cx, half)
    u, v = _frame(gy, gx, cy, cx, p["d_angle"][idx, j].astype(f32))
    s = scale[:, None, None]
    u, v = u / s, v / s
    aspect = p["d_aspect"][idx, j].astype(f32)[:, None, None]
    if kind == _LEAF:
        dist = _leaf(u, v, aspect * 0.6)
    elif kind == _BLOB:
        dist = _ellipse(u, v, 0.0, 0.0, 0.5, 0.5 * aspect)
    else:
        dist = np.minimum(
            _capsule(u, v, -0.5, 0.0, 0.5, 0.0, 0.025),
            _capsule(u, v, 0.05, 0.0, 0.25, -0.14, 0.018),
        )
    alpha = _coverage(dist * s)
    canvas.paint(at, (alpha, p["d_rgb"][idx, j]))
    covered = alpha > 0.5
    leaf = canvas.get(canvas.leaf, at)
    canvas.put(canvas.leaf, at, leaf | covered if kind == _LEAF else leaf & ~covered)


def _main_object(canvas, p, idx, half, size) -> None:
    """Draw the bird or the decoy of scenes ``idx`` on the canvas."""
    f32 = np.float32
    length = (p["length"][idx] * size).astype(f32)
    cy, cx = (p["cy"][idx] * size).astype(f32), (p["cx"][idx] * size).astype(f32)
    at, gy, gx = canvas.window(idx, cy, cx, half)
    u, v = _frame(gy, gx, cy, cx, p["angle"][idx].astype(f32), p["flip"][idx].astype(f32))
    s = length[:, None, None]
    u, v = u / s, v / s
    wing = p["wing"][idx].astype(f32)[:, None, None]
    silhouette, wing_d, beak = _bird_parts(u, v, wing)
    aspect = p["decoy_aspect"][idx].astype(f32)[:, None, None]
    decoy_is_leaf = (p["decoy_kind"][idx] == _LEAF)[:, None, None]
    decoy = np.where(
        decoy_is_leaf,
        _leaf(u / 0.95, v / 0.95, aspect * 0.6) * 0.95,
        _ellipse(u, v, 0.0, 0.0, 0.36, 0.36 * aspect),
    )
    bird = (p["labels"][idx] == 1)[:, None, None]
    body_alpha = _coverage(np.where(bird, silhouette, decoy) * s)
    beak_alpha = _coverage(beak * s) * bird
    canvas.paint(
        at,
        (body_alpha, p["body_rgb"][idx]),
        (_coverage(wing_d * s) * bird, p["wing_rgb"][idx]),
        (beak_alpha, p["beak_rgb"][idx]),
    )
    covered = (body_alpha > 0.5) | (beak_alpha > 0.5)
    canvas.put(canvas.bird, at, bird & covered)
    leaf = canvas.get(canvas.leaf, at)
    canvas.put(canvas.leaf, at, np.where(covered, ~bird & decoy_is_leaf, leaf))


def _groups(scale: np.ndarray, extent: float, most: int | None = None):
    """Objects grouped by the window their shape needs, so that small objects are not
    drawn in the window of the largest: yields (positions, half-width) pairs.

    ``scale`` (m,) is each object's size in pixels. The groups are contiguous runs of
    the sorted half-widths, at most ``most`` of them (``_GROUPS`` by default: each
    group costs numpy's per-call overhead). The pixels do not depend on the grouping.
    """
    half = _half(extent, scale)
    order = np.argsort(half, kind="stable")
    most = _GROUPS if most is None else most
    for part in np.array_split(order, max(1, min(most, len(order)))):
        if part.size:
            yield np.sort(part), int(half[part].max())


def _render(
    p: dict[str, np.ndarray], size: int, noise: np.ndarray, main: bool = True
) -> dict[str, np.ndarray]:
    """Draw one chunk of scenes from their parameters (sizes in image fractions);
    without the bird or decoy when ``main`` is False."""
    f32 = np.float32
    reach = max(_EXTENTS[k] for k in (_LEAF, _BLOB, _BRANCH))  # of any distractor
    pad = int(
        max(
            _half(_EXTENTS[_MAIN], p["length"] * size).max(initial=3),
            _half(reach, p["d_size"] * size).max(initial=3),
        )
    )
    canvas = _Canvas(_background(p, size), pad=pad)
    # distractors, back to front: slot by slot, each kind on the scenes that have it
    for j in range(p["d_on"].shape[1]):
        for kind in (_LEAF, _BLOB, _BRANCH):
            idx = np.flatnonzero(p["d_on"][:, j] & (p["d_kind"][:, j] == kind))
            for part, half in _groups(p["d_size"][idx, j] * size, _EXTENTS[kind]):
                _distractor(canvas, p, idx[part], j, kind, half, size)
    # the main object: a bird, or a decoy of about the bird's area (0.2 length^2)
    for idx, half in _groups(p["length"] * size, _EXTENTS[_MAIN]) if main else ():
        _main_object(canvas, p, idx, half, size)
    # pixel noise, then clip to [0, 1]
    img = canvas.crop(canvas.rgb) + noise * p["noise"].astype(f32)[:, None, None, None]
    return (
        np.clip(img, 0.0, 1.0, out=img),
        canvas.crop(canvas.bird),
        canvas.crop(canvas.leaf),
    )


def _centroids(masks: np.ndarray) -> np.ndarray:
    """(N, 2) centroid of each mask as fractions of height and width; NaN if empty."""
    n, h, w = masks.shape
    count = masks.sum(axis=(1, 2)).astype(np.float64)
    rows = (masks.sum(axis=2) * (np.arange(h) + 0.5)).sum(axis=1)
    cols = (masks.sum(axis=1) * (np.arange(w) + 0.5)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.stack([rows / count / h, cols / count / w], axis=1)
    out[count == 0] = np.nan
    return out


def _noise(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Zero-mean, unit-variance uniform pixel noise, float32 (cheaper than normal)."""
    raw = np.frombuffer(rng.bytes(int(np.prod(shape))), dtype=np.uint8).reshape(shape)
    return (raw.astype(np.float32) - 127.5) * np.float32(1 / 73.9)


def _build(p: dict[str, np.ndarray], size: int, seed: int, main: bool = True) -> Scenes:
    """Render scenes from parameters in chunks and assemble a :class:`Scenes`.

    Chunks are independent (each has its own noise stream), so they are drawn on a
    few threads (numpy releases the GIL); the result does not depend on the threads.
    """
    n = len(p["labels"])
    images = np.empty((n, 3, size, size), np.float32)
    masks = np.empty((n, size, size), bool)
    leaf_masks = np.empty((n, size, size), bool)

    def chunk(start: int) -> None:
        part = slice(start, min(n, start + _CHUNK))
        params = {key: value[part] for key, value in p.items()}
        shape = (len(params["labels"]), 3, size, size)
        noise = _noise(np.random.default_rng([seed, 1, start]), shape)
        images[part], masks[part], leaf_masks[part] = _render(params, size, noise, main)

    starts = range(0, n, _CHUNK)
    workers = min(len(starts), os.cpu_count() or 1, 4)
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(chunk, starts))
    else:
        for start in starts:
            chunk(start)
    labels = p["labels"].copy() if main else np.zeros(n, np.int64)
    return Scenes(images, labels, masks, _centroids(masks), leaf_masks)


# ----------------------------------------------------------------------------------
# The public functions.


def make_scenes(
    n: int,
    *,
    size: int = 48,
    region: Sequence[float] = (0.0, 1.0, 0.0, 1.0),
    distractors: int | tuple[int, int] = (0, 4),
    bird_size: float | tuple[float, float] = (0.22, 0.42),
    seed: int = 0,
    main: bool = True,
) -> Scenes:
    """Generate ``n`` bird scenes, about half of them with a bird.

    Args:
        n: number of scenes, >= 0.
        size: height and width in pixels (16 to 256; 48 by default).
        region: ``(top, bottom, left, right)`` fractions of the image where bird
            centres may fall, e.g. ``(0, 1, 0, 0.5)`` for the left half. A bird is
            kept whole inside the image, so centres stay at least half a bird from
            the border.
        distractors: clutter objects per scene (leaves, blobs, branches): an int or
            an inclusive ``(low, high)`` range, at most ``MAX_DISTRACTORS``.
        bird_size: the bird's length (tail to beak) as a fraction of the image size,
            a number or a ``(low, high)`` range within [0.1, 0.8].
        seed: the same seed gives the same scenes on every run.
        main: False draws the same scenes without their main object (no bird, no
            decoy): background, distractors and noise exactly as with it, labels 0,
            empty masks. The counterfactual "this scene without its bird".

    Returns:
        :class:`Scenes` with images (N, 3, size, size) float32, labels (N,) int64,
        masks (N, size, size) bool, centers (N, 2) float64, leaf_masks (N, size, size).

    Raises:
        TypeError, ValueError: for an argument of the wrong type or out of range.

    >>> scenes = make_scenes(8, seed=0)
    >>> scenes
    Scenes(n=8, size=48x48, birds=4)
    >>> scenes.images.shape, scenes.images.dtype
    ((8, 3, 48, 48), dtype('float32'))
    >>> again = make_scenes(8, seed=0)  # the same seed: the same scenes
    >>> bool((again.images == scenes.images).all())
    True
    """
    n = _check_int("n", n, 0, 10_000_000)
    size = _check_int("size", size, 16, 256)
    region = _check_region(region)
    distractors = _check_range("distractors", distractors, 0, MAX_DISTRACTORS, integer=True)
    bird_size = _check_range("bird_size", bird_size, 0.1, 0.8, integer=False)
    seed = _check_int("seed", seed, 0, 2**63 - 1)
    if not isinstance(main, bool):
        raise TypeError(f"main must be True or False, got {main!r}")
    rng = np.random.default_rng(seed)
    params = _sample(
        n,
        rng,
        region=region,
        distractors=distractors,
        bird_size=bird_size,
        slots=int(distractors[1]),
    )
    return _build(params, size, seed, main)


def render_scene(
    center: Sequence[float] = (0.5, 0.5),
    *,
    bird: bool = True,
    size: int = 48,
    bird_size: float = 0.3,
    distractors: int | Sequence[Sequence[float]] = 0,
    flip: bool = False,
    angle: float = 0.0,
    wing: float = 0.0,
    seed: int = 0,
) -> Scenes:
    """One scene with the main object at ``center``, for widgets that move the bird.

    The seed fixes the background, the colours and the distractors, so moving the bird
    (changing ``center``) leaves everything else where it was; the ``k`` distractors of
    ``distractors=k`` are the first ``k`` of the ``k + 1`` (adding one keeps the rest).

    Args:
        center: (row, column) of the bird's centre as fractions of the image, in [0, 1].
            The bird is kept whole inside the image (its centre is moved in if needed).
        bird: draw a bird (label 1) or, in its place, a decoy (label 0).
        size: height and width in pixels.
        bird_size: the bird's length as a fraction of the image size, in [0.1, 0.8].
        distractors: how many distractors (random places from the seed), or their
            centres as a sequence of (row, column) fractions.
        flip: the bird faces left instead of right.
        angle: body pitch in radians, in [-1, 1]; positive tilts the beak down.
        wing: wing angle in radians, in [-1.5, 0]; 0 is folded, negative raises it.
        seed: chooses the background, colours and distractors.

    Returns:
        :class:`Scenes` holding one scene.

    >>> scene = render_scene((0.5, 0.3))  # a bird centred left of the middle
    >>> scene.labels, np.round(scene.centers, 1)  # where its pixels are centred
    (array([1]), array([[0.5, 0.3]]))
    """
    if not isinstance(center, (tuple, list, np.ndarray)) or len(center) != 2:
        raise TypeError(f"center must be a (row, column) pair of fractions, got {center!r}")
    cy, cx = (_check_real(f"center[{i}]", c, 0.0, 1.0) for i, c in enumerate(center))
    if not isinstance(bird, (bool, np.bool_)):
        raise TypeError(f"bird must be True or False, got {bird!r}")
    size = _check_int("size", size, 16, 256)
    length = _check_real("bird_size", bird_size, 0.1, 0.8)
    if not isinstance(flip, (bool, np.bool_)):
        raise TypeError(f"flip must be True or False, got {flip!r}")
    angle = _check_real("angle", angle, -1.0, 1.0)
    wing = _check_real("wing", wing, -1.5, 0.0)
    seed = _check_int("seed", seed, 0, 2**63 - 1)
    places = None
    if isinstance(distractors, (tuple, list, np.ndarray)):
        places = [
            tuple(
                _check_real(f"distractors[{i}][{j}]", c, 0.0, 1.0) for j, c in enumerate(pt)
            )
            if isinstance(pt, (tuple, list, np.ndarray)) and len(pt) == 2
            else _bad_place(i, pt)
            for i, pt in enumerate(distractors)
        ]
        k = _check_int("len(distractors)", len(places), 0, MAX_DISTRACTORS)
    else:
        k = _check_int("distractors", distractors, 0, MAX_DISTRACTORS)
    rng = np.random.default_rng(seed)
    p = _sample(
        1,
        rng,
        region=(0.0, 1.0, 0.0, 1.0),
        distractors=(k, k),
        bird_size=(length, length),
        slots=MAX_DISTRACTORS,
    )
    margin = 0.5 * length + 0.02
    p["labels"][:] = int(bird)
    p["cy"][:] = np.clip(cy, margin, 1 - margin)
    p["cx"][:] = np.clip(cx, margin, 1 - margin)
    p["flip"][:] = -1.0 if flip else 1.0
    p["angle"][:] = angle
    p["wing"][:] = wing
    if places:
        p["d_y"][0, :k] = [pt[0] for pt in places]
        p["d_x"][0, :k] = [pt[1] for pt in places]
    return _build(p, size, seed)


def _bad_place(i: int, pt: object) -> tuple[float, float]:
    raise TypeError(
        f"distractors[{i}] must be a (row, column) pair of fractions, got {pt!r}"
    )
