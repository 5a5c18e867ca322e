"""Every explorer live in a real JupyterLab: each of its controls redraws its picture.

``tests/lab.py`` starts JupyterLab from this environment on a *trusted* temporary
copy of the notebooks (as ``make lab`` opens them), headless, isolated from the
machine's Jupyter configuration; Debian's Chromium, driven by Playwright, opens each
notebook and runs all its cells. Then every explorer in it (every output that holds a
widget view beside static HTML: a ``helpers.explorers.framework.Explorer``, found in the
notebook's outputs in the page, so a new chapter's explorers join without editing
this test) is now the live ipywidgets view, and each of its controls is moved, and
moved back:

- a slider (each ``.noUi-handle``) by an arrow key, in the direction that changes its
  value (a slider at its end goes the other way), then by the opposite key;
- a dropdown (``select``) to its next option, then back; a checkbox or a toggle
  button clicked twice; a group of toggle or radio buttons to another choice and back;
  a number box by the up and down keys; a text box by a letter typed and erased.

A control of another kind (a button: it has no value to follow) is not moved: it is
named in a warning and in the summary. Each move must change the explorer's picture
(the ``src`` of its ``img`` elements, or an ``img`` added or removed), with no Python
error from the kernel (an ``error`` message, or anything on stderr, while the move is
handled: the kernel's messages are followed in the page, since a widget callback's
traceback goes to no cell) and no traceback in the notebook's outputs; the page may
log no JavaScript error. A control whose value stays under both keys fails too. A
move that does not redraw fails fast: once the kernel has handled it (busy, then
idle) and the picture has not changed within :data:`GRACE_MS`.

A redraw's latency is the time from the key press (or click) to the last picture
change it causes (the kernel idle again, and no further change for
:data:`QUIET_MS`), measured in the page; the table of all of them (with each
notebook's time to open, run and explore) is printed at the end of the run (a
section of pytest's summary) and written, as JSON and as text, to the run's
temporary folder. Latencies are reported, not judged: the budget of COURSE.md §7 is
measured by ``make bench``.

The notebooks come from ``notebooks/``, or from the folder named by ``LAB_NOTEBOOKS``
(e.g. a copy with a deliberately broken explorer:
``LAB_NOTEBOOKS=/tmp/nb .venv/bin/python -m pytest tests/test_lab_live.py``). The
served files are copies: the notebooks themselves are never modified. The server, and
its kernels, stop when the module's tests end, also when one fails.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import time
import warnings
from contextlib import suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest

from lab import (
    cell,
    cell_errors,
    chromium,
    explorers,
    live_explorers,
    open_notebook,
    run_all_cells,
    shutdown_kernel,
    start_lab,
    wait_kernel_idle,
)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = Path(os.environ.get("LAB_NOTEBOOKS") or ROOT / "notebooks")
NAMES = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))

RUN_ALL_MS = 600_000
"""Running all of one notebook's cells (chapter 4 trains a model: about a minute)."""
REDRAW_MS = 15_000
"""From a control's move to its explorer's first picture change (a redraw's budget is
100 ms; this only bounds a wait on a loaded machine)."""
GRACE_MS = 2_000
"""After the kernel handled a move (busy, then idle), how long its picture may take to
change (a redraw is synchronous: its picture comes before the kernel is idle)."""
QUIET_MS = 300
"""A redraw is over when the kernel is idle and no picture changed for this long."""

# A cell that calls an explorer builder (not one that defines or imports one).
_CALL = re.compile(r"^(?!\s*(?:def|class|import|from)\b).*\b\w+_explorer\(", re.M)

# In the page: listen to the kernel's messages once, for Python errors during a move.
_LISTEN = """() => {
    const kernel = jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    const live = (window.__live = {kernel, errors: [], busyAt: 0, idleAt: 0});
    kernel.statusChanged.connect((_, status) => {
        if (status === "busy") live.busyAt = performance.now();
        if (status === "idle") live.idleAt = performance.now();
    });
    kernel.iopubMessage.connect((_, msg) => {
        const type = msg.header.msg_type, content = msg.content;
        if (type === "error") {
            live.errors.push(`${content.ename}: ${content.evalue}`);
        } else if (type === "stream" && content.name === "stderr") {
            live.errors.push(content.text);
        }
    });
}"""

