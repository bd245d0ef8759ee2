"""Serve Gongshu for the benchmark: ``gongshu.web.server`` (N uvicorn processes on one
``TCP_NODELAY`` socket), quiet. Settings come from the environment, as in production.

``python bench/_serve.py --port P --workers N``; stops on SIGTERM (each worker too).
"""

from __future__ import annotations

import argparse

from gongshu.web.server import serve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    serve(args.host, args.port, args.workers, quiet=True)


if __name__ == "__main__":
    main()
