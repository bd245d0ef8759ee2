"""Fixtures of the portal statistics tests: the collector emptied around every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gongshu.portalstats import collector


@pytest.fixture(autouse=True)
def empty_collector() -> Iterator[None]:
    """Counts other tests left in this process's memory must not leak into these."""
    collector.drain()
    yield
    collector.drain()
