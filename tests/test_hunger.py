import numpy as np
import pytest
from matplotlib.figure import Figure

from helpers.hunger import (
    REGIONS,
    SETTINGS,
    SIZES,
    TEST_SCENES,
    curve,
    draw_curves,
    epochs_for,
    hunger_run,
    hunger_scenes,
    hunger_test,
)
from helpers.models import MLP

# hunger_scenes draws all 8,000 training scenes of a seed on every call (about a
# second): the tests call it sparingly.


@pytest.fixture(scope="module")
def centred():
    return hunger_scenes("centred", 200, 0)


def test_constants():
    assert SIZES == tuple(sorted(SIZES)) and SIZES[-1] == 8000
    assert set(REGIONS) == {"centred", "anywhere"}
    assert set(SETTINGS) == {"bird_size", "distractors"}


@pytest.mark.parametrize(("n", "epochs"), [(500, 80), (1000, 40), (8000, 10), (1, 40_000)])
def test_epochs_for(n, epochs):
    assert epochs_for(n) == epochs


def test_epochs_for_never_below_ten():
    assert all(epochs_for(n) >= 10 for n in (4001, 8000, 10**6))
    assert all(epochs_for(n) * n >= 40_000 for n in (300, 500, 777, 4000))


@pytest.mark.parametrize("n", [0, -5, 2.5, "500", True])
def test_epochs_for_bad_n(n):
    with pytest.raises(ValueError, match="n must be a positive int"):
        epochs_for(n)


def test_training_sets_are_nested(centred):
    first = hunger_scenes("centred", 50, 0)
    assert len(first) == 50 and len(centred) == 200
    np.testing.assert_array_equal(first.images, centred.images[:50])
    np.testing.assert_array_equal(first.labels, centred.labels[:50])


def test_centred_birds_are_near_the_centre(centred):
    top, bottom, left, right = REGIONS["centred"]
    bird = centred.labels == 1
    assert np.isnan(centred.centers[~bird]).all()
    c = centred.centers[bird]
    pixel = 1 / 48  # a centre is the mask's centroid: within a pixel of the drawn one
    assert ((c[:, 0] >= top - pixel) & (c[:, 0] <= bottom + pixel)).all()
    assert ((c[:, 1] >= left - pixel) & (c[:, 1] <= right + pixel)).all()


def test_test_scenes_differ_from_training_scenes(centred):
    test = hunger_test("centred", 0)
    assert len(test) == TEST_SCENES
    assert not np.array_equal(test.images[:200], centred.images)
    train = {image.tobytes() for image in centred.images}
    assert not any(image.tobytes() in train for image in test.images)  # no shared scene


@pytest.mark.parametrize(
    ("where", "n", "seed", "match"),
    [
        ("middle", 100, 0, "where must be one of"),
        ("centred", 0, 0, "n must be an int from 1 to 8000"),
        ("centred", 8001, 0, "n must be an int from 1 to 8000"),
        ("centred", 10.0, 0, "n must be an int from 1 to 8000"),
        ("centred", 100, -1, "seed must be an int from 0 to 999"),
        ("centred", 100, 1000, "seed must be an int from 0 to 999"),
        ("centred", 100, "0", "seed must be an int from 0 to 999"),
    ],
)
def test_bad_hunger_scenes_arguments(where, n, seed, match):
    with pytest.raises(ValueError, match=match):
        hunger_scenes(where, n, seed)


def test_bad_hunger_test_arguments():
    with pytest.raises(ValueError, match="where must be one of"):
        hunger_test("everywhere", 0)
    with pytest.raises(ValueError, match="seed must be an int"):
        hunger_test("anywhere", True)


def test_hunger_run_trains_and_tests():
    make = lambda: MLP((8,))  # noqa: E731
    model, result = hunger_run(make, "centred", 64, 0, epochs=1, progress=False)
    assert isinstance(model, MLP)
    assert set(result) == {"accuracy", "recall", "false_alarm", "seconds", "epochs"}
    assert result["epochs"] == 1
    assert 0 <= result["accuracy"] <= 1 and result["seconds"] > 0


RESULTS = {
    "1000": {"0": {"accuracy": 0.7}, "1": {"accuracy": 0.8}, "2": {"accuracy": 0.9}},
    "500": {"0": {"accuracy": 0.6}, "1": {"accuracy": 0.5}},
}


def test_curve_sorts_sizes_and_summarises_seeds():
    c = curve(RESULTS)
    np.testing.assert_array_equal(c["sizes"], [500, 1000])
    np.testing.assert_allclose(c["mean"], [0.55, 0.8])
    np.testing.assert_allclose(c["low"], [0.5, 0.7])
    np.testing.assert_allclose(c["high"], [0.6, 0.9])


def test_curve_of_another_key():
    c = curve({500: {0: {"accuracy": 0.5, "recall": 0.25}}}, key="recall")
    np.testing.assert_allclose(c["mean"], [0.25])


@pytest.mark.parametrize(
    "results",
    [{}, {"500": {"0": {"recall": 0.5}}}, {"500": [0.5]}, {"500": {"0": None}}],
)
def test_curve_bad_results(results):
    with pytest.raises(ValueError, match="results"):
        curve(results)


def test_draw_curves():
    fig = Figure()
    ax = fig.add_subplot()
    curves = {"MLP centred": curve(RESULTS), "MLP anywhere": curve(RESULTS)}
    draw_curves(ax, curves)
    labels = [line.get_label() for line in ax.get_lines()]
    assert [x for x in labels if not x.startswith("_")] == list(curves)
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "training scenes" and ax.get_ylabel() == "test accuracy"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(curves)
