"""Child processes for the crash tests, forked from a server that has imported the platform.

A SIGKILL lands on such a child as on a fresh interpreter, but the interpreter's start-up
(seconds: the commands import most of the platform) is paid once per run, not once per kill.
The server is multiprocessing's forkserver: single-threaded, so forking it is safe, unlike
forking the test process with its pools and threads.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import Any

CONTEXT = multiprocessing.get_context("forkserver")
CONTEXT.set_forkserver_preload(["gongshu.cli", "gongshu.ingest.cli", "tests.store.crash_writer"])


def _run(env: dict[str, str], target: Callable[..., None], args: tuple[Any, ...]) -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.environ.update(env)
    from gongshu.settings import get_settings

    get_settings.cache_clear()  # in case an import read settings in the server
    target(*args)


def start(env: dict[str, str], target: Callable[..., None], *args: Any) -> BaseProcess:
    """Start ``target(*args)`` in a child with ``env`` added, its output discarded."""
    child = CONTEXT.Process(target=_run, args=(env, target, args))
    child.start()
    return child
