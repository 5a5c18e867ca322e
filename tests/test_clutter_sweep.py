"""helpers.clutter_sweep: bird size x clutter, each readout with its own backbone."""

import pytest

from helpers.clutter_sweep import (
    SWEEP_SETTINGS,
    bird_share,
    sweep_over_seeds,
    sweep_run,
    sweep_scenes,
    sweep_table,
)
from helpers.comparators import COMPARATORS
from helpers.scenes import make_scenes


def test_settings_go_from_chapter_4_to_small_birds_in_heavy_clutter():
    assert list(SWEEP_SETTINGS)[0] == "chapter 4"
    shares = {
        s: bird_share(sweep_scenes(s, 0, n_train=8, n_test=300)["test"])
        for s in SWEEP_SETTINGS
    }
    assert shares["small birds"] < 0.5 * shares["chapter 4"]
    low, high = (
        SWEEP_SETTINGS["chapter 4"]["distractors"],
        SWEEP_SETTINGS["heavy clutter"]["distractors"],
    )
    assert high[0] > low[1]
    with pytest.raises(ValueError, match="setting must be one of"):
        sweep_scenes("fog", 0)
    with pytest.raises(ValueError, match="holding birds"):
        bird_share(_no_birds())


def _no_birds():
    scenes = make_scenes(6, seed=0)
    return scenes[scenes.labels == 0]


def test_sweep_run_trains_each_readout_on_its_own():
    data = sweep_scenes("heavy clutter", 0, n_train=64, n_test=40)
    found = sweep_run(
        "heavy clutter", 0, names=("max", "attention"), data=data, epochs=1, progress=False
    )
    assert set(found) == {"bird_share", "max", "attention"}
    assert set(found["max"]) == {"accuracy", "recall", "false_alarm", "seconds"}
    with pytest.raises(ValueError, match="unknown readouts"):
        sweep_run("heavy clutter", 0, names=("median",), data=data)


def test_the_table_reads_every_setting_and_seed():
    runs = {
        s: {
            str(seed): {"bird_share": 0.02, **{n: {"accuracy": 0.9} for n in COMPARATORS}}
            for seed in (0, 1)
        }
        for s in SWEEP_SETTINGS
    }
    committed = {"seeds": [0, 1], "runs": runs}
    assert sweep_over_seeds(committed, "heavy clutter", "max") == [0.9, 0.9]
    table = sweep_table(committed)
    assert len(table.rows) == len(COMPARATORS)
    assert table.rows[0][0] == "flatten" and "chapter 4 2.0%" in table.caption
    with pytest.raises(ValueError, match="unknown setting"):
        sweep_over_seeds(committed, "fog", "max")
