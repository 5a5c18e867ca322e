"""``make bench``: measure every budget of COURSE.md §7 and show where the time goes.

Measures, on whatever machine runs it (the GPU when one is present):

- each notebook executed in a fresh kernel, three times (median), with its kernel
  start and its slowest cells, and the kernel's peak memory; and whether the numbers
  it printed were identical over the three runs (a digest of each run's numbers:
  deterministic, proven, not assumed). Chapter 6 loads the models of chapters 4 and 5
  from ``helpers.zoo``: it runs three times more on a cold model cache (an empty
  ``$COURSE_ZOO`` each time, so it trains every model it needs), and its numbers must
  be the same, cold or warm;
- the whole course: every notebook executed and the book built, from a fresh copy of
  the repository with an empty execution cache and an empty model cache;
- 10,000 scenes generated (median of five);
- every explorer's live redraw, driven through its real widgets (median and 95th
  percentile over 50 slider moves), and each "parameters -> data to draw" function
  alone;
- each chapter's training, with its accuracy; the attention model against its
  training budget on three seeds.

Writes benchmarks/results.json, prints the verdicts as a table, writes that table into
benchmarks/README.md (between its ``bench`` markers) and exits 1 when a budget fails.

``python benchmarks/bench.py --notebook PATH`` executes one notebook in a fresh
kernel and prints its timings as JSON; ``--course`` builds the whole book from a
fresh copy. The benchmark runs both that way, in a child process, so that each peak
memory it reports is that run's own.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results.json"
README = ROOT / "benchmarks" / "README.md"
MARKERS = ("<!-- bench:start -->", "<!-- bench:end -->")
NOTEBOOK_RUNS = 3
SCENE_RUNS = 5
REDRAWS = 50
BUDGET_SEEDS = (0, 1, 2)

sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "experiments")]
import budgets  # noqa: E402


def peak_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident memory in MB of this process (or of its largest child)."""
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports kB


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


# ----------------------------------------------------------------------------------
# Notebooks, each in a fresh kernel (run in a child process), and the whole course.


