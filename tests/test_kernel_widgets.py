"""A new kernel of the course's environment answers JupyterLab's first widget question.

JupyterLab's widget manager opens the comm target "jupyter.widget.control" on every
new kernel, before any cell runs, and asks for the widgets' states. The kernel
imports ipywidgets at its start (tools/ipython_kernel_config.py, installed into .venv
by the Makefile), so the target exists: no "No such comm target registered" on
stderr, and the kernel answers with its (empty) states. The same config sets
PyTorch's thread count from ``COURSE_TORCH_THREADS`` (make test's nbval).
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path

import pytest

CONFIG = Path(sys.prefix) / "etc" / "ipython" / "ipython_kernel_config.py"


def test_kernel_config_is_installed_from_tools():
    source = Path(__file__).resolve().parents[1] / "tools" / "ipython_kernel_config.py"
    assert CONFIG.exists(), f"{CONFIG} is missing: the Makefile installs it"
    assert CONFIG.read_text() == source.read_text(), f"{CONFIG} is stale: `make test`"


def test_a_new_kernel_answers_the_widget_control_comm():
    from jupyter_client.manager import start_new_kernel

    if not CONFIG.exists():
        pytest.fail(f"{CONFIG} is missing: the Makefile installs it")
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        comm = uuid.uuid4().hex
        message = client.session.msg(
            "comm_open",
            {"comm_id": comm, "target_name": "jupyter.widget.control", "data": {}},
            metadata={"version": "1.0.0"},
        )
        client.shell_channel.send(message)
        seen, deadline = [], time.monotonic() + 60
        while time.monotonic() < deadline:  # the kernel has handled the comm_open
            try:
                reply = client.get_iopub_msg(timeout=1)
            except Exception:  # queue.Empty: nothing yet
                continue
            content = reply["content"]
            if reply["msg_type"] == "stream" and content.get("name") == "stderr":
                seen.append(content["text"])
            if (
                reply["msg_type"] == "status"
                and content["execution_state"] == "idle"
                and reply["parent_header"].get("msg_id") == message["header"]["msg_id"]
            ):
                break
        ask = {"comm_id": comm, "data": {"method": "request_states"}}
        client.shell_channel.send(client.session.msg("comm_msg", ask))
        while time.monotonic() < deadline:
            try:
                reply = client.get_iopub_msg(timeout=1)
            except Exception:  # queue.Empty: nothing yet
                continue
            kind, content = reply["msg_type"], reply["content"]
            if kind == "stream" and content.get("name") == "stderr":
                seen.append(content["text"])
            if kind == "comm_msg" and content.get("comm_id") == comm:
                assert content["data"]["method"] == "update_states"
                break
        else:
            pytest.fail(f"the kernel never answered the widget control comm: {seen}")
        assert not seen, f"the kernel wrote to stderr: {seen}"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def _kernel_prints(code: str, env: dict[str, str]) -> str:
    """What a new kernel of this environment prints for ``code``, started with ``env``."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", env={**os.environ, **env})
    try:
        printed = []

        def keep(message: dict) -> None:
            if message["msg_type"] == "stream":
                printed.append(message["content"]["text"])

        client.execute_interactive(code, output_hook=keep, timeout=120)
        return "".join(printed)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_course_torch_threads_sets_the_kernels_thread_count():
    # make test's nbval runs the notebooks on another thread count this way; more
    # threads than cores too (OMP_NUM_THREADS alone is capped at the cores by torch)
    wanted = os.cpu_count() + 1
    code = "import torch; print(torch.get_num_threads())"
    assert _kernel_prints(code, {"COURSE_TORCH_THREADS": str(wanted)}).strip() == str(
        wanted
    )
