"""Serve the application with uvicorn, in one process or several on one listening socket.

The socket is bound here with ``TCP_NODELAY`` (sockets accepted from it inherit the option
on Linux) and handed to every worker process. uvicorn's own ``--workers`` leaves the option
off, and keep-alive answers then wait about 40 ms for the client's delayed ACK (uvicorn
issue #3149; measured by bench/data_api.py). One worker keeps asyncio's own socket, which
sets the option itself. Workers are forked children that stop when the parent is asked to
(SIGTERM or SIGINT).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
from types import FrameType


def _run(sock: socket.socket | None, host: str, port: int, quiet: bool) -> None:
    import uvicorn

    config = uvicorn.Config(
        "gongshu.app:create_app",
        factory=True,
        host=host,
        port=port,
        proxy_headers=True,
        access_log=not quiet,
        log_level="warning" if quiet else "info",
        lifespan="on",
    )
    uvicorn.Server(config).run(sockets=[sock] if sock is not None else None)


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket with ``TCP_NODELAY``, inheritable by forked workers."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(host: str, port: int, workers: int = 1, *, quiet: bool = False) -> None:
    """Serve until stopped; with ``workers`` > 1, that many processes share one socket.
    ``quiet``: no access log, warnings only (benchmarks)."""
    if workers <= 1:
        _run(None, host, port, quiet)
        return
    sock = listening_socket(host, port)
    children = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            _run(sock, host, port, quiet)
            os._exit(0)
        children.append(pid)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for child in children:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(child, 0)
