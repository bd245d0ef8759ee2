"""The worker loop behind ``gongshu jobs worker``."""

from __future__ import annotations

import os
import socket
import time

from gongshu.db import make_engine, make_session_factory
from gongshu.jobs.service import load_handlers, run_one
from gongshu.settings import get_settings


def run_worker(*, once: bool = False) -> int:
    """Run due jobs until stopped (or, with ``once``, until none is due). Returns jobs run."""
    load_handlers()
    settings = get_settings()
    engine = make_engine(settings)
    factory = make_session_factory(engine)
    worker_id = f"{socket.gethostname()}:{os.getpid()}"
    done = 0
    try:
        while True:
            with factory() as session:
                job = run_one(session, worker_id)
            if job is not None:
                done += 1
                continue
            if once:
                return done
            time.sleep(settings.job_poll_seconds)
    finally:
        engine.dispose()