def run_notebook(path: Path) -> dict[str, Any]:
    """Execute one notebook in a fresh kernel: total and per-cell seconds, kernel peak."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=900,
        kernel_name="python3",
        record_timing=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    seconds, _ = timed(client.execute)
    cells = []
    for i, cell in enumerate(nb.cells):
        stamps = cell.metadata.get("execution", {})
        if "iopub.execute_input" in stamps and "shell.execute_reply" in stamps:
            start, end = (
                datetime.datetime.fromisoformat(stamps[k].replace("Z", "+00:00"))
                for k in ("iopub.execute_input", "shell.execute_reply")
            )
            first = cell.source.strip().splitlines()[0][:60] if cell.source.strip() else ""
            cells.append(
                {"cell": i, "code": first, "seconds": (end - start).total_seconds()}
            )
    in_cells = sum(c["seconds"] for c in cells)
    numbers = budgets.printed_numbers(nb)
    return {
        "seconds": seconds,
        "digest": budgets.digest(numbers),  # determinism: equal over runs
        "numbers": len(numbers),
        "cells_seconds": in_cells,
        "outside_cells": seconds - in_cells,  # kernel start, imports' set-up, shutdown
        "slowest": sorted(cells, key=lambda c: -c["seconds"])[:3],
        "kernel_peak_mb": peak_mb(resource.RUSAGE_CHILDREN),
    }


def _summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = [r["seconds"] for r in results]
    middle = results[int(np.argsort(seconds)[len(seconds) // 2])]
    return {
        "runs": seconds,
        **budgets.summary(seconds),
        "outside_cells": middle["outside_cells"],
        "slowest": middle["slowest"],
        "kernel_peak_mb": max(r["kernel_peak_mb"] for r in results),
        "digests": [r["digest"] for r in results],
        "numbers": middle["numbers"],
    }


def notebooks(runs: int) -> dict[str, Any]:
    """Every notebook ``runs`` times in fresh kernels (after the chapters' trainings
    filled the model cache), then chapter 6 ``runs`` times on an empty model cache."""
    from tqdm.auto import tqdm

    paths = sorted((ROOT / "notebooks").glob("*.ipynb"))
    answer = ROOT / "notebooks" / f"{budgets.COLD_NOTEBOOK}.ipynb"
    out: dict[str, Any] = {}
    with tqdm(total=runs * (len(paths) + 1), desc="notebooks (fresh kernels)") as bar:
        for path in paths:
            results = []
            for _ in range(runs):
                results.append(in_child("--notebook", str(path)))
                bar.update(1)
            out[path.stem] = _summarise(results)
        cold = []
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as empty:
                cold.append(in_child("--notebook", str(answer), zoo=empty))
            bar.update(1)
        out[budgets.COLD_NOTEBOOK + budgets.COLD] = _summarise(cold)
    return out


def in_child(*args: str, zoo: str | None = None) -> dict[str, Any]:
    """Run this script with ``args`` in a child process (so that its peak memory is
    its own) and return the JSON it prints; ``zoo``: the model cache it uses."""
    env = {**os.environ, **({"COURSE_ZOO": zoo} if zoo else {})}
    child = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, cwd=ROOT, env=env
    )
    if child.returncode:
        raise RuntimeError(f"{' '.join(args)} failed:\n{child.stderr[-3000:]}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def build_course() -> dict[str, Any]:
    """Build the whole book from a fresh copy (empty execution and model caches):
    every notebook executes, and chapter 6 loads the models chapters 4 and 5 stored."""
    files = subprocess.run(  # what a fresh clone holds, and new files not yet committed
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout.split("\0")
    with tempfile.TemporaryDirectory() as tmp:
        for name in files:
            if name and (ROOT / name).is_file():
                (Path(tmp) / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, Path(tmp) / name)
        shutil.copytree(ROOT / "_mathjax", Path(tmp) / "_mathjax")
        jb = Path(sys.executable).with_name("jupyter-book")
        zoo = {**os.environ, "COURSE_ZOO": str(Path(tmp) / ".zoo")}
        seconds, child = timed(
            lambda: subprocess.run(
                [str(jb), "build", tmp, "--warningiserror", "--keep-going"],
                capture_output=True,
                text=True,
                env=zoo,
            )
        )
        if child.returncode:
            raise RuntimeError(
                f"the book build failed:\n{(child.stdout + child.stderr)[-3000:]}"
            )
    return {"seconds": seconds, "peak_mb": peak_mb(resource.RUSAGE_CHILDREN)}


def course() -> dict[str, Any]:
    print("building the whole book from a fresh copy (about 3 minutes) ...", flush=True)
    return in_child("--course")


# ----------------------------------------------------------------------------------
# Scenes, trainings, redraws: in this process.


def scenes(runs: int) -> dict[str, Any]:
    from helpers.scenes import make_scenes

    make_scenes(100)  # warm up numpy's code paths
    times = [timed(lambda: make_scenes(budgets.SCENES))[0] for _ in range(runs)]
    return {**budgets.summary(times), "scenes": budgets.SCENES, "runs": times}


def chapter1() -> tuple[dict[str, Any], Any]:
    """Chapter 1's training, as the notebook runs it: logistic regression by SGD."""
    from helpers.logistic import centred_scenes, features, predict, train_logistic

    train, test = centred_scenes(3000, seed=11), centred_scenes(1000, seed=12)
    X = features(train.images)
    mean = X.mean(axis=0)
    X, X_test = X - mean, features(test.images) - mean
    seconds, run = timed(
        lambda: train_logistic(
            X,
            train.labels,
            lr=0.1,
            batch_size=32,
            epochs=10,
            snapshot_steps=(5, 10, 20, 40, 80, 160, 320, 640),
            progress=False,
        )
    )
    accuracy = float((predict(run, X_test) == test.labels).mean())
    return {"seconds": seconds, "test_accuracy": accuracy}, (run, X, train.labels)


def chapter2() -> tuple[dict[str, Any], Any]:
    """Chapter 2's training, as the notebook runs it: the MLP on 2,000 centred birds."""
    from helpers.hunger import hunger_run
    from helpers.models import MLP

    mlp, result = hunger_run(MLP, "centred", 2000, seed=0, progress=False)
    return {"seconds": result["seconds"], "test_accuracy": result["accuracy"]}, mlp


def chapter3() -> tuple[dict[str, Any], Any]:
    """Chapter 3's training, as the notebook runs it: the CNN on 2,000 birds anywhere."""
    from helpers.hunger import hunger_run
    from helpers.models import PooledCNN
    from helpers.train import CNN_LR

    cnn, result = hunger_run(
        lambda: PooledCNN("avg"), "anywhere", 2000, seed=0, lr=CNN_LR, progress=False
    )
    return {"seconds": result["seconds"], "test_accuracy": result["accuracy"]}, cnn


