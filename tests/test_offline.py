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
    urllib.request.urlopen("http://example.com/", timeout=5)
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
    assert "download:" in out.stdout and "runs offline" in out.stdout


@pytest.mark.skipif(
    os.environ.get("COURSE_OFFLINE") != "1", reason="the guard is on under `make test`"
)
def test_guard_is_on_under_make_test():
    assert getattr(socket.socket.connect, "offline_guard", False)
    with pytest.raises(ConnectionRefusedError, match="runs offline"):
        socket.create_connection(("192.0.2.1", 80), timeout=5)