# What can be moved in one explorer's output: each control tagged for a locator.
_CONTROLS = r"""(out) => {
    const shown = (el) => el.getClientRects().length > 0 && !el.disabled
        && !el.closest("[disabled]");
    const clean = (text) => (text || "").replace(/[\s\u200b]+/g, " ").trim();
    const label = (el) => {
        // the nearest widget label (a description), else the control's own text
        for (let e = el; e && e !== out; e = e.parentElement) {
            const text = clean(e.querySelector(":scope > .widget-label")?.textContent);
            if (text) return text;
        }
        const box = el.closest(".widget-inline-hbox");
        return clean(box?.querySelector(".widget-label-basic")?.textContent)
            || clean(el.textContent)
            || clean(el.getAttribute("aria-label"));
    };
    const controls = [], handled = new Set();
    const add = (el, kind, parts) => {
        if (handled.has(el)) return;
        for (const part of parts || [el]) handled.add(part);
        if (!shown(el)) return;
        el.dataset.liveControl = String(controls.length);
        let name = label(el);
        const handles = el.closest(".noUi-target")?.querySelectorAll(".noUi-handle");
        if (handles?.length > 1) name += ` (handle ${Number(el.dataset.handle) + 1})`;
        controls.push({id: controls.length, kind, label: name});
    };
    const all = (sel) => Array.from(out.querySelectorAll(sel));
    all(".noUi-handle").forEach((el) => add(el, "slider"));
    all("select").forEach((el) => add(el, "select"));
    all(".widget-toggle-buttons, .widget-radio-box").forEach((el) =>
        add(el, "choice", [el, ...el.querySelectorAll("button, input")]));
    all("input[type=checkbox]").forEach((el) => add(el, "checkbox"));
    all("button.widget-toggle-button").forEach((el) => add(el, "toggle"));
    all("input[type=number]").forEach((el) => add(el, "number"));
    all("input[type=text], textarea").forEach((el) => add(el, "text"));
    const others = all("button, input, textarea, [role=slider], [role=button]")
        .filter((el) => !handled.has(el) && shown(el))
        .map((el) => `${el.tagName.toLowerCase()} ${label(el)}`.trim());
    const pictures = all("img").filter((img) => img.getAttribute("src")).length;
    return {controls, others, pictures};
}"""

# A control's value as shown, to tell whether a move moved it.
_VALUE = """(el) => {
    if (el.classList.contains("noUi-handle")) {
        const readout = el.closest(".widget-slider")?.querySelector(".widget-readout");
        return `${el.getAttribute("aria-valuenow")} ${readout?.textContent || ""}`;
    }
    if (el.tagName === "SELECT") {
        return Array.from(el.selectedOptions).map((o) => o.value).join(",");
    }
    if (el.type === "checkbox") return String(el.checked);
    if (["number", "text", "textarea"].includes(el.type)) return el.value;
    if (el.tagName === "BUTTON") return String(el.classList.contains("mod-active"));
    return Array.from(el.querySelectorAll("button.mod-active, input:checked"))
        .map((e) => e.value || e.textContent).join(",");
}"""

# Before a move: note when it starts (the first event on the explorer) and when its
# pictures change (any img's src, or an img added or removed), and its Python errors.
_ARM = """(out) => {
    const live = window.__live;
    const sig = () => Array.from(out.querySelectorAll("img"))
        .map((img) => img.getAttribute("src")).join(" ");
    live.armed = performance.now();
    live.t0 = null;
    live.changes = [];
    live.from = live.errors.length;
    live.last = sig();
    live.start = () => { if (live.t0 === null) live.t0 = performance.now(); };
    live.events = ["keydown", "pointerdown", "mousedown", "input", "change", "click"];
    for (const type of live.events) out.addEventListener(type, live.start, true);
    live.observer = new MutationObserver(() => {
        const now = sig();
        if (now !== live.last) { live.last = now; live.changes.push(performance.now()); }
    });
    live.observer.observe(out, {
        subtree: true, childList: true, attributes: true, attributeFilter: ["src"],
    });
    live.out = out;
}"""

