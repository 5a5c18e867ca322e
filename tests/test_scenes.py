import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.metrics import best_threshold_accuracy, colour_features, linear_probe_accuracy
from helpers.scenes import MAX_DISTRACTORS, Scenes, make_scenes, render_scene


def test_shapes_and_dtypes(scenes):
    n = len(scenes)
    assert scenes.images.shape == (n, 3, 48, 48) and scenes.images.dtype == np.float32
    assert scenes.labels.shape == (n,) and scenes.labels.dtype == np.int64
    assert scenes.masks.shape == (n, 48, 48) and scenes.masks.dtype == bool
    assert scenes.leaf_masks.shape == (n, 48, 48) and scenes.leaf_masks.dtype == bool
    assert scenes.centers.shape == (n, 2) and scenes.centers.dtype == np.float64
    assert scenes.images.min() >= 0.0 and scenes.images.max() <= 1.0


def test_labels_are_balanced(scenes):
    assert set(np.unique(scenes.labels)) == {0, 1}
    assert abs(scenes.labels.mean() - 0.5) <= 0.001


def test_mask_nonempty_exactly_when_bird(scenes):
    has_pixels = scenes.masks.any(axis=(1, 2))
    np.testing.assert_array_equal(has_pixels, scenes.labels == 1)
    # a bird is big enough to see: at least a dozen pixels at the smallest size
    assert scenes.masks.sum(axis=(1, 2))[scenes.labels == 1].min() >= 12


def test_centers_are_mask_centroids(scenes):
    bird = scenes.labels == 1
    assert np.isnan(scenes.centers[~bird]).all()
    rows, cols = np.meshgrid(np.arange(48) + 0.5, np.arange(48) + 0.5, indexing="ij")
    m = scenes.masks[bird]
    count = m.sum(axis=(1, 2))
    expected = np.stack([(m * rows).sum((1, 2)) / count, (m * cols).sum((1, 2)) / count], 1)
    np.testing.assert_allclose(scenes.centers[bird] * 48, expected, atol=1e-9)


@pytest.mark.parametrize("center", [(0.5, 0.5), (0.3, 0.7), (0.7, 0.25)])
@pytest.mark.parametrize("flip", [False, True])
def test_render_scene_puts_the_bird_at_center(center, flip):
    scene = render_scene(center, bird_size=0.35, flip=flip, distractors=4, seed=3)
    # within one pixel of where we asked (the wing and the pixel grid shift it a little)
    assert np.abs(scene.centers[0] - center).max() * 48 <= 1.0


def test_region_is_respected():
    left = make_scenes(600, region=(0, 1, 0, 0.5), seed=1)
    bird = left.labels == 1
    assert (left.centers[bird, 1] <= 0.5 + 1 / 48).all()  # centroid within a pixel
    assert left.masks[:, :, 30:].sum() < 0.02 * left.masks.sum()  # right side nearly empty
    box = make_scenes(600, region=(0.2, 0.4, 0.6, 0.8), bird_size=0.25, seed=2)
    c = box.centers[box.labels == 1]
    assert ((c[:, 0] >= 0.2 - 1 / 48) & (c[:, 0] <= 0.4 + 1 / 48)).all()
    assert ((c[:, 1] >= 0.6 - 1 / 48) & (c[:, 1] <= 0.8 + 1 / 48)).all()


def test_anywhere_birds_cover_the_image(scenes):
    c = scenes.centers[scenes.labels == 1]
    assert c[:, 1].min() < 0.3 and c[:, 1].max() > 0.7
    assert c[:, 0].min() < 0.3 and c[:, 0].max() > 0.7


