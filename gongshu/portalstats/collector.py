"""Counting views, downloads and API calls without slowing the request that is counted.

:func:`record` only adds one to a counter in this process's memory, under a lock: no I/O, no
database. The counts reach the daily table (``portal_stat_daily``, and its monthly sums in
``portal_stat_monthly``) in the background:

- a **flusher thread** started with the web app (:func:`start_flusher`; in production and
  wherever the embedded worker runs) adds them every ``FLUSH_SECONDS``, and once more when
  the app shuts down;
- the periodic job ``portalstats.tick`` (:mod:`gongshu.portalstats.jobs`) flushes the
  counts of whichever process runs it (a stand-alone worker, or a web process without the
  thread).

A flush is an UPSERT that *adds* (``ON CONFLICT … DO UPDATE SET count = count + n``, on
SQLite and PostgreSQL alike), so several server processes may write the same rows. A flush
that fails puts its counts back, so nothing is lost but a crash's last seconds.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

from fastapi import FastAPI
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from gongshu.db import unit_of_work
from gongshu.portalstats.models import PortalStatDaily, PortalStatMonthly, StatKind
from gongshu.settings import Settings
from gongshu.workdays.calendar import end_of_day, local_today

log = logging.getLogger(__name__)

__all__ = [
    "FLUSH_SECONDS",
    "KINDS",
    "drain",
    "flush",
    "install_flusher",
    "pending",
    "record",
    "restore",
    "start_flusher",
]

#: How often the flusher thread adds the counts to the database.
FLUSH_SECONDS = 10.0
KINDS: frozenset[str] = frozenset(k.value for k in StatKind)


class _Key(NamedTuple):
    day: dt.date
    dataset_id: int
    kind: str


# Today's date in the city, and the Unix time it ends: a record compares one float instead
# of converting the clock to Asia/Shanghai on every call.
_today: tuple[dt.date, float] = (dt.date.min, 0.0)


def _local_day() -> dt.date:
    global _today
    day, ends = _today
    if time.time() >= ends:
        day = local_today()
        ends = end_of_day(day).timestamp()
        _today = (day, ends)
    return day


_lock = threading.Lock()
_counts: dict[_Key, int] = {}
_agencies: dict[_Key, int | None] = {}


def record(kind: str, dataset_id: int, agency_id: int | None) -> None:
    """Count one ``view``, ``download`` or ``api_call`` of entry ``dataset_id`` (provided by
    ``agency_id``) today. Memory only: safe to call from any thread, on any request."""
    if kind not in KINDS:
        raise ValueError(f"unknown statistics kind {kind!r}")
    key = _Key(_local_day(), int(dataset_id), kind)
    with _lock:
        _counts[key] = _counts.get(key, 0) + 1
        if agency_id is not None or key not in _agencies:
            _agencies[key] = agency_id


Batch = dict[_Key, tuple[int | None, int]]


def drain() -> Batch:
    """Take every count recorded so far (they are no longer pending)."""
    global _counts, _agencies
    with _lock:
        counts, agencies = _counts, _agencies
        _counts, _agencies = {}, {}
    return {key: (agencies.get(key), n) for key, n in counts.items()}


def restore(batch: Batch) -> None:
    """Put back counts a failed flush took (added to whatever was recorded meanwhile)."""
    with _lock:
        for key, (agency_id, n) in batch.items():
            _counts[key] = _counts.get(key, 0) + n
            if agency_id is not None or key not in _agencies:
                _agencies[key] = agency_id


def pending() -> int:
    """How many uses are counted in memory and not yet in the database."""
    with _lock:
        return sum(_counts.values())


def write(session: Session, batch: Batch) -> int:
    """Add ``batch`` to the daily and monthly tables in one transaction; returns the uses
    written."""
    if not batch:
        return 0
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # Sorted, so that two processes flushing the same rows lock them in the same order.
    items = sorted(batch.items(), key=lambda kv: (kv[0].day, kv[0].dataset_id, kv[0].kind))
    months: dict[_Key, tuple[int | None, int]] = {}
    for key, (agency_id, n) in items:
        month = key._replace(day=key.day.replace(day=1))
        before = months.get(month, (None, 0))
        months[month] = (agency_id if agency_id is not None else before[0], before[1] + n)
    with unit_of_work(session):
        for table, rows in ((PortalStatDaily, items), (PortalStatMonthly, list(months.items()))):
            for key, (agency_id, n) in rows:
                stmt = insert(table).values(
                    day=key.day,
                    dataset_id=key.dataset_id,
                    kind=key.kind,
                    agency_id=agency_id,
                    count=n,
                )
                session.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["day", "dataset_id", "kind"],
                        set_={
                            "count": table.count + stmt.excluded.count,
                            "agency_id": stmt.excluded.agency_id,
                        },
                    )
                )
    return sum(n for _agency, n in batch.values())


def flush(session: Session) -> int:
    """Move this process's pending counts into the daily table; on failure they stay
    pending (and the error propagates). Returns the uses written."""
    batch = drain()
    try:
        return write(session, batch)
    except BaseException:
        restore(batch)
        raise


def start_flusher(
    factory: sessionmaker[Session], interval: float = FLUSH_SECONDS
) -> Callable[[], None]:
    """Flush every ``interval`` seconds in a daemon thread; returns the function that stops
    it and flushes what is left (the app calls it at shutdown)."""
    stop = threading.Event()

    def flush_once() -> None:
        if not pending():
            return
        try:
            with factory() as session:
                flush(session)
        except Exception:  # the counts stay pending; the next round tries again
            log.exception("portal statistics flush failed; will retry")

    def target() -> None:
        while not stop.wait(interval):
            flush_once()

    thread = threading.Thread(target=target, name="gongshu-portalstats", daemon=True)
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(timeout=30)
        flush_once()

    return halt


def install_flusher(app: FastAPI, settings: Settings) -> None:
    """Run the flusher thread with the web app — in production, and wherever the embedded
    worker runs (``gongshu serve``) — and flush once more at shutdown. Elsewhere (tests, a
    bare ``create_app``) counts are flushed by ``portalstats.tick`` or an explicit
    :func:`flush`."""
    if not (settings.embedded_worker or settings.env == "production"):
        return

    def start() -> None:
        app.state.stop_stats_flusher = start_flusher(app.state.session_factory)

    def stop() -> None:
        halt = getattr(app.state, "stop_stats_flusher", None)
        if halt is not None:
            halt()

    app.router.on_startup.append(start)
    # Before the engine is disposed, so the last flush has a pool to use.
    app.router.on_shutdown.insert(0, stop)
