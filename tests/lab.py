"""A real JupyterLab for browser tests (not a test module: pytest collects test_*.py).

:func:`start_lab` serves a temporary copy of a notebooks folder from a headless
JupyterLab of this environment, with its own configuration, data, runtime, settings
and workspaces folders: no trust database, secret, old workspace or user setting of
the machine leaks in, so the served notebooks are *untrusted* (as a fresh clone's are)
unless ``trusted=True`` signs them with ``jupyter trust`` in that isolated data folder.
The server listens on 127.0.0.1 with a random token, on a port the OS picks; its
process group is killed by :meth:`Lab.stop` (call it from a fixture's finalizer).

:func:`chromium` launches Debian's Chromium through Playwright (never a downloaded
browser); :func:`open_notebook`, :func:`cell`, :func:`wait_kernel_idle` and
:func:`run_all_cells` drive JupyterLab's page (:func:`shutdown_kernel` ends its
kernel), :func:`explorers` finds the explorers in a notebook's saved outputs and
:func:`live_explorers` those in its outputs after its cells ran, and
:func:`cell_errors` the errors among them. The app is exposed in the page as
``window.jupyterapp`` (its commands, e.g. ``jupyterapp.commands.execute(...)`` in
``page.evaluate``, and the current notebook's widgets and kernel).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEW = "application/vnd.jupyter.widget-view+json"


@dataclass
class Lab:
    """A running JupyterLab: its base ``url``, ``token``, served ``root`` and ``log``."""

    url: str
    token: str
    root: Path
    log: Path
    env: dict[str, str]
    process: subprocess.Popen = field(repr=False)

    def notebook_url(self, name: str) -> str:
        """The notebook's page; ``reset`` opens a clean workspace (no old tabs)."""
        return f"{self.url}/lab/tree/{quote(name)}?reset&token={self.token}"

    def api(self, path: str) -> Any:
        """GET ``/api/<path>`` as JSON (e.g. ``"kernels"``)."""
        request = urllib.request.Request(
            f"{self.url}/api/{path}", headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def log_text(self) -> str:
        """The server's and its kernels' log so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        """Stop the server (it shuts its kernels down), then kill its process group."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


def _die_with_parent() -> None:
    """In the server's process: get SIGTERM when the test process dies, even killed
    (Linux's PR_SET_PDEATHSIG), so no server outlives an interrupted test run."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))


def _isolated_env(home: Path) -> dict[str, str]:
    dirs = {
        "JUPYTER_CONFIG_DIR": home / "config",
        "JUPYTER_DATA_DIR": home / "data",
        "JUPYTER_RUNTIME_DIR": home / "runtime",
        "JUPYTERLAB_SETTINGS_DIR": home / "settings",
        "JUPYTERLAB_WORKSPACES_DIR": home / "workspaces",
        "IPYTHONDIR": home / "ipython",
    }
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    env.update({k: str(v) for k, v in dirs.items()})
    env["PYTHONHASHSEED"] = "0"
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def start_lab(
    notebooks: Path,
    home: Path,
    *,
    trusted: bool = False,
    timeout: float = 60.0,
) -> Lab:
    """Serve a copy of ``notebooks`` (its ``*.ipynb``) from a fresh JupyterLab.

    Args:
        notebooks: the folder to copy (the committed ``notebooks/`` or an override).
        home: an empty temporary folder for the copy and all of Jupyter's state.
        trusted: sign the copies with ``jupyter trust`` (as ``make lab`` does).
        timeout: seconds to wait for the server to answer.

    Raises:
        RuntimeError: the server exited or did not answer in time (with its log).
    """
    root = home / "notebooks"
    root.mkdir(parents=True)
    for nb in sorted(Path(notebooks).glob("*.ipynb")):
        shutil.copy2(nb, root / nb.name)
    env = _isolated_env(home)
    token = secrets.token_hex(24)
    config = {
        "ServerApp": {
            "ip": "127.0.0.1",
            "port": 0,  # the OS picks a free one; read back from the runtime file
            "port_retries": 0,
            "open_browser": False,
            "root_dir": str(root),
            "allow_root": os.geteuid() == 0,
        },
        "IdentityProvider": {"token": token},
        "LabApp": {
            "news_url": None,
            "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
            "expose_app_in_browser": True,
        },
    }
    (Path(env["JUPYTER_CONFIG_DIR"]) / "jupyter_server_config.json").write_text(
        json.dumps(config)
    )
    # No news or update prompt (a toast, and a request to the internet).
    settings = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    if trusted:
        signing = [sys.executable, "-m", "nbformat.sign"]  # `jupyter trust`
        subprocess.run(
            [*signing, *map(str, sorted(root.glob("*.ipynb")))],
            env=env,
            check=True,
            capture_output=True,
        )
    log = home / "lab.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser"],
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed by Lab.stop
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
    lab = Lab("", token, root, log, env, process)
    try:
        lab.url = _wait_ready(lab, Path(env["JUPYTER_RUNTIME_DIR"]), timeout)
    except BaseException:
        lab.stop()
        raise
    return lab


def _wait_ready(lab: Lab, runtime: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    url = None
    while time.monotonic() < deadline:
        if lab.process.poll() is not None:
            code = lab.process.returncode
            raise RuntimeError(f"JupyterLab exited with {code}:\n{lab.log_text()[-3000:]}")
        if url is None:
            info = runtime / f"jpserver-{lab.process.pid}.json"
            with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
                url = f"http://127.0.0.1:{json.loads(info.read_text())['port']}"
        if url is not None:
            lab.url = url
            with contextlib.suppress(OSError, urllib.error.URLError):
                lab.api("status")
                return url
        time.sleep(0.1)
    raise RuntimeError(
        f"JupyterLab did not answer within {timeout:.0f} s:\n{lab.log_text()[-3000:]}"
    )


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright (``make test`` installs it)."""
    if not CHROMIUM.exists():
        raise RuntimeError("Debian's chromium is missing: `make test` installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def explorers(notebook: Path) -> list[tuple[int, int, str]]:
    """(cell index, output index, name) of each explorer in a notebook's saved
    outputs: an output with a widget view beside static HTML (a
    ``helpers.explorers.framework.Explorer``), or with the static player alone."""
    cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    found = []
    for i, c in enumerate(cells):
        for k, output in enumerate(c.get("outputs", [])):
            data = output.get("data", {})
            html = "".join(data.get("text/html", ""))
            if html and (VIEW in data or 'class="explorer-static"' in html):
                name = "".join(data.get("text/plain", "explorer")).split(" (")[0]
                found.append((i, k, name))
    return found


def open_notebook(page: Any, lab: Lab, name: str, timeout: float = 60_000) -> Any:
    """Open a notebook in ``page`` (running nothing) and return its notebook locator,
    once JupyterLab has loaded it and made a widget for each of its cells."""
    page.goto(lab.notebook_url(name))
    cells = len(json.loads((lab.root / name).read_text(encoding="utf-8"))["cells"])
    page.wait_for_function(
        """([path, n]) => {
            const panel = window.jupyterapp?.shell.currentWidget;
            return !!panel && panel.context?.path === path && panel.context.isReady
                && panel.content.widgets.length === n;
        }""",
        arg=[name, cells],
        timeout=timeout,
    )
    notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")
    notebook.wait_for(timeout=timeout)
    return notebook


_SETTLE = """async (el) => {
    // Cells above resize as they render (content-visibility): scroll until it stays.
    let last = null;
    for (let i = 0; i < 60; i++) {
        el.scrollIntoView({block: "start"});
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        const top = el.getBoundingClientRect().top;
        if (last !== null && Math.abs(top - last) < 1) return true;
        last = top;
    }
    return false;
}"""


def cell(notebook: Any, index: int, timeout: float = 30_000) -> Any:
    """The cell at ``index``, scrolled to the top of the view until it stays there
    (a windowed notebook may attach a cell, or render its outputs, only in view)."""
    notebook.page.evaluate(
        "(i) => jupyterapp.shell.currentWidget.content.scrollToItem(i, 'start')", index
    )
    locator = notebook.locator(f'.jp-Cell[data-windowed-list-index="{index}"]')
    locator.wait_for(timeout=timeout)
    locator.evaluate(_SETTLE)
    return locator


def wait_kernel_idle(page: Any, timeout: float = 60_000) -> None:
    """Wait until the open notebook's kernel is started, connected and idle (the
    toolbar's indicator says "idle" before a kernel is connected: ask the app)."""
    page.wait_for_function(
        """() => {
            const kernel = window.jupyterapp?.shell.currentWidget
                ?.sessionContext?.session?.kernel;
            return !!kernel && kernel.connectionStatus === "connected"
                && kernel.status === "idle";
        }""",
        timeout=timeout,
    )


def run_all_cells(page: Any, timeout: float = 600_000) -> bool:
    """Run every cell of the open notebook (its kernel started first) and wait for the
    last one; True when none raised. Page errors and widget checks are the caller's."""
    wait_kernel_idle(page)
    page.set_default_timeout(timeout)
    try:
        return page.evaluate("() => jupyterapp.commands.execute('notebook:run-all-cells')")
    finally:
        page.set_default_timeout(30_000)


_LIVE_EXPLORERS = """(view) => {
    const cells = jupyterapp.shell.currentWidget.content.model.cells;
    const found = [];
    for (let i = 0; i < cells.length; i++) {
        const outputs = cells.get(i).outputs;  // undefined for markdown cells
        for (let k = 0; k < (outputs ? outputs.length : 0); k++) {
            const data = outputs.get(k).data;
            if (data[view] && data["text/html"]) {
                const plain = [].concat(data["text/plain"] || "explorer").join("");
                found.push([i, k, plain.split(" (")[0]]);
            }
        }
    }
    return found;
}"""


def live_explorers(page: Any) -> list[tuple[int, int, str]]:
    """(cell index, output index, name) of each explorer in the open notebook's
    outputs as they are now (e.g. after :func:`run_all_cells`): an output with a
    widget view beside static HTML (a ``helpers.explorers.framework.Explorer``)."""
    return [tuple(found) for found in page.evaluate(_LIVE_EXPLORERS, VIEW)]


_CELL_ERRORS = """() => {
    const cells = jupyterapp.shell.currentWidget.content.model.cells;
    const found = [];
    for (let i = 0; i < cells.length; i++) {
        const outputs = cells.get(i).outputs;
        for (let k = 0; k < (outputs ? outputs.length : 0); k++) {
            const out = outputs.get(k).toJSON();
            const text = [].concat(out.text || "").join("");
            if (out.output_type === "error") {
                found.push([i, `${out.ename}: ${out.evalue}`]);
            } else if (out.name === "stderr" && text.includes("Traceback")) {
                found.push([i, text.trim().split("\\n").slice(-1)[0]]);
            }
        }
    }
    return found;
}"""


def cell_errors(page: Any) -> list[tuple[int, str]]:
    """(cell index, last line) of each error output, and of each stderr output with a
    Python traceback, in the open notebook's outputs as they are now."""
    return [tuple(found) for found in page.evaluate(_CELL_ERRORS)]


def shutdown_kernel(page: Any, timeout: float = 30_000) -> None:
    """Shut the open notebook's kernel down (frees its memory and CPU before the next
    notebook; :meth:`Lab.stop` would end it too)."""
    page.set_default_timeout(timeout)
    try:
        page.evaluate(
            """async () => {
                const context = window.jupyterapp?.shell.currentWidget?.sessionContext;
                if (context?.session?.kernel) await context.shutdown();
            }"""
        )
    finally:
        page.set_default_timeout(30_000)