def test_determinism():
    a = make_scenes(300, seed=11, distractors=(1, 3))
    b = make_scenes(300, seed=11, distractors=(1, 3))
    for field in ("images", "labels", "masks", "centers", "leaf_masks"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    c = make_scenes(300, seed=12, distractors=(1, 3))
    assert not np.array_equal(a.images, c.images)


def test_chunking_does_not_change_scenes():
    """A batch bigger than one chunk (rendered on threads) equals its parts' rules:
    scene i depends on the seed and n only, not on how many threads drew it."""
    big = make_scenes(1200, seed=5)
    again = make_scenes(1200, seed=5)
    np.testing.assert_array_equal(big.images, again.images)


def test_distractor_counts():
    none = make_scenes(200, distractors=0, seed=1)
    many = make_scenes(200, distractors=(8, 10), seed=1)
    bird = none.labels == 1
    assert none.leaf_masks[bird].sum() == 0  # a bird scene without clutter has no leaf
    # with 8 to 10 distractors, 45% of them leaves, every bird scene has leaf pixels
    assert many.leaf_masks[many.labels == 1].any(axis=(1, 2)).mean() > 0.95


def test_no_shortcut_from_brightness_or_colour():
    train = make_scenes(3000, seed=21, distractors=(0, 4))
    test = make_scenes(2000, seed=22, distractors=(0, 4))
    f_train, f_test = colour_features(train.images), colour_features(test.images)
    for j, name in enumerate(["red", "green", "blue", "brightness"]):
        acc = best_threshold_accuracy(
            f_train[:, j], train.labels, f_test[:, j], test.labels
        )
        assert acc < 0.56, f"mean {name} alone tells birds: {acc:.3f}"
    assert linear_probe_accuracy(f_train, train.labels, f_test, test.labels) < 0.56


def test_bird_pixels_are_what_the_mask_says():
    """Painting the mask's pixels differently from the scene changes exactly those."""
    with_bird = render_scene((0.5, 0.5), bird=True, seed=4, distractors=2)
    decoy = render_scene((0.5, 0.5), bird=False, seed=4, distractors=2)
    assert with_bird.labels[0] == 1 and decoy.labels[0] == 0
    assert not decoy.masks.any() and np.isnan(decoy.centers).all()
    differs = np.abs(with_bird.images[0] - decoy.images[0]).max(axis=0) > 0.05
    # the bird replaces the decoy: the images differ only around the main object
    ys, xs = np.nonzero(differs)
    assert np.abs(ys + 0.5 - 24).max() < 16 and np.abs(xs + 0.5 - 24).max() < 16


def test_render_scene_keeps_the_rest_when_the_bird_moves():
    a = render_scene((0.3, 0.3), distractors=[(0.8, 0.8)], seed=9)
    b = render_scene((0.3, 0.35), distractors=[(0.8, 0.8)], seed=9)
    far = np.zeros((48, 48), bool)
    far[30:, 30:] = True  # the distractor's corner, far from the bird
    np.testing.assert_allclose(a.images[0][:, far], b.images[0][:, far], atol=1e-6)
    assert not np.array_equal(a.masks, b.masks)


def test_indexing_and_repr(scenes):
    assert len(scenes[:10]) == 10
    one = scenes[3]
    assert isinstance(one, Scenes) and len(one) == 1
    np.testing.assert_array_equal(one.images[0], scenes.images[3])
    assert len(scenes[scenes.labels == 1]) == scenes.labels.sum()
    assert repr(scenes[:4]).startswith("Scenes(n=4, size=48x48")


def test_size_and_empty():
    small = make_scenes(10, size=32, seed=0)
    assert small.images.shape == (10, 3, 32, 32)
    empty = make_scenes(0)
    assert len(empty) == 0 and empty.images.shape == (0, 3, 48, 48)


@given(
    n=st.integers(1, 12),
    seed=st.integers(0, 2**32),
    low=st.integers(0, 5),
    extra=st.integers(0, 4),
    top=st.floats(0.0, 0.6),
    left=st.floats(0.0, 0.6),
)
def test_properties_hold_for_any_valid_arguments(n, seed, low, extra, top, left):
    region = (top, top + 0.4, left, left + 0.4)
    s = make_scenes(n, seed=seed, distractors=(low, low + extra), region=region)
    assert s.images.shape == (n, 3, 48, 48)
    assert np.isfinite(s.images).all() and s.images.min() >= 0 and s.images.max() <= 1
    np.testing.assert_array_equal(s.masks.any(axis=(1, 2)), s.labels == 1)
    assert not (s.masks & s.leaf_masks).any()  # a pixel is bird or leaf, not both
    c = s.centers[s.labels == 1]
    slack = 0.22 + 1 / 48  # a centre is kept half a bird from the border
    assert (c[:, 0] >= min(top, 1 - slack) - 1 / 48).all()
    assert (c[:, 0] <= max(top + 0.4, slack) + 1 / 48).all()


@given(center=st.tuples(st.floats(0, 1), st.floats(0, 1)), size=st.floats(0.15, 0.5))
def test_render_scene_property(center, size):
    s = render_scene(center, bird_size=size, seed=1)
    assert s.masks.any() and s.labels[0] == 1
    margin = 0.5 * size + 0.02
    target = np.clip(center, margin, 1 - margin)
    assert np.abs(s.centers[0] - target).max() * 48 <= 1.5


# --- bad input: every bad argument says what was expected ----------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"n": -1}, ValueError, "n must be between 0"),
        ({"n": 2.5}, TypeError, "n must be an int"),
        ({"n": "10"}, TypeError, "n must be an int"),
        ({"n": True}, TypeError, "n must be an int"),
        (
            {"n": 5, "region": (0, 1, 0, 1.5)},
            ValueError,
            "region[3] must be between 0.0 and 1.0",
        ),
        ({"n": 5, "region": (0.6, 0.4, 0, 1)}, ValueError, "top < bottom"),
        ({"n": 5, "region": (0, 1, 0.5, 0.5)}, ValueError, "left < right"),
        ({"n": 5, "region": (0, 1)}, TypeError, "(top, bottom, left, right)"),
        ({"n": 5, "region": "left"}, TypeError, "(top, bottom, left, right)"),
        ({"n": 5, "distractors": -1}, ValueError, "distractors must be between 0"),
        ({"n": 5, "distractors": (3, 1)}, ValueError, "low <= high"),
        ({"n": 5, "distractors": 1.5}, TypeError, "distractors must be an int"),
        ({"n": 5, "distractors": MAX_DISTRACTORS + 1}, ValueError, "distractors must be"),
        ({"n": 5, "distractors": (1, 2, 3)}, ValueError, "(low, high) pair"),
        ({"n": 5, "bird_size": 0.01}, ValueError, "bird_size must be between 0.1"),
        ({"n": 5, "bird_size": "big"}, TypeError, "bird_size must be a number"),
        ({"n": 5, "size": 8}, ValueError, "size must be between 16"),
        ({"n": 5, "seed": -3}, ValueError, "seed must be between 0"),
        ({"n": 5, "seed": 1.0}, TypeError, "seed must be an int"),
        ({"n": 5, "colour": "red"}, TypeError, "unexpected keyword argument 'colour'"),
    ],
)
def test_make_scenes_rejects_bad_arguments(kwargs, error, words):
    with pytest.raises(error) as info:
        make_scenes(**kwargs)
    assert words in str(info.value)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "words"),
    [
        (((0.5,),), {}, TypeError, "center must be a (row, column) pair"),
        (((0.5, 1.2),), {}, ValueError, "center[1] must be between 0.0 and 1.0"),
        (((0.5, 0.5),), {"bird": 1}, TypeError, "bird must be True or False"),
        (
            ((0.5, 0.5),),
            {"distractors": [(0.1,)]},
            TypeError,
            "distractors[0] must be a (row",
        ),
        (((0.5, 0.5),), {"distractors": [(0.1, 2.0)]}, ValueError, "distractors[0][1]"),
        (((0.5, 0.5),), {"wing": 0.5}, ValueError, "wing must be between -1.5 and 0.0"),
        (((0.5, 0.5),), {"angle": float("nan")}, ValueError, "angle must be between"),
        (((0.5, 0.5),), {"flip": "yes"}, TypeError, "flip must be True or False"),
    ],
)
def test_render_scene_rejects_bad_arguments(args, kwargs, error, words):
    with pytest.raises(error) as info:
        render_scene(*args, **kwargs)
    assert words in str(info.value)


