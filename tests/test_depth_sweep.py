import numpy as np
import pytest

from helpers.depth_sweep import (
    DEPTH_NETS,
    DEPTH_SWEEP,
    best_lr,
    depth_net,
    depth_sweep_scenes,
    train_depth_net,
)
from helpers.models import MLP
from helpers.residual import ResidualMLP
from helpers.scenes import make_scenes

RESIDUAL = "15 residual + norm, ReLU, He"
SHALLOW = "2 plain, ReLU, He"


@pytest.fixture(scope="module")
def small():
    scenes = make_scenes(160, seed=5)
    return {"train": scenes[:100], "validation": scenes[100:130], "test": scenes[130:]}


def run(name, small, **kwargs):
    settings = {"steps": 12, "every": 4, "batch_size": 16, "scenes": small}
    return train_depth_net(name, 0.03, 0, **{**settings, **kwargs, "progress": False})


def test_every_net_is_256_wide_with_its_depth():
    for name, (kind, depth, activation, init) in DEPTH_NETS.items():
        net = depth_net(name, seed=1)
        assert isinstance(net, MLP if kind == "plain" else ResidualMLP)
        hidden = len(net.layers) - 1 if kind == "plain" else net.hidden_layers
        assert hidden == depth
        assert (net.activation, net.init) == (activation, init)
        first = net.layers[0] if kind == "plain" else net.first
        assert first.weight.shape == (256, 3 * 48 * 48)


def test_the_sweep_scenes_are_split_and_fresh():
    data = depth_sweep_scenes(1)
    assert [len(data[k]) for k in ("train", "validation", "test")] == [7000, 1000, 2000]
    assert DEPTH_SWEEP["train"] == 7000
    seen = {s.tobytes() for s in data["train"].images[:500]}
    assert not any(s.tobytes() in seen for s in data["validation"].images)
    assert not any(s.tobytes() in seen for s in data["test"].images)


def test_records_every_few_steps(small):
    r = run(SHALLOW, small)
    assert r["step"] == [4, 8, 12]
    assert len(r["loss"]) == len(r["validation"]) == len(r["test"]) == 3
    assert all(0 <= a <= 1 for a in r["validation"] + r["test"])
    assert r["diverged"] is False and r["seconds"] > 0


def test_training_is_deterministic_and_until_is_a_prefix(small):
    full = run(RESIDUAL, small)
    again = run(RESIDUAL, small)
    first = run(RESIDUAL, small, until=8)
    assert full["loss"] == again["loss"] and full["test"] == again["test"]
    assert first["step"] == [4, 8]
    assert first["loss"] == full["loss"][:2]
    assert first["validation"] == full["validation"][:2]


def test_the_step_size_decays_to_zero(small):
    """A run of 8 steps and the first 8 of a run of 12 differ: the schedule does."""
    short = run(SHALLOW, small, steps=8, every=1)
    prefix = run(SHALLOW, small, until=8, every=1)
    assert short["loss"][:2] == prefix["loss"][:2]  # both first steps are lr
    assert short["loss"][2] != prefix["loss"][2]  # then lr (1 - 1/8) vs lr (1 - 1/12)


def test_shallow_net_learns_on_a_small_set(small):
    r = run(SHALLOW, small, steps=60, every=20)
    assert r["loss"][-1] < r["loss"][0]


def test_a_diverged_run_stops_and_says_so(small):
    r = train_depth_net(
        "15 plain, ReLU, He", 1e4, 0, steps=8, every=4, batch_size=16, scenes=small
    )
    assert r["diverged"] is True
    assert r["loss"][-1] is None and len(r["test"]) == 2


def test_best_lr_by_final_validation_accuracy():
    def rec(*acc, diverged=False):
        return {"validation": list(acc), "diverged": diverged}

    assert best_lr({"0.01": rec(0.9, 0.7), "0.03": rec(0.5, 0.8)}) == "0.03"
    assert best_lr({"0.09": rec(0.8), "0.01": rec(0.8)}) == "0.01"  # a tie: smaller
    assert best_lr({"0.09": rec(0.5, diverged=True), "0.01": rec(0.6)}) == "0.01"
    with pytest.raises(ValueError, match="every run diverged"):
        best_lr({"0.09": rec(0.5, diverged=True)})
    with pytest.raises(ValueError, match="at least one"):
        best_lr({})


def test_bad_arguments(small):
    with pytest.raises(ValueError, match="name must be one of"):
        depth_net("20 plain")
    with pytest.raises(ValueError, match="name must be one of"):
        run("20 plain", small)
    for lr in (0, -1.0, float("nan"), True):
        with pytest.raises(ValueError, match="lr must be a positive number"):
            train_depth_net(SHALLOW, lr, 0, scenes=small)
    with pytest.raises(ValueError, match=r"until \(13\) must be at most steps \(12\)"):
        run(SHALLOW, small, until=13)
    with pytest.raises(ValueError, match="every must be a positive int"):
        run(SHALLOW, small, every=0)
    with pytest.raises(ValueError, match="batch_size 200 is more than the 100 scenes"):
        run(SHALLOW, small, batch_size=200)
    with pytest.raises(ValueError, match="train, validation and test"):
        run(SHALLOW, small, scenes={"train": small["train"]})
    assert np.isfinite(run(SHALLOW, small, steps=4)["loss"][-1])
