"""Fixtures of the open-data interoperability tests: the small open city in the rolled-back
test database, and (for real clients) a uvicorn server over a committed scratch copy."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from gongshu.db import make_engine
from gongshu.settings import Settings
from gongshu.store.storage import get_storage
from tests.conftest import scratch_database
from tests.portal.city import OpenCity, build

#: The official DCAT-AP 3.0.1 shapes, beside the checkout (never fetched).
SHAPES = Path(__file__).resolve().parents[2].parent / "shared/standards/dcat-ap/3.0.1/html-shacl"


@pytest.fixture
def open_city(db: Session) -> OpenCity:
    return build(db, get_storage())


@dataclass(frozen=True)
class Served:
    """A live server over a committed copy of the open city."""

    url: str
    city: OpenCity


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``gongshu serve`` (uvicorn) on a free loopback port, over a scratch database that
    holds the open city."""
    scratch_gen = scratch_database(settings, tmp_path_factory.mktemp("open-city"))
    scratch = next(scratch_gen)
    engine = make_engine(scratch)
    with Session(engine, expire_on_commit=False) as session:
        city = build(session, get_storage(scratch))
    engine.dispose()
    env = dict(os.environ)
    env["GONGSHU_DATABASE_URL"] = scratch.sqlalchemy_url
    env["GONGSHU_DATA_DIR"] = str(scratch.data_dir)
    port = _free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115 — open for the server's whole life
    proc = subprocess.Popen(
        [sys.executable, "-m", "gongshu", "serve", "--port", str(port), "--no-worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api/3/action/site_read", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            log.seek(0)
            err = log.read().decode(errors="replace")
            log.close()
            scratch_gen.close()
            raise RuntimeError(f"server did not start:\n{err}")
        time.sleep(0.2)
    try:
        yield Served(base, city)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
        scratch_gen.close()
