import numpy as np
import pytest
import torch

from helpers.colour_probe import patch_colour_histograms, patch_network_accuracy
from helpers.metrics import linear_probe_accuracy
from helpers.scenes import make_scenes


def test_histograms_count_each_patch_colour_by_colour():
    images = np.zeros((1, 3, 4, 4), dtype=np.float32)
    images[0, :, :2, 2:] = 1.0  # white top-right patch
    images[0, 2, 2:, :2] = 0.5  # bottom-left patch: blue 0.5 is step 1 of 2
    images[0, 2, 3, 1] = 0.49  # ... one pixel of it is step 0 (black)
    hist = patch_colour_histograms(images, patch=2, levels=2)
    assert hist.shape == (1, 4, 8) and hist.dtype == np.float32
    expected = np.zeros((4, 8), dtype=np.float32)
    expected[0, 0] = expected[3, 0] = 1.0  # black patches, row by row
    expected[1, 7] = 1.0  # white: bin (1 * 2 + 1) * 2 + 1
    expected[2, 1], expected[2, 0] = 0.75, 0.25  # blue: bin 1
    np.testing.assert_array_equal(hist[0], expected)


def test_a_channel_at_one_falls_in_the_top_step():
    hist = patch_colour_histograms(np.ones((1, 3, 2, 2)), patch=2, levels=4)
    assert hist[0, 0, 63] == 1.0


def test_histograms_of_scenes_sum_to_one_and_average_to_the_image():
    images = make_scenes(20, seed=0).images
    hist = patch_colour_histograms(images)
    assert hist.shape == (20, 36, 64)
    np.testing.assert_allclose(hist.sum(axis=2), 1.0, atol=1e-6)
    whole = patch_colour_histograms(images, patch=48)[:, 0]
    np.testing.assert_allclose(hist.mean(axis=1), whole, atol=1e-6)
    np.testing.assert_array_equal(patch_colour_histograms(torch.from_numpy(images)), hist)


@pytest.mark.parametrize(
    ("images", "changes", "error", "match"),
    [
        (np.zeros((2, 48, 48)), {}, ValueError, r"\(N, 3, H, W\)"),
        (np.zeros((2, 3, 48, 48), dtype=np.uint8), {}, TypeError, "floats"),
        (np.full((2, 3, 48, 48), 1.5), {}, ValueError, r"\[0, 1\]"),
        (np.full((2, 3, 48, 48), np.nan), {}, ValueError, r"\[0, 1\]"),
        (np.zeros((2, 3, 48, 48)), {"patch": 7}, ValueError, "7x7 patches"),
        (np.zeros((2, 3, 48, 48)), {"patch": 0}, ValueError, "positive int"),
        (np.zeros((2, 3, 48, 48)), {"levels": 8}, ValueError, "2 to 6"),
        (np.zeros((2, 3, 48, 48)), {"levels": 2.0}, ValueError, "positive int"),
    ],
)
def test_bad_images_or_options_are_refused(images, changes, error, match):
    with pytest.raises(error, match=match):
        patch_colour_histograms(images, **changes)


def two_colours(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Scenes of 4 patches holding red and blue: together in one patch (label 1) or
    in two patches (label 0). Both labels hold the same colours in the same amounts."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    images = np.zeros((n, 3, 4, 4), dtype=np.float32)
    for i, label in enumerate(labels):
        r, b = rng.permutation(4)[:2]
        b = r if label else b
        ry, rx = divmod(int(r), 2)
        by, bx = divmod(int(b), 2)
        images[i, 0, 2 * ry, 2 * rx : 2 * rx + 2] = 1.0  # red, top row of its patch
        images[i, 2, 2 * by + 1, 2 * bx : 2 * bx + 2] = 1.0  # blue, bottom row
    return patch_colour_histograms(images, patch=2, levels=2), labels


def test_the_patch_network_sees_colours_that_share_a_patch():
    hist, labels = two_colours(400, seed=0)
    test_hist, test_labels = two_colours(400, seed=1)
    # the whole image's histogram is the same for both labels: a linear probe guesses
    whole = linear_probe_accuracy(hist.mean(1), labels, test_hist.mean(1), test_labels)
    assert whole < 0.6
    for seed in range(4):  # whatever the initial weights (a hard max is not so robust)
        network = patch_network_accuracy(hist, labels, test_hist, test_labels, seed=seed)
        assert network > 0.95
    again = patch_network_accuracy(hist, labels, test_hist, test_labels, seed=3)
    assert network == again


def test_patch_network_inputs_are_checked():
    hist, labels = two_colours(10, seed=0)
    with pytest.raises(ValueError, match=r"train histograms must have shape"):
        patch_network_accuracy(hist[0], labels, hist, labels)
    with pytest.raises(ValueError, match=r"test labels must have shape \(10,\)"):
        patch_network_accuracy(hist, labels, hist, labels[:5])
    with pytest.raises(ValueError, match="train labels must be 0 or 1"):
        patch_network_accuracy(hist, labels + 1, hist, labels)
    with pytest.raises(ValueError, match="train has 8 colour bins, test has 4"):
        patch_network_accuracy(hist, labels, hist[:, :, :4], labels)
    with pytest.raises(ValueError, match="hidden must be a positive int"):
        patch_network_accuracy(hist, labels, hist, labels, hidden=0)
    with pytest.raises(TypeError, match="seed must be an int"):
        patch_network_accuracy(hist, labels, hist, labels, seed=0.5)
    with pytest.raises(ValueError, match="lr must be a positive number"):
        patch_network_accuracy(hist, labels, hist, labels, lr=0.0)
