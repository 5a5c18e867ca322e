import math
import os

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from helpers.left_right import recall_by_position
from helpers.pooling_heads import (
    heads_live_table,
    heads_over_seeds,
    heads_seeds_table,
    three_heads,
)
from helpers.results import EXPERIMENTS, load
from helpers.scenes import make_scenes
from helpers.tables import Table, spread


@given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=20))
def test_spread_shows_mean_and_range(values):
    text = spread(values, digits=3)
    mean, rest = text.split(" (")
    lo, hi = rest.rstrip(")").split("\u2013")
    assert math.isclose(
        float(mean), np.mean(values), abs_tol=1e-3 + 1e-9 * abs(np.mean(values))
    )
    assert float(lo) == round(min(values), 3) and float(hi) == round(max(values), 3)


def test_spread_of_one_value_and_bad_input():
    assert spread([0.5]) == "0.50"
    with pytest.raises(ValueError, match="at least one value"):
        spread([])
    with pytest.raises(ValueError, match="non-negative int"):
        spread([1.0], digits=-1)


def test_table_html_and_text():
    t = Table(
        ["head", "accuracy"], [["mask", "0.87"], ["attention <b>", "0.95"]], caption="c"
    )
    html = t._repr_html_()
    assert html.startswith('<table class="results"><caption>c</caption>')
    assert html.count("<tr>") == 3 and '<th scope="row">mask</th>' in html
    assert "attention &lt;b&gt;" in html  # cells are escaped
    lines = repr(t).splitlines()
    assert lines[0] == "c" and lines[1].split() == ["head", "accuracy"]
    assert len({len(line) for line in lines[1:]}) == 1  # aligned
    with pytest.raises(ValueError, match="row 0 has 1 cells, expected 2"):
        Table(["a", "b"], [["x"]])
    with pytest.raises(ValueError, match="at least one column"):
        Table([], [])


def test_results_are_found_from_any_folder(tmp_path):
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        committed = load("chapter4")
    finally:
        os.chdir(here)
    assert committed["seeds"] and (EXPERIMENTS / "chapter4.json").exists()
    with pytest.raises(FileNotFoundError, match="make experiments"):
        load("no_such_results")
    with pytest.raises(ValueError, match="results name"):
        load("../secrets")


def test_committed_tables():
    committed = load("chapter4")
    values = heads_over_seeds(committed, "circular", "right", "mask", "accuracy")
    assert len(values) == len(committed["seeds"])
    table = heads_seeds_table(committed, "circular", "right")
    assert [row[0] for row in table.rows] == ["average", "fixed mask", "attention"]
    assert table.rows[1][1] == spread(values)
    with pytest.raises(ValueError, match="variant must be one of"):
        heads_over_seeds(committed, "nope", "left", "mask", "accuracy")
    with pytest.raises(ValueError, match="half must be"):
        heads_over_seeds(committed, "circular", "top", "mask", "accuracy")
    live = heads_live_table(committed["circular"]["0"]["left"], caption="seed 0")
    assert live.columns[-2:] == ["flat", "times flat"] and len(live.rows) == 3


def test_recall_by_position_bins_the_birds():
    scenes = make_scenes(60, distractors=1, seed=5)
    heads = three_heads()
    got = recall_by_position(heads, scenes, bins=4)
    x = scenes.centers[scenes.labels == 1, 1]
    assert np.allclose(got["edges"], np.linspace(x.min(), x.max(), 5))
    assert got["counts"].sum() == scenes.labels.sum()
    for r in got["recall"].values():
        ok = ~np.isnan(r)
        assert ((r[ok] >= 0) & (r[ok] <= 1)).all()
        assert np.isnan(r[got["counts"] == 0]).all()
    with pytest.raises(ValueError, match="positive int"):
        recall_by_position(heads, scenes, bins=0)
    empty = make_scenes(4, seed=1)
    empty.labels[:] = 0
    with pytest.raises(ValueError, match="holding birds"):
        recall_by_position(heads, empty)
    assert torch.is_grad_enabled()
