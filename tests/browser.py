"""Browser tests: a live server on a scratch database holding the demo city, and Debian's
chromium driven by Playwright. Outside CI a missing chromium skips these tests loudly; under
CI=true it fails them.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gongshu.settings import Settings
from tests.conftest import scratch_database

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sign_in(page: Any, username: str) -> None:
    """Sign a browser page in as a demo account."""
    from gongshu.demo.data import DEMO_PASSWORD

    page.goto("/login")
    page.fill("#f-username", username)
    page.fill("#f-password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))


@pytest.fixture(scope="session")
def live_env(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """Environment of a committed scratch database loaded with the demo city."""
    scratch_gen = scratch_database(settings, tmp_path_factory.mktemp("live"))
    scratch = next(scratch_gen)
    env = dict(os.environ)
    env["GONGSHU_DATABASE_URL"] = scratch.sqlalchemy_url
    env["GONGSHU_DATA_DIR"] = str(scratch.data_dir)
    subprocess.run(
        [sys.executable, "-m", "gongshu", "demo", "load"],
        env=env,
        check=True,
        capture_output=True,
    )
    try:
        yield env
    finally:
        scratch_gen.close()


@pytest.fixture(scope="session")
def live_server(live_env: dict[str, str]) -> Iterator[str]:
    """A real uvicorn process serving the demo city; yields its base URL."""
    port = _free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115 — open for the server's whole life
    proc = subprocess.Popen(
        [sys.executable, "-m", "gongshu", "serve", "--port", str(port)],
        env=live_env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/login", timeout=2) as r:
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
            raise RuntimeError(f"live server did not start:\n{err}")
        time.sleep(0.2)
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("/usr/bin/chromium is missing: under CI the browser tests must run")
        sys.stderr.write("\n*** chromium is missing: BROWSER TESTS ARE SKIPPED ***\n")
        pytest.skip("Debian chromium is not installed (run make test as root to install it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server, locale="zh-CN")
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()
