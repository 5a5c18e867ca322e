"""Execute the course's notebooks in place and save them as a learner should get them.

    python tools/execute_notebooks.py [notebooks/NN_name.ipynb ...]   (default: all)

``make notebooks`` runs it. Each notebook runs top to bottom in a fresh kernel from
its own folder (so nbval, which compares against these saved outputs, sees what a
learner sees); then what would mislead a learner who opens it before running it goes:

- the ipywidgets view of every explorer's output and the notebook's saved widget
  state: without a kernel, JupyterLab would rebuild each widget from that state and
  show controls that move but redraw nothing. Without them, an explorer's saved
  output is its static player (helpers.explorers.framework.scrubber), which works
  in a trusted notebook and shows its first frame in an untrusted one; running the
  cell brings the live widget back;
- the cells' execution timestamps (noise in every diff);
- and the kernel's display name is JupyterLab's own ("Python 3 (ipykernel)"), so
  opening a notebook does not mark it modified.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
KERNELSPEC = {
    "display_name": "Python 3 (ipykernel)",
    "language": "python",
    "name": "python3",
}


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop widget views, widget state and timestamps; set the kernel's name."""
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", []):
            output.get("data", {}).pop(WIDGET_VIEW, None)
    return nb


def execute(path: Path) -> float:
    """Run ``path`` in place (a fresh kernel, its own folder); return the seconds."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(
        nb,
        timeout=900,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    nbformat.write(clean(nb), path)
    return time.perf_counter() - start


def main(paths: list[str]) -> None:
    notebooks = [Path(p).resolve() for p in paths] or sorted(ROOT.glob("notebooks/*.ipynb"))
    for path in notebooks:
        print(f"{path.relative_to(ROOT)}: {execute(path):.0f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
