"""The collector: counts stay in memory until a flush adds them to the daily table."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from gongshu.portalstats import collector
from gongshu.portalstats.models import PortalStatDaily, PortalStatMonthly, StatKind
from gongshu.settings import Settings
from gongshu.workdays.calendar import local_today


def _counts(db: Session) -> dict[tuple[int, str], int]:
    rows = db.execute(
        select(PortalStatDaily.dataset_id, PortalStatDaily.kind, PortalStatDaily.count)
    ).all()
    return {(d, str(k)): int(c) for d, k, c in rows}


def test_counts_land_after_flush_and_add_up(db: Session) -> None:
    for _ in range(3):
        collector.record("view", 901, 7)
    collector.record("download", 901, 7)
    collector.record("api_call", 902, None)
    assert _counts(db) == {}
    assert collector.pending() == 5

    assert collector.flush(db) == 5
    assert collector.pending() == 0
    assert _counts(db) == {(901, "view"): 3, (901, "download"): 1, (902, "api_call"): 1}

    # A second flush (another process, say) adds to the same rows instead of replacing them.
    collector.record("view", 901, 7)
    collector.flush(db)
    assert _counts(db)[(901, "view")] == 4
    row = db.get(PortalStatDaily, (local_today(), 901, StatKind.VIEW))
    assert row is not None and row.agency_id == 7
    month = db.get(PortalStatMonthly, (local_today().replace(day=1), 901, StatKind.VIEW))
    assert month is not None and month.count == 4


def test_concurrent_records_sum_exactly(db: Session) -> None:
    threads, each = 8, 2000
    start = threading.Barrier(threads)

    def work(i: int) -> None:
        start.wait()
        for n in range(each):
            collector.record("api_call" if n % 2 else "view", 903 + i % 2, 1)

    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert collector.pending() == threads * each
    collector.flush(db)
    counted = _counts(db)
    assert sum(counted.values()) == threads * each
    assert counted[(903, "view")] == counted[(904, "api_call")] == threads // 2 * each // 2


def test_record_never_touches_the_database(engine: Engine) -> None:
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        for _ in range(500):
            collector.record("view", 905, 2)
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    assert statements == []
    with pytest.raises(ValueError, match="unknown"):
        collector.record("like", 905, 2)


def test_failed_flush_keeps_the_counts(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    collector.record("download", 906, 3)

    class Broken(Exception):
        pass

    def fail(*_args: Any, **_kw: Any) -> None:
        raise Broken

    with monkeypatch.context() as patched:
        patched.setattr(collector, "write", fail)
        with pytest.raises(Broken):
            collector.flush(db)
    collector.record("download", 906, 3)
    assert collector.pending() == 2
    collector.flush(db)
    assert _counts(db) == {(906, "download"): 2}


def test_flusher_thread_flushes_when_stopped(connection: object) -> None:
    factory = sessionmaker(
        bind=connection,  # type: ignore[call-overload]
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
    )
    halt = collector.start_flusher(factory, interval=3600)
    collector.record("view", 907, None)
    collector.record("view", 907, None)
    halt()
    assert collector.pending() == 0
    with factory() as session:
        total = session.scalar(
            select(func.sum(PortalStatDaily.count)).where(PortalStatDaily.dataset_id == 907)
        )
    assert total == 2


def test_the_app_flushes_at_shutdown(connection: object, settings: Settings) -> None:
    """With the embedded worker (``gongshu serve``) the app runs the flusher and flushes what
    is left when it stops; a bare app (tests, scripts) starts no thread."""
    bare = FastAPI()
    collector.install_flusher(bare, settings.model_copy(update={"embedded_worker": False}))
    assert not bare.router.on_startup

    app = FastAPI()
    app.state.session_factory = sessionmaker(
        bind=connection,  # type: ignore[call-overload]
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
    )
    collector.install_flusher(app, settings.model_copy(update={"embedded_worker": True}))
    for start in app.router.on_startup:
        start()
    collector.record("download", 908, 4)
    for stop in app.router.on_shutdown:
        stop()
    with app.state.session_factory() as session:
        row = session.get(PortalStatDaily, (local_today(), 908, StatKind.DOWNLOAD))
        assert row is not None and row.count == 1