# The move has an answer: a picture changed, Python said something on stderr, or the
# kernel handled the move (busy, then idle) and nothing changed for GRACE_MS after.
_ANSWERED = """(grace) => {
    const live = window.__live;
    const handled = live.busyAt > live.armed && live.idleAt > live.busyAt
        && live.kernel.status === "idle" && performance.now() - live.idleAt > grace;
    return live.changes.length > 0 || live.errors.length > live.from || handled;
}"""

# The move is over: the kernel is idle and nothing changed for QUIET_MS.
_SETTLED = """(quiet) => {
    const live = window.__live;
    const last = Math.max(live.armed, live.t0 || 0, ...live.changes);
    return live.kernel.status === "idle" && performance.now() - last > quiet;
}"""

_DISARM = """() => {
    const live = window.__live;
    live.observer.disconnect();
    for (const type of live.events) live.out.removeEventListener(type, live.start, true);
    return {
        t0: live.t0 ?? live.armed,
        changes: live.changes,
        errors: live.errors.slice(live.from),
        kernel: live.kernel.status,
    };
}"""

# Console errors that are not the course's: none so far. Each entry needs a comment
# that says why it is harmless.
_HARMLESS: list[re.Pattern[str]] = []


@dataclass
class Redraw:
    """One move of one control and what it did."""

    notebook: str
    explorer: str
    control: str
    before: str
    after: str
    first_ms: float | None = None
    """From the move to the first picture change."""
    last_ms: float | None = None
    """From the move to the last picture change it caused: the redraw's latency."""
    changes: int = 0


class _Summary:
    """Collects redraws; a pytest plugin that prints their table at the end of the run
    and writes it, with every redraw as JSON, to ``folder``."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.redraws: list[Redraw] = []
        self.times: dict[str, dict[str, float]] = {}
        self.unmoved: list[str] = []
        """Controls found but not moved (a button: no value to follow)."""
        """notebook -> seconds spent on each step of its test."""

    def table(self) -> list[str]:
        rows = [("notebook", "explorer", "controls moved", "redraws", "median", "max")]
        groups: dict[tuple[str, str], list[Redraw]] = {}
        for r in self.redraws:
            groups.setdefault((r.notebook, r.explorer), []).append(r)
        for (notebook, explorer), group in groups.items():
            controls = list(dict.fromkeys(r.control for r in group))
            times = [r.last_ms for r in group if r.last_ms is not None]
            rows.append(
                (
                    Path(notebook).stem,
                    explorer,
                    ", ".join(controls),
                    str(len(times)),
                    f"{statistics.median(times):.0f} ms" if times else "-",
                    f"{max(times):.0f} ms" if times else "-",
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        return [
            "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
            for row in rows
        ]

    def write(self) -> None:
        (self.folder / "redraws.json").write_text(
            json.dumps([asdict(r) for r in self.redraws], indent=1)
        )
        (self.folder / "redraws.txt").write_text("\n".join(self.lines()) + "\n")

    def lines(self) -> list[str]:
        steps = [
            f"{Path(n).stem}: " + ", ".join(f"{k} {v:.0f} s" for k, v in t.items())
            for n, t in self.times.items()
        ]
        unmoved = [f"not moved: {u}" for u in self.unmoved]
        return [*self.table(), "", *steps, *unmoved]

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.redraws:
            return
        terminalreporter.section("live explorers: redraw latency (move -> last picture)")
        for line in self.lines():
            terminalreporter.write_line(line)
        terminalreporter.write_line(f"every redraw: {self.folder / 'redraws.json'}")


@pytest.fixture(scope="module")
def summary(request, tmp_path_factory):
    """The redraws of this module's tests, printed at the end of the run."""
    collected = _Summary(tmp_path_factory.mktemp("lab_live"))
    request.config.pluginmanager.register(collected, f"lab-live-summary-{id(collected)}")
    yield collected
    collected.write()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on a trusted copy (as ``make lab``); stopped even when a test fails."""
    server = start_lab(NOTEBOOKS, tmp_path_factory.mktemp("live_lab"), trusted=True)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def test_there_are_notebooks():
    assert NAMES, f"no notebook in {NOTEBOOKS}"


def _expected(path: Path) -> dict[int, str]:
    """Cells that must hold a live explorer once run: those with one in their saved
    outputs, and those whose code calls an explorer builder."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    found = {i: f"saved output {name!r}" for i, _, name in explorers(path)}
    for i, c in enumerate(cells):
        source = "".join(c.get("source", ""))
        if c.get("cell_type") == "code" and (call := _CALL.search(source)):
            found.setdefault(i, f"calls {call.group(0).strip()!r}")
    return found


