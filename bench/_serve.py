"""Serve Gongshu for the benchmark: uvicorn in N processes on one listening socket.

The socket is bound here with ``TCP_NODELAY`` (accepted connections inherit it on Linux)
and handed to every worker: uvicorn's own ``--workers`` leaves it off, and keep-alive
answers then wait ~40 ms for the peer's delayed ACK (uvicorn issue #3149, measured in
DESIGN.md). Settings come from the environment, as in production.

``python bench/_serve.py --port P --workers N``; stops on SIGTERM (each worker too).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import sys
from types import FrameType


def _worker(sock: socket.socket) -> None:
    import uvicorn

    config = uvicorn.Config(
        "gongshu.app:create_app",
        factory=True,
        access_log=False,
        log_level="warning",
        lifespan="on",
    )
    uvicorn.Server(config).run(sockets=[sock])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((args.host, args.port))
    sock.listen(2048)
    sock.set_inheritable(True)
    if args.workers <= 1:
        _worker(sock)
        return
    children = []
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:
            _worker(sock)
            os._exit(0)
        children.append(pid)

    def stop(signum: int, _frame: FrameType | None) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for child in children:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(child, 0)
    sys.exit(0)


if __name__ == "__main__":
    main()
