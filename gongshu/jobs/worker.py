"""The worker loop behind ``gongshu jobs worker``, and the one ``gongshu serve`` embeds."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from gongshu.db import make_engine, make_session_factory
from gongshu.ingest.service import recover as recover_ingestions
from gongshu.jobs.service import load_handlers, run_one
from gongshu.settings import Settings, get_settings
from gongshu.store.versions import sweep_on_start

log = logging.getLogger(__name__)


def _loop(
    factory: sessionmaker[Session],
    settings: Settings,
    worker_id: str,
    *,
    once: bool,
    stop: threading.Event,
) -> int:
    done = 0
    while not stop.is_set():
        with factory() as session:
            job = run_one(session, worker_id)
        if job is not None:
            done += 1
            continue
        if once:
            break
        stop.wait(settings.job_poll_seconds)
    return done


def run_worker(*, once: bool = False) -> int:
    """Run due jobs until stopped (or, with ``once``, until none is due). Returns jobs run."""
    load_handlers()
    settings = get_settings()
    engine = make_engine(settings)
    factory = make_session_factory(engine)
    sweep_on_start(settings, factory)
    recover_ingestions(settings, factory)
    worker_id = f"{socket.gethostname()}:{os.getpid()}"
    try:
        return _loop(factory, settings, worker_id, once=once, stop=threading.Event())
    finally:
        engine.dispose()


def start_embedded_worker(settings: Settings, factory: sessionmaker[Session]) -> Callable[[], None]:
    """Run jobs in a thread of the web process (the demo and small deployments need no
    second process); returns the function that stops it."""
    load_handlers()
    stop = threading.Event()
    worker_id = f"{socket.gethostname()}:{os.getpid()}:web"

    def target() -> None:
        while not stop.is_set():
            try:
                _loop(factory, settings, worker_id, once=False, stop=stop)
            except Exception:  # a broken job must not end the web process's worker
                log.exception("embedded worker loop failed; restarting")
                stop.wait(settings.job_poll_seconds)

    thread = threading.Thread(target=target, name="gongshu-worker", daemon=True)
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(timeout=30)

    return halt
