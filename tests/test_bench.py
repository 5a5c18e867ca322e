"""The benchmark's judging (benchmarks/budgets.py) and its widget driver (bench.py).

The benchmark's timings are not tested here (timed tests flake on shared machines);
what is tested is that a measurement over a budget fails, one under it passes, and
that the redraw driver really moves an explorer's controls.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench  # noqa: E402
import budgets  # noqa: E402


def passing() -> dict:
    """Measurements that meet every budget."""
    return {
        "notebooks": {
            "00_bird_scenes": {
                "median": 15.0,
                "kernel_peak_mb": 400.0,
                "digests": ["a1", "a1", "a1"],
                "numbers": 40,
            },
            "04_attention": {
                "median": 100.0,
                "kernel_peak_mb": 900.0,
                "digests": ["b2", "b2", "b2"],
                "numbers": 300,
            },
        },
        "course": {"seconds": 300.0, "peak_mb": 1000.0},
        "scenes": {"median": 2.0},
        "widgets": {
            "scene": {
                "redraw": {"median": 10.0, "p95": 20.0},
                "frame": {"median": 4.0, "p95": 5.0},
            }
        },
        "training": {
            "chapter 1": {"seconds": 1.4, "test_accuracy": 0.772},
            "chapter 4": {
                "seconds": 50.0,
                "test_accuracy": {
                    "left": {"avg": 0.95, "attention": 0.96},
                    "right": {"avg": 0.93, "attention": 0.95},
                },
            },
            "budget": {
                "device": "cpu",
                "seeds": {"0": {"accuracy": 0.966, "seconds": 43.0}},
            },
        },
        "device": {"expected": "cpu", "used": "cpu"},
        "bench_peak_mb": 700.0,
    }


def failed(results: dict) -> list[str]:
    return [row["budget"] for row in budgets.verdicts(results) if not row["passed"]]


def test_every_budget_passes_when_met():
    rows = budgets.verdicts(passing())
    assert all(row["passed"] for row in rows)
    # 2 notebooks (time, numbers), course, scenes, 1 widget, 2 for the model, device
    assert len(rows) == 10


@pytest.mark.parametrize(
    "path, inside, outside, which",
    [
        (("notebooks", "00_bird_scenes", "median"), 59.9, 60.0, "notebook 00_bird_scenes"),
        (("notebooks", "04_attention", "median"), 119.9, 120.0, "notebook 04_attention"),
        (("course", "seconds"), 359.9, 360.0, "whole course"),
        (("scenes", "median"), 2.99, 3.0, "10,000 scenes"),
        (("widgets", "scene", "redraw", "p95"), 99.9, 100.0, "redraw: scene"),
        (("training", "budget", "seeds", "0", "accuracy"), 0.95, 0.9499, "0: accuracy"),
        (("training", "budget", "seeds", "0", "seconds"), 59.9, 60.0, "0: training time"),
        (("device", "used"), "cpu", "cuda", "GPU"),
    ],
)
def test_each_budget_holds_just_inside_and_fails_alone_just_outside(
    path, inside, outside, which
):
    for value, fails in ((inside, False), (outside, True)):
        results = copy.deepcopy(passing())
        place = results
        for key in path[:-1]:
            place = place[key]
        place[path[-1]] = value
        names = failed(results)
        assert len(names) == fails and all(which in name for name in names), value


def test_chapter_4_has_its_own_ceiling():
    results = passing()
    results["notebooks"]["00_bird_scenes"]["median"] = 100.0  # fine for chapter 4 only
    assert failed(results) == ["notebook 00_bird_scenes (median of runs)"]


@given(st.lists(st.floats(0, 1e4), min_size=1, max_size=60))
def test_summary_median_and_p95_lie_within_the_timings(times):
    s = budgets.summary(times)
    assert min(times) <= s["median"] <= s["p95"] <= max(times)
    assert s["n"] == len(times)


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [[1.0, 2.0]]])
def test_summary_rejects_bad_timings(bad):
    with pytest.raises(ValueError, match="non-empty list of numbers"):
        budgets.summary(bad)


def test_table_marks_failures_and_facts():
    results = passing()
    results["scenes"]["median"] = 3.5
    text = budgets.table(budgets.verdicts(results) + budgets.facts(results))
    lines = text.splitlines()
    assert lines[0].startswith("| what | budget | measured |")
    (fail,) = [line for line in lines if "**FAIL**" in line]
    assert "10,000 scenes" in fail and "3.5 s" in fail
    assert any("chapter 4" in line and "attention 0.960 / 0.950" in line for line in lines)
    assert any("largest notebook kernel 900 MB" in line for line in lines)
    (redraw,) = [line for line in lines if "redraw: scene" in line]
    assert "20.0 ms (median 10.0 ms; frame function 4.0 ms)" in redraw


def test_redraw_driver_moves_every_control_of_a_real_explorer():
    from helpers.explorers.scene import scene_explorer

    explorer = scene_explorer(frames=2)
    controls = bench._controls(explorer.widget)
    assert {c.description for c in controls} == {"y", "x", "bird size", "distractors"}
    (picture,) = [c for c in explorer.widget.children if hasattr(c, "format")]
    before = [c.value for c in controls]
    rng = np.random.default_rng(0)
    for control in controls:
        shown = picture.value
        bench._move(control, rng)
        assert picture.value != shown  # the move redrew the scene
    assert all(c.value != b for c, b in zip(controls, before, strict=True))
    assert bench.redraw_times(explorer, 5)["n"] == 5


def test_redraw_driver_moves_every_kind_of_control_within_its_range():
    import ipywidgets as w

    controls = [
        w.FloatLogSlider(1.0, base=2, min=-2, max=2, step=0.25),
        w.Dropdown(options=[("red", 0), ("green", 1), ("blue", 2)], value=1),
        w.SelectionSlider(options=[0, 5, 10, 20], value=20),
        w.Checkbox(True),
        w.IntSlider(3, min=0, max=10),
    ]
    seen = {id(c): set() for c in controls}
    for c in controls:
        c.observe(lambda change, c=c: seen[id(c)].add(change["new"]), names="value")
    rng = np.random.default_rng(1)
    for _ in range(40):
        for c in controls:
            bench._move(c, rng)
    log, drop, select, box, ints = (seen[id(c)] for c in controls)
    assert min(log) == 0.25 and max(log) == 4.0 and len(log) == 17  # 2^-2 .. 2^2
    assert drop == {0, 1, 2} and select == {0, 5, 10, 20} and box == {True, False}
    assert ints <= set(range(11)) and len(ints) > 5


def test_redraw_driver_refuses_an_explorer_without_controls():
    class Bare:
        widget = None

    with pytest.raises(ValueError, match="no controls"):
        bench.redraw_times(Bare(), 3)


def test_a_notebook_whose_numbers_change_between_runs_fails():
    results = copy.deepcopy(passing())
    results["notebooks"]["04_attention"]["digests"] = ["b2", "b2", "c3"]
    assert failed(results) == ["notebook 04_attention: printed numbers, run to run"]


def test_printed_numbers_are_what_a_reader_reads():
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="accuracy 0.957, 3 seeds\n"),
        nbformat.v4.new_output("stream", name="stderr", text="12.3 it/s\n"),
        nbformat.v4.new_output(
            "display_data",
            data={"text/plain": "0%| 0/564 [00:01]", budgets._WIDGET: {"model_id": "x"}},
        ),
        nbformat.v4.new_output(
            "execute_result",
            data={
                "text/plain": "<Table>",
                "text/html": "<td>0.61 (0.57–0.65)</td>"
                '<img src="data:image/png;base64,AB12">'
                "<script>var a = 5;</script>",
            },
            execution_count=1,
        ),
    ]
    nb.cells = [cell]
    numbers = budgets.printed_numbers(nb)
    assert numbers == ["0:0.957", "0:3", "0:0.61", "0:0.57", "0:0.65"]
    changed = copy.deepcopy(nb)
    changed.cells[0].outputs[0]["text"] = "accuracy 0.958, 3 seeds\n"
    assert budgets.digest(budgets.printed_numbers(changed)) != budgets.digest(numbers)


def test_chapter6_on_a_cold_model_cache_has_its_own_budget_and_same_numbers():
    results = passing()
    answer = {"kernel_peak_mb": 900.0, "digests": ["c3"] * 3, "numbers": 80}
    results["notebooks"]["06_answer"] = {**answer, "median": 20.0}
    cold = budgets.COLD_NOTEBOOK + budgets.COLD
    results["notebooks"][cold] = {**answer, "median": 100.0}  # under 120 s
    rows = {row["budget"]: row for row in budgets.verdicts(results)}
    assert not failed(results)
    assert rows[f"notebook {cold} (median of runs)"]["limit"] == "< 120 s"
    assert rows["notebook 06_answer (median of runs)"]["limit"] == "< 60 s"
    too_slow = copy.deepcopy(results)
    too_slow["notebooks"][cold]["median"] = 130.0
    assert failed(too_slow) == [f"notebook {cold} (median of runs)"]
    other = copy.deepcopy(results)
    other["notebooks"][cold]["digests"] = ["d4"] * 3  # cold prints other numbers
    assert failed(other) == ["notebook 06_answer: printed numbers, cold vs warm cache"]