def chapter4() -> tuple[dict[str, Any], Any]:
    """Chapter 4's training, as the notebook runs it: three heads, one backbone."""
    import torch

    from helpers.left_right import position_data
    from helpers.pooling_heads import position_experiment

    data = position_data(seed=0)
    probe = data["left"][data["left"].labels == 1][4]
    snapshots = []

    def record(epoch: int, heads: dict) -> None:
        image = torch.from_numpy(probe.images)
        maps = {n: m.pool_weights(image)[0].numpy() for n, m in heads.items()}
        snapshots.append({"epoch": epoch, "maps": maps})

    heads, result = position_experiment(seed=0, data=data, on_epoch=record, progress=False)
    accuracy = {
        half: {name: result[half][name]["accuracy"] for name in heads}
        for half in ("left", "right")
    }
    summary = {"seconds": result["seconds"], "test_accuracy": accuracy}
    return summary, (heads, snapshots, probe)


def chapter5() -> tuple[dict[str, Any], Any]:
    """Chapter 5's trainings, as the notebook runs them: two hybrid ViTs on left-half
    birds (learned positions and none), then the pure ViT on 2,000 birds anywhere."""
    from helpers.hunger import hunger_run
    from helpers.left_right import position_data
    from helpers.models import ViT
    from helpers.train import VIT_LR
    from helpers.vit_positions import position_run

    vits, result = position_run(0, data=position_data(seed=0), progress=False)
    accuracy = {
        half: {name: result[half][name]["accuracy"] for name in vits}
        for half in ("left", "right")
    }
    _, pure = hunger_run(
        lambda: ViT(stem="patches"), "anywhere", 2000, seed=0, lr=VIT_LR, progress=False
    )
    summary = {
        "hybrids": {"seconds": result["seconds"], "test_accuracy": accuracy},
        "pure": {"seconds": pure["seconds"], "test_accuracy": pure["accuracy"]},
    }
    return summary, vits["learned"]


def chapter6(ch4: Any, ch5: Any) -> tuple[dict[str, Any], Any]:
    """Chapter 6's own training (its recipe: a flatten -> linear readout on chapter 4's
    backbone, frozen, left-half birds), and the five models its explorer shows."""
    from helpers.comparators import flatten_on_backbone

    flatten, info = flatten_on_backbone(ch4[0]["avg"].backbone, 0, progress=False)
    accuracy = {
        half: {"flatten": info[half]["flatten"]["accuracy"]} for half in ("left", "right")
    }
    models = {"flatten": flatten, **ch4[0], "vit": ch5}
    return {"seconds": info["seconds"], "test_accuracy": accuracy}, models


def budget_model() -> dict[str, Any]:
    from budget import BUDGET_CLUTTER
    from budget import run as budget_run
    from tqdm.auto import tqdm

    from helpers.train import device

    seeds = {str(s): budget_run(s) for s in tqdm(BUDGET_SEEDS, desc="attention model")}
    return {"distractors": list(BUDGET_CLUTTER), "device": device().type, "seeds": seeds}


def _controls(widget: Any) -> list[Any]:
    """The sliders, drop-downs and check boxes inside a live explorer."""
    import ipywidgets as w

    kinds = (w.FloatSlider, w.IntSlider, w.FloatLogSlider, w.Checkbox, w.Dropdown)
    kinds += (w.SelectionSlider,)
    if isinstance(widget, kinds):
        return [widget]
    return [c for child in getattr(widget, "children", ()) for c in _controls(child)]


def _move(control: Any, rng: np.random.Generator) -> None:
    """Give a control a new value, as a reader dragging it would."""
    import ipywidgets as w

    before = control.value
    if isinstance(control, w.Checkbox):
        control.value = not control.value
    elif isinstance(control, (w.Dropdown, w.SelectionSlider)):
        choices = [i for i in range(len(control.options)) if i != control.index]
        control.index = int(rng.choice(choices))
    else:
        steps = int(round((control.max - control.min) / control.step))
        values = control.min + control.step * np.arange(steps + 1)
        if isinstance(control, w.FloatLogSlider):  # min, max and step are exponents
            values = control.base**values
        choices = [v for v in values if not np.isclose(v, control.value)]
        control.value = float(rng.choice(choices))
    if control.value == before:
        raise RuntimeError(f"moving {control.description!r} did not change its value")