@pytest.mark.parametrize("name", NAMES)
def test_every_live_explorer_redraws_on_every_control(lab, browser, summary, name):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    console: list[str] = []
    page.on(
        "console",
        lambda m: (
            console.append(f"{m.text} ({m.location.get('url', '')})")
            if m.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda e: console.append(f"uncaught: {e}"))
    times = summary.times.setdefault(name, {})
    start = time.monotonic()

    def step(what: str) -> None:
        nonlocal start
        times[what] = time.monotonic() - start
        start = time.monotonic()

    try:
        notebook = open_notebook(page, lab, name, timeout=60_000)
        wait_kernel_idle(page)
        page.evaluate(_LISTEN)
        step("open")
        ran = run_all_cells(page, timeout=RUN_ALL_MS)
        step("run all")
        errors = cell_errors(page)
        if not ran or errors:
            pytest.fail(f"{name}: running all cells failed: {errors}", pytrace=False)
        found = live_explorers(page)
        live = {i for i, _, _ in found}
        missing = {i: why for i, why in _expected(lab.root / name).items() if i not in live}
        if missing:
            pytest.fail(
                f"{name}: no live explorer (a widget view beside static HTML) in the "
                f"outputs of cells {missing} after running all cells",
                pytrace=False,
            )
        if not found:
            pytest.skip(f"{name} has no explorer")
        problems = []
        for index, k, explorer in found:
            problems += _drive(page, notebook, name, index, k, explorer, summary)
        step("explorers")
        problems += [f"cell {i}: {error}" for i, error in cell_errors(page)]
        problems += [
            f"JavaScript console error: {text}"
            for text in console
            if not any(p.search(text) for p in _HARMLESS)
        ]
        if problems:
            pytest.fail(f"{name}:\n" + "\n".join(problems), pytrace=False)
    finally:
        with suppress(Exception):
            shutdown_kernel(page)
        page.close()


def _drive(page, notebook, name, index, k, explorer, summary) -> list[str]:
    """Move every control of the explorer in cell ``index`` (output ``k``) and back;
    its problems, each a line that says where."""
    where = f"cell {index} ({explorer})"
    box = cell(notebook, index)
    output = box.locator(".jp-OutputArea-child").nth(k).locator(".jp-OutputArea-output")
    try:
        output.locator(".jupyter-widgets").first.wait_for(timeout=30_000)
        output.locator("img[src]").first.wait_for(timeout=30_000)
    except Exception:
        text = " ".join(output.inner_text(timeout=5_000).split())[:200]
        return [f"{where}: not live after its cell ran (no picture in a widget): {text!r}"]
    found = output.evaluate(_CONTROLS)
    for other in found["others"]:  # e.g. a button (it has no value to follow)
        summary.unmoved.append(f"{Path(name).stem} {where}: {other}")
        warnings.warn(
            f"{name} {where}: a control this test does not move: {other!r}",
            pytest.PytestWarning,
            stacklevel=1,
        )
    problems = []
    if not found["controls"]:
        problems.append(f"{where}: no control to move")
    for control in found["controls"]:
        target = output.locator(f'[data-live-control="{control["id"]}"]')
        label = control["label"] or control["kind"]
        redraws, trouble = _move_and_back(page, output, target, control["kind"])
        for r in redraws:
            r.notebook, r.explorer, r.control = name, explorer, label
            summary.redraws.append(r)
        problems += [f"{where}, {control['kind']} {label!r}: {t}" for t in trouble]
    problems += [
        f"{where}: a traceback in its output: {text.strip().splitlines()[-1]!r}"
        for text in box.locator(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
        ).all_inner_texts()
        if "Traceback" in text or "Error" in text
    ]
    return problems


def _act(page, target, kind: str, direction: int) -> None:
    """One move of a control, forwards (``direction`` 1) or backwards (-1)."""
    if kind == "slider":
        target.press("ArrowRight" if direction > 0 else "ArrowLeft")
    elif kind == "select":
        n = target.evaluate("(el) => el.options.length")
        i = target.evaluate("(el) => el.selectedIndex")
        target.select_option(index=(i + direction) % n)
    elif kind in ("checkbox", "toggle"):
        target.click()
    elif kind == "choice":
        options = target.locator("button, input")
        n = options.count()
        i = target.evaluate(
            """(el) => Array.from(el.querySelectorAll("button, input")).findIndex(
                (e) => e.classList.contains("mod-active") || e.checked)"""
        )
        options.nth((max(i, 0) + direction) % n).click()
    elif kind == "number":
        target.press("ArrowUp" if direction > 0 else "ArrowDown")
        target.press("Enter")
    elif kind == "text":
        value = target.input_value()
        target.fill(value + "x" if direction > 0 else value[:-1])
        target.press("Enter")
    else:
        raise ValueError(f"unknown control kind {kind!r}")


def _move_and_back(page, output, target, kind) -> tuple[list[Redraw], list[str]]:
    """Move a control in a direction that changes its value, then back; each move
    must redraw. Returns the redraws and the problems."""
    redraws, problems = [], []
    direction = 1
    for attempt in range(3):
        before = target.evaluate(_VALUE)
        output.evaluate(_ARM)
        _act(page, target, kind, direction)
        page.wait_for_timeout(50)  # the control's own echo (a slider's readout)
        after = target.evaluate(_VALUE)
        if after == before:
            with suppress(Exception):  # in case it redrew all the same
                page.wait_for_function(_SETTLED, arg=QUIET_MS, timeout=REDRAW_MS)
            page.evaluate(_DISARM)
            if attempt == 0:  # at an end: the other way
                direction = -direction
                continue
            problems.append(f"does not move ({before!r} stays)")
            break
        redraw, trouble = _await_redraw(page, before, after)
        redraws.append(redraw)
        problems += trouble
        if trouble or len(redraws) == 2:
            break
        direction = -direction  # and back
    return redraws, problems


def _await_redraw(page, before: str, after: str) -> tuple[Redraw, list[str]]:
    """Wait for the redraw of a move that changed a control's value ``before`` ->
    ``after``; the redraw and its problems."""
    answered = False
    with suppress(Exception):
        page.wait_for_function(_ANSWERED, arg=GRACE_MS, timeout=REDRAW_MS, polling=10)
        answered = True
    with suppress(Exception):
        page.wait_for_function(_SETTLED, arg=QUIET_MS, timeout=REDRAW_MS, polling=20)
    state = page.evaluate(_DISARM)
    moved, problems = f"{before!r} -> {after!r}", []
    if state["errors"]:
        lines = "".join(state["errors"]).strip().splitlines() or ["?"]
        problems.append(f"{moved}: Python wrote to stderr: {lines[-1]!r}")
    elif not state["changes"] and answered:
        problems.append(
            f"{moved}: its picture did not change (the kernel handled the move)"
        )
    elif not state["changes"]:
        problems.append(
            f"{moved}: its picture did not change within {REDRAW_MS} ms "
            f"(kernel {state['kernel']})"
        )
    changes = state["changes"]
    redraw = Redraw(
        "",
        "",
        "",
        before,
        after,
        first_ms=round(changes[0] - state["t0"], 1) if changes else None,
        last_ms=round(changes[-1] - state["t0"], 1) if changes else None,
        changes=len(changes),
    )
    return redraw, problems
