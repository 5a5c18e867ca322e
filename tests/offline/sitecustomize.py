"""The course's tests run offline: a connection to any non-local address is refused.

``make test`` puts this folder on ``PYTHONPATH``, so Python loads this module at the
start of every process it runs: pytest itself, the kernels nbval executes the
notebooks in, the JupyterLab server and its kernels. A notebook or helper that tries
to download something (data, weights, a script) then fails a test with the message
below, instead of working on a maintainer's machine and failing a reader offline.
Local connections (loopback, Unix sockets) are untouched: the kernels, JupyterLab and
the book's test server use them.
"""

from __future__ import annotations

import ipaddress
import socket

MESSAGE = "the course runs offline: no connection to {} (tests/offline/sitecustomize.py)"


def _is_local(address: object) -> bool:
    if not isinstance(address, tuple) or not address:
        return True  # a Unix socket's path, or something that is not an IP address
    host = str(address[0]).split("%")[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost: it would go out


def _guard(method):
    def guarded(self, address, *args, **kwargs):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
            raise ConnectionRefusedError(MESSAGE.format(address))
        return method(self, address, *args, **kwargs)

    guarded.__name__ = method.__name__
    guarded.__doc__ = "Refuses non-local addresses: " + (method.__doc__ or "")
    guarded.offline_guard = True
    return guarded


socket.socket.connect = _guard(socket.socket.connect)
socket.socket.connect_ex = _guard(socket.socket.connect_ex)