def redraw_times(explorer: Any, n: int, seed: int = 0) -> dict[str, float]:
    """Milliseconds per live redraw: ``n`` moves of randomly chosen controls."""
    rng = np.random.default_rng(seed)
    controls = _controls(explorer.widget)
    if not controls:
        raise ValueError(f"{explorer!r} has no controls to move")
    times = []
    for _ in range(n):
        control = controls[rng.integers(len(controls))]
        times.append(1000 * timed(lambda c=control: _move(c, rng))[0])
    return budgets.summary(times)


def frame_times(frame: Callable[[np.random.Generator], Any], n: int) -> dict[str, float]:
    """Milliseconds per call of a "parameters -> data to draw" function."""
    rng = np.random.default_rng(0)
    return budgets.summary([1000 * timed(lambda: frame(rng))[0] for _ in range(n)])


def widgets(ch1: Any, ch2: Any, ch3: Any, ch4: Any, ch5: Any, ch6: Any) -> dict[str, Any]:
    from tqdm.auto import tqdm

    from helpers.explorers.class_activation import cnn_move_explorer, cnn_move_frame
    from helpers.explorers.depth import depth_explorer
    from helpers.explorers.every_model import answer_explorer, answer_frame
    from helpers.explorers.filters import filter_explorer, filter_frame
    from helpers.explorers.gradient_descent import (
        nudge_explorer,
        nudge_frame,
        sgd_explorer,
        sgd_frame,
    )
    from helpers.explorers.mlp_saliency import move_explorer, move_frame
    from helpers.explorers.pooling_heads import (
        context_explorer,
        epoch_explorer,
        heads_explorer,
        heads_frame,
        temperature_explorer,
    )
    from helpers.explorers.scene import scene_explorer, scene_frame
    from helpers.explorers.vit_attention import (
        token_explorer,
        token_frame,
        vit_move_explorer,
        vit_move_frame,
    )
    from helpers.initialisation import depth_frame
    from helpers.models import ACTIVATIONS, INITS

    run, X, y = ch1
    heads, snapshots, probe = ch4
    steps = sorted(run.snapshots)
    explorers: dict[str, tuple[Callable[[], Any], Callable | None]] = {
        "scene (ch. 0)": (
            scene_explorer,
            lambda r: scene_frame(*r.uniform(0, 1, 2), distractors=int(r.integers(11))),
        ),
        "nudge (ch. 1)": (
            lambda: nudge_explorer(run.w, run.b, X, y, channel=1, row=11, col=12),
            lambda r: nudge_frame(
                run.w, run.b, X, y, row=int(r.integers(24)), delta=r.uniform(-0.5, 0.5)
            ),
        ),
        "SGD (ch. 1)": (
            lambda: sgd_explorer(run),
            lambda r: sgd_frame(run, int(r.choice(steps))),
        ),
        "depth (ch. 2)": (
            depth_explorer,
            lambda r: depth_frame(
                int(r.integers(1, 21)), str(r.choice(ACTIVATIONS)), str(r.choice(INITS))
            ),
        ),
        "move the bird (ch. 2)": (
            lambda: move_explorer(ch2),
            lambda r: move_frame(ch2, *r.uniform(0.25, 0.75, 2)),
        ),
        "filters (ch. 3)": (
            lambda: filter_explorer(ch3),
            lambda r: filter_frame(ch3, int(r.integers(16))),
        ),
        "move the bird (ch. 3)": (
            lambda: cnn_move_explorer(ch3),
            lambda r: cnn_move_frame(ch3, *r.uniform(0.25, 0.75, 2)),
        ),
        "heads (ch. 4)": (
            lambda: heads_explorer(heads),
            lambda r: heads_frame(heads, *r.uniform(0.15, 0.85, 2)),
        ),
        "temperature (ch. 4)": (
            lambda: temperature_explorer(heads),
            lambda r: heads_frame(heads, 0.5, 0.7, temperature=2 ** r.uniform(-2, 2)),
        ),
        "context (ch. 4)": (lambda: context_explorer(heads["attention"]), None),
        "epoch (ch. 4)": (
            lambda: epoch_explorer(snapshots, probe.images[0], probe.masks[0]),
            None,
        ),
        "token (ch. 5)": (
            lambda: token_explorer(ch5),
            lambda r: token_frame(
                ch5, int(r.integers(37)), int(r.integers(2)), *r.uniform(0.2, 0.8, 2)
            ),
        ),
        "move the bird (ch. 5)": (
            lambda: vit_move_explorer(ch5),
            lambda r: vit_move_frame(ch5, *r.uniform(0.2, 0.8, 2)),
        ),
        "every model's map (ch. 6)": (
            lambda: answer_explorer(ch6),
            lambda r: answer_frame(ch6, *r.uniform(0.2, 0.8, 2)),
        ),
    }
    out = {}
    for name, (make, frame) in tqdm(explorers.items(), desc="explorers"):
        out[name] = {"redraw": redraw_times(make(), REDRAWS)}
        if frame is not None:
            out[name]["frame"] = frame_times(frame, REDRAWS)
    return out


