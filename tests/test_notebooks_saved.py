"""The committed notebooks are saved as a learner should open them (``make notebooks``).

Executed top to bottom in order, with every explorer's saved output its static player
(a first frame that shows even untrusted) and no widget view or widget state that a
kernel-less JupyterLab would turn into controls that redraw nothing.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_saved_clean_and_in_order(path):
    nb = nbformat.read(path, as_version=4)
    assert "widgets" not in nb.metadata, "saved widget state: run `make notebooks`"
    assert nb.metadata["kernelspec"]["display_name"] == "Python 3 (ipykernel)"
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1)), f"execution counts {counts}"
    players = 0
    for i, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            assert "application/vnd.jupyter.widget-view+json" not in data, (
                f"cell {i} saves a widget view: run `make notebooks`"
            )
            assert output.get("output_type") != "error", f"cell {i} saved an error"
            html = data.get("text/html", "")
            if "explorer-static" in html:
                players += 1
                assert 'class="explorer-frame" src="data:image/png;base64,' in html
    explorers = sum("_explorer(" in c.source for c in nb.cells if c.cell_type == "code")
    assert players == explorers, f"{players} saved players for {explorers} explorers"
