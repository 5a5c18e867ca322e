import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.check import ClaimError, claim, exercise
from helpers.metrics import best_threshold_accuracy, colour_features, linear_probe_accuracy


def test_claim_prints_a_stable_line(capsys):
    claim("two is more than one", 2 > 1)
    assert capsys.readouterr().out == "CLAIM HOLDS: two is more than one\n"
    claim("numpy bools count", np.float64(0.9) > 0.5)


def test_false_claim_raises():
    with pytest.raises(ClaimError, match="CLAIM FAILED: one is more than two"):
        claim("one is more than two", 1 > 2)


@pytest.mark.parametrize("bad", [np.array([True, False]), 1, "yes", None])
def test_claim_needs_a_single_bool(bad):
    with pytest.raises(TypeError, match="single True/False"):
        claim("ambiguous", bad)


def test_exercise_feedback(capsys):
    exercise("Exercise 1", True, "look at the mask")
    exercise("Exercise 1", False, "look at the mask")
    out = capsys.readouterr().out.splitlines()
    assert out == ["Exercise 1: correct.", "Exercise 1: not yet. Hint: look at the mask"]


def test_threshold_accuracy_finds_a_perfect_rule():
    x = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    y = np.array([0, 0, 0, 1, 1, 1])
    assert best_threshold_accuracy(x, y, x, y) == 1.0
    assert best_threshold_accuracy(-x, y, -x, y) == 1.0  # the other direction


@given(st.integers(0, 2**31))
def test_threshold_accuracy_is_chance_on_noise(seed):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=400), rng.integers(0, 2, 400)
    tx, ty = rng.normal(size=2000), rng.integers(0, 2, 2000)
    assert 0.4 < best_threshold_accuracy(x, y, tx, ty) < 0.6


def test_linear_probe_separates_separable_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 3))
    y = (x @ [1.0, -2.0, 0.5] > 0).astype(int)
    assert linear_probe_accuracy(x, y, x, y) > 0.95


def test_metric_inputs_are_checked():
    with pytest.raises(ValueError, match="labels must be 0 or 1"):
        best_threshold_accuracy(np.ones(3), np.array([0, 1, 2]), np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match=r"labels of shape \(3,\)"):
        best_threshold_accuracy(np.ones(3), np.ones(4), np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="train has 2 features, test has 3"):
        linear_probe_accuracy(np.ones((4, 2)), np.ones(4), np.ones((4, 3)), np.ones(4))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        colour_features(np.ones((4, 48, 48)))
