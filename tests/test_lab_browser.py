"""Every explorer in a real JupyterLab, in an untrusted notebook, before any cell runs.

A fresh clone's notebooks are untrusted: JupyterLab renders the static HTML half of
each explorer (a ``helpers.explorers.framework.Explorer``) sanitized, without its
script. Each explorer must still show something useful there (COURSE.md §6): its first
frame as a picture that loads, and the line :data:`helpers.explorers.framework.NOTE`
saying to run the cell.

How: ``tests/lab.py`` starts JupyterLab from this environment, headless, with an
isolated configuration (no trust database, workspace or setting of the machine) on a
temporary copy of the notebooks; Debian's Chromium, driven by Playwright, opens each
notebook (``?reset``: no old tabs) and, without running anything, scrolls to every
explorer found in the notebook's saved outputs and checks what it shows. A screenshot
of each explorer goes to the test's temporary folder (named in a failure).

The notebooks come from ``notebooks/``, or from the folder named by the environment
variable ``LAB_NOTEBOOKS`` (e.g. freshly executed copies:
``LAB_NOTEBOOKS=/tmp/nb .venv/bin/python -m pytest tests/test_lab_browser.py``).
The served files are copies: the notebooks themselves are never modified.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbformat.sign import NotebookNotary

from helpers.explorers.framework import NOTE
from lab import cell, chromium, explorers, open_notebook, start_lab

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = Path(os.environ.get("LAB_NOTEBOOKS") or ROOT / "notebooks")
NAMES = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))

# What one explorer shows; run in the page on its output (the static HTML, sanitized).
_FACTS = r"""async (out) => {
    const frame = out.querySelector("img.explorer-frame");
    const note = out.querySelector(".explorer-note");
    const shown = (el) => !!el && el.getClientRects().length > 0
        && getComputedStyle(el).visibility !== "hidden";
    let natural = 0;
    if (frame) {
        try { await frame.decode(); natural = frame.naturalWidth; } catch (e) {}
    }
    const box = frame ? frame.getBoundingClientRect() : {width: 0, height: 0};
    return {
        frame: !!frame,
        src: frame ? (frame.getAttribute("src") || "").slice(0, 30) : null,
        natural: natural,
        width: Math.round(box.width), height: Math.round(box.height),
        frameShown: shown(frame),
        note: note ? note.textContent.trim() : null,
        noteShown: shown(note),
        deadControls: Array.from(out.querySelectorAll("button, input, select"))
            .filter(shown).length,
        text: out.textContent.replace(/\s+/g, " ").trim().slice(0, 120),
    };
}"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on an untrusted copy of the notebooks; stopped even when a test fails."""
    server = start_lab(NOTEBOOKS, tmp_path_factory.mktemp("lab"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def untrusted_views(lab, browser, tmp_path_factory):
    """name -> what each explorer of that notebook shows, looked at once per notebook."""
    shots = tmp_path_factory.mktemp("lab_screenshots")
    cache: dict[str, list[dict]] = {}

    def view(name: str) -> list[dict]:
        if name not in cache:
            cache[name] = _look(lab, browser, name, shots)
        return cache[name]

    return view


def _look(lab, browser, name: str, shots: Path) -> list[dict]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        notebook = open_notebook(page, lab, name, timeout=60_000)
        notary = NotebookNotary(data_dir=lab.env["JUPYTER_DATA_DIR"])
        signed = notary.check_signature(nbformat.read(lab.root / name, as_version=4))
        assert not signed, f"{name} is trusted by the test's server: it must not be"
        views = []
        for index, k, explorer in explorers(lab.root / name):
            where = f"{name} cell {index} ({explorer})"
            box = cell(notebook, index)
            output = box.locator(".jp-OutputArea-child").nth(k)
            output = output.locator(".jp-OutputArea-output")
            output.wait_for(timeout=30_000)
            output.locator("xpath=./*").first.wait_for(timeout=30_000)  # rendered
            facts = output.evaluate(_FACTS)
            shot = shots / f"{Path(name).stem}_cell{index}.png"
            box.screenshot(path=str(shot))
            views.append({"where": where, "shot": str(shot), **facts})
        return views
    finally:
        page.close()


def test_there_are_notebooks_with_explorers():
    assert NAMES, f"no notebook in {NOTEBOOKS}"
    found = sum(len(explorers(NOTEBOOKS / n)) for n in NAMES)
    assert found, f"no explorer in the saved outputs of {NOTEBOOKS}: execute them first"


def _problems(v: dict) -> list[str]:
    if not v["frame"]:
        return [
            "no img.explorer-frame in its saved output (an old player? re-execute the "
            f"notebook); it shows {v['text']!r}"
        ]
    found = []
    if not v["natural"]:
        found.append(f"its first frame does not load (src {v['src']!r})")
    if not v["frameShown"] or min(v["width"], v["height"]) < 50:
        found.append(f"its first frame is not shown ({v['width']}x{v['height']} px)")
    if v["note"] != NOTE or not v["noteShown"]:
        found.append(f"no visible line {NOTE!r} (found {v['note']!r})")
    return found


@pytest.mark.parametrize("name", NAMES)
def test_untrusted_explorer_shows_its_first_frame(untrusted_views, name):
    views = untrusted_views(name)
    if not views:
        pytest.skip(f"{name} has no explorer in its saved outputs")
    failures = [
        f"{v['where']}: {p} (screenshot {v['shot']})" for v in views for p in _problems(v)
    ]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", NAMES)
def test_untrusted_explorer_shows_no_dead_controls(untrusted_views, name):
    """Without its script the player cannot move: no button or slider may show."""
    views = [v for v in untrusted_views(name) if v["frame"]]
    if not views:
        pytest.skip(f"{name} has no explorer with a first frame in its saved outputs")
    failures = [
        f"{v['where']}: {v['deadControls']} controls shown that cannot work "
        f"(JupyterLab's sanitizer drops the `hidden` attribute; screenshot {v['shot']})"
        for v in views
        if v["deadControls"]
    ]
    assert not failures, "\n".join(failures)


def test_lab_serves_copies(lab):
    """The server serves copies in a temporary folder, never the notebooks themselves."""
    assert lab.root.resolve() != NOTEBOOKS.resolve()
    assert sorted(p.name for p in lab.root.glob("*.ipynb")) == NAMES


@pytest.fixture(scope="module")
def trusted_lab(tmp_path_factory):
    """JupyterLab on a trusted copy, as ``make lab`` opens the notebooks."""
    server = start_lab(NOTEBOOKS, tmp_path_factory.mktemp("trusted_lab"), trusted=True)
    yield server
    server.stop()


def test_trusted_explorer_plays_before_its_cell_runs(trusted_lab, browser):
    """Trusted (``make lab``), the saved player runs: its controls show, the note goes,
    and its next-frame button changes the picture, all before any cell runs."""
    name = next((n for n in NAMES if explorers(NOTEBOOKS / n)), None)
    if name is None:
        pytest.skip("no explorer in the saved outputs")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        notebook = open_notebook(page, trusted_lab, name, timeout=60_000)
        index, k, explorer = explorers(trusted_lab.root / name)[0]
        output = cell(notebook, index).locator(".jp-OutputArea-child").nth(k)
        player = output.locator("div.explorer-static")
        player.wait_for(timeout=30_000)
        frame = player.locator("img.explorer-frame")
        before = frame.get_attribute("src")
        assert player.locator(".explorer-controls").is_visible(), f"{explorer}: no controls"
        assert not player.locator(".explorer-note").count(), f"{explorer}: note left"
        player.locator('button[aria-label="next frame"]').click()
        assert frame.get_attribute("src") != before, f"{explorer}: next did not move"
    finally:
        page.close()
