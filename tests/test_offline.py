"""The offline guard of ``make test`` (tests/offline/sitecustomize.py) refuses what
would leave the machine and lets everything local through; under ``make test`` it
is on in this very process (and so in every kernel nbval and JupyterLab start)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

GUARD = Path(__file__).resolve().parent / "offline"

_PROBE = """
import socket, threading
server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen()
local = socket.create_connection(server.getsockname(), timeout=5)  # must work
local.close()
try:
    socket.create_connection(("192.0.2.1", 80), timeout=5)  # TEST-NET-1
except ConnectionRefusedError as error:
    print("refused:", error)
try:
    import urllib.request
    urllib.request.urlopen("http://192.0.2.1/data.npz", timeout=5)  # no DNS needed
except Exception as error:
    print("download:", type(error).__name__, error)
"""


def test_guard_refuses_the_network_and_allows_loopback():
    env = {**os.environ, "PYTHONPATH": str(GUARD)}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert (
        "refused: the course runs offline: no connection to ('192.0.2.1', 80)" in out.stdout
    )
    download = [line for line in out.stdout.splitlines() if line.startswith("download:")]
    assert download and "runs offline" in download[0], out.stdout


@pytest.mark.skipif(
    os.environ.get("COURSE_OFFLINE") != "1", reason="the guard is on under `make test`"
)
def test_guard_is_on_under_make_test():
    assert getattr(socket.socket.connect, "offline_guard", False)
    with pytest.raises(ConnectionRefusedError, match="runs offline"):
        socket.create_connection(("192.0.2.1", 80), timeout=5)


@pytest.mark.skipif(
    os.environ.get("COURSE_OFFLINE") != "1", reason="the guard is on under `make test`"
)
def test_guard_is_on_in_a_notebook_kernel():
    """A kernel started by the tests (as nbval and JupyterLab start theirs) is guarded."""
    from jupyter_client.manager import start_new_kernel

    printed: list[str] = []
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        reply = client.execute_interactive(
            "import socket\n"
            "try:\n"
            "    socket.create_connection(('192.0.2.1', 80), timeout=5)\n"
            "except ConnectionRefusedError as e:\n"
            "    print('refused:', e)\n",
            timeout=60,
            output_hook=lambda m: printed.append(m["content"].get("text", "")),
        )
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert reply["content"]["status"] == "ok"
    assert any("refused: the course runs offline" in t for t in printed), printed