def machine() -> dict[str, Any]:
    import torch
    from chapter4 import commit
    from chapter4 import machine as describe

    info = describe()
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return {**info, "commit": commit()}


def trained_device(heads: dict) -> dict[str, str]:
    import torch

    from helpers.train import device

    used = {str(next(m.parameters()).device.type) for m in heads.values()}
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    return {"expected": expected, "used": ",".join(sorted(used)), "helpers": device().type}


def write_readme(text: str, info: dict[str, Any], date: str) -> None:
    """Put the latest table, with the machine that made it, between the markers of
    benchmarks/README.md."""
    readme = README.read_text()
    start, end = readme.find(MARKERS[0]), readme.find(MARKERS[1])
    if start < 0 or end < start:
        print(f"{README} has no {MARKERS} block; table not written there")
        return
    where = info.get("gpu", f"{info['cpus']} CPU cores, no GPU")
    block = f"{MARKERS[0]}\n`make bench` on {date}, {where} ({info['processor']}):\n\n"
    README.write_text(readme[:start] + block + text + "\n" + readme[end:])


def main() -> int:
    if not (ROOT / "_mathjax").is_dir():
        sys.exit("the book's MathJax is missing: run `make bench`, which installs it")
    start = time.perf_counter()
    date = datetime.date.today().isoformat()
    results: dict[str, Any] = {"made_by": "benchmarks/bench.py", "date": date}
    results["machine"] = machine()
    print(f"machine: {results['machine']}", flush=True)
    results["scenes"] = scenes(SCENE_RUNS)
    print(f"10,000 scenes: median {results['scenes']['median']:.2f} s", flush=True)
    ch1, ch1_state = chapter1()
    ch2, ch2_state = chapter2()
    ch3, ch3_state = chapter3()
    ch4, ch4_state = chapter4()
    ch5, ch5_state = chapter5()
    ch6, ch6_state = chapter6(ch4_state, ch5_state)
    results["device"] = trained_device(ch4_state[0])
    results["widgets"] = widgets(
        ch1_state, ch2_state, ch3_state, ch4_state, ch5_state, ch6_state
    )
    results["training"] = {
        "chapter 1 (logistic regression, SGD)": ch1,
        "chapter 2 (MLP, 2,000 centred birds)": ch2,
        "chapter 3 (CNN, 2,000 birds anywhere)": ch3,
        "chapter 4 (three heads, shared backbone)": ch4,
        "chapter 5 (two hybrid ViTs, left-half birds)": ch5["hybrids"],
        "chapter 5 (pure ViT, 2,000 birds anywhere)": ch5["pure"],
        "chapter 6 (flatten readout on chapter 4's backbone, left-half birds)": ch6,
        "budget": budget_model(),
    }
    results["bench_peak_mb"] = peak_mb()
    results["notebooks"] = notebooks(NOTEBOOK_RUNS)
    results["course"] = course()
    results["budgets"] = budgets.verdicts(results)
    results["passed"] = all(row["passed"] for row in results["budgets"])
    results["seconds"] = time.perf_counter() - start
    OUT.write_text(json.dumps(results, indent=1) + "\n")
    text = budgets.table(results["budgets"] + budgets.facts(results))
    print(text)
    write_readme(text, results["machine"], date)
    print(f"{'PASSED' if results['passed'] else 'FAILED'}; wrote {OUT.relative_to(ROOT)}")
    return 0 if results["passed"] else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebook", type=Path, help="execute one notebook, print JSON")
    parser.add_argument("--course", action="store_true", help="build the book, print JSON")
    args = parser.parse_args()
    if args.notebook:
        print(json.dumps(run_notebook(args.notebook.resolve())))
    elif args.course:
        print(json.dumps(build_course()))
    else:
        sys.exit(main())