@given(st.one_of(st.integers(max_value=-1), st.floats(allow_nan=True), st.text(max_size=3)))
def test_any_bad_n_gets_a_clear_error(n):
    with pytest.raises((TypeError, ValueError), match="n must be"):
        make_scenes(n)


def _same_scenes(a, b):
    for field in ("images", "masks", "leaf_masks", "centers"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)


@pytest.mark.parametrize("size", [16, 48, 96])
def test_windows_hold_every_pixel_a_shape_touches(monkeypatch, size):
    """Objects are drawn in windows around them; huge windows change no pixel."""
    import helpers.scenes as scenes

    kwargs = dict(size=size, distractors=(0, MAX_DISTRACTORS), bird_size=(0.1, 0.8))
    drawn = make_scenes(600, seed=5, **kwargs)
    monkeypatch.setattr(scenes, "_EXTENTS", {k: 1.5 for k in scenes._EXTENTS})
    _same_scenes(drawn, make_scenes(600, seed=5, **kwargs))


def test_grouping_windows_by_size_changes_no_pixel(monkeypatch):
    import helpers.scenes as scenes

    drawn = make_scenes(600, seed=6, distractors=(2, 6))
    monkeypatch.setattr(scenes, "_GROUPS", 1)  # one window per kind: the largest
    _same_scenes(drawn, make_scenes(600, seed=6, distractors=(2, 6)))


def test_the_same_scenes_without_their_main_object():
    full = make_scenes(40, seed=11, distractors=(1, 3))
    bare = make_scenes(40, seed=11, distractors=(1, 3), main=False)
    assert not bare.labels.any() and not bare.masks.any()
    assert np.isnan(bare.centers).all()
    bird = full.labels == 1
    changed = np.abs(full.images - bare.images).max(axis=1) > 1e-6  # (N, H, W)
    assert changed[bird][full.masks[bird]].all()  # every bird pixel is gone
    assert changed[bird][~full.masks[bird]].mean() < 0.05  # little else: its edges
    with pytest.raises(TypeError, match="main must be True or False"):
        make_scenes(4, main=1)
