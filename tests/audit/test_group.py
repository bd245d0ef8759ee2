"""Grouped durable commits: many requests' entries in one transaction, each request woken
only once its entry is committed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.orm import Session

from gongshu.audit import group, service
from gongshu.audit.group import AuditNotDurable, append_durable
from gongshu.audit.models import AuditEntry, AuditHead
from gongshu.auth.actor import Actor
from gongshu.db import make_engine, make_session_factory, unit_of_work
from gongshu.settings import Settings

THREADS = 16
PER_THREAD = 200


def _actor(n: int) -> Actor:
    return Actor(user_id=n + 1, name=f"读者{n}", agency_id=n % 4 + 1, request_id=f"req-{n}")


@pytest.fixture
def engine(scratch_settings: Settings) -> Iterator[Engine]:
    eng = make_engine(scratch_settings)
    yield eng
    group.shutdown_all()
    eng.dispose()


def _checker(engine: Engine) -> Engine:
    """Another engine on the same database, reading outside any transaction."""
    return create_engine(engine.url, isolation_level="AUTOCOMMIT")


def test_concurrent_appends_share_commits_and_return_only_when_durable(engine: Engine) -> None:
    commits = {"n": 0}
    event.listen(engine, "commit", lambda _conn: commits.__setitem__("n", commits["n"] + 1))
    checker = _checker(engine)
    errors: list[BaseException] = []
    invisible: list[int] = []
    seqs: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def reader(n: int) -> None:
        try:
            start.wait()
            with checker.connect() as conn:
                for i in range(PER_THREAD):
                    seq = append_durable(
                        engine,
                        _actor(n),
                        "data.read",
                        "dataset",
                        n + 1,  # dataset ids start at 1: object 0 would carry no dataset_id
                        label=f"目录条目{n}",
                        changes={"purpose": "核查", "rows": i, "fields": ["a", "b"]},
                    )
                    # The caller only gets its seq once the entry is committed: a
                    # connection of another engine already sees it.
                    found = conn.scalar(select(AuditEntry.seq).where(AuditEntry.seq == seq))
                    with lock:
                        seqs.append(seq)
                        if found != seq:
                            invisible.append(seq)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    checker.dispose()
    total = THREADS * PER_THREAD
    assert not errors
    assert not invisible
    assert sorted(seqs) == list(range(1, total + 1))  # contiguous, each once
    writer = group.writer_for(engine)
    assert writer is not None
    assert writer.stats.entries == total
    # Far fewer transactions than entries: requests that arrive during a commit share the next.
    assert commits["n"] <= total // 3, commits
    assert writer.stats.commits <= commits["n"]
    assert writer.stats.largest > 1
    with make_session_factory(engine)() as session:
        result = service.verify(session)
        assert result.ok, result.localized_reason()
        assert result.checked == total
        head = session.get(AuditHead, 1)
        assert head is not None and head.seq == total
        rows = session.execute(
            select(
                AuditEntry.actor_name, AuditEntry.rows, AuditEntry.result, AuditEntry.dataset_id
            ).where(AuditEntry.seq == total)
        ).one()
        assert rows.result == "allowed" and rows.dataset_id is not None


def test_an_idle_writer_commits_at_once(engine: Engine) -> None:
    started = time.perf_counter()
    seq = append_durable(engine, _actor(0), "data.read", "dataset", 1, changes={"rows": 1})
    assert seq >= 1
    assert time.perf_counter() - started < 5  # no waiting for a group to fill


def test_a_failed_group_fails_its_callers_and_the_next_group_goes_on(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    append_durable(engine, _actor(0), "data.read", "dataset", 1)  # the chain's first entry
    real = group.GroupWriter._commit
    calls = {"n": 0}

    def flaky(self: group.GroupWriter, pending: list[Any]) -> list[int]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("disk full")
        return real(self, pending)

    monkeypatch.setattr(group.GroupWriter, "_commit", flaky)
    with pytest.raises(AuditNotDurable) as failed:
        append_durable(engine, _actor(1), "data.read", "dataset", 2)
    assert failed.value.status_code == 503
    seq = append_durable(engine, _actor(2), "data.read", "dataset", 3)
    with make_session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 2
        assert seq == 2
        assert service.verify(session).ok


def test_bad_content_fails_only_its_caller(engine: Engine) -> None:
    with pytest.raises(TypeError):
        append_durable(engine, _actor(0), "data.read", "dataset", 1, changes={"x": object()})
    assert append_durable(engine, _actor(0), "data.read", "dataset", 1) == 1


def test_shutdown_drains_and_a_later_append_starts_a_new_writer(engine: Engine) -> None:
    append_durable(engine, _actor(0), "data.read", "dataset", 1)
    first = group.writer_for(engine)
    assert first is not None
    group.shutdown_all()
    assert group.writer_for(engine) is None
    assert append_durable(engine, _actor(0), "data.read", "dataset", 2) == 2
    second = group.writer_for(engine)
    assert second is not None and second is not first


def test_an_idle_writer_retires(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(group, "IDLE_SECONDS", 0.05)
    append_durable(engine, _actor(0), "data.read", "dataset", 1)
    deadline = time.monotonic() + 5
    while group.writer_for(engine) is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert group.writer_for(engine) is None
    assert append_durable(engine, _actor(0), "data.read", "dataset", 1) == 2


def test_record_and_grouped_appends_interleave_into_one_chain(engine: Engine) -> None:
    factory = make_session_factory(engine)
    for i in range(5):
        with factory() as session, unit_of_work(session):
            service.record(session, _actor(i), "thing.update", "thing", i)
        append_durable(engine, _actor(i), "data.read", "dataset", i)
    with factory() as session:
        result = service.verify(session)
        assert result.ok and result.checked == 10


def test_a_session_on_an_engine_commits_its_work_first(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with factory() as session:
        session.execute(text("SELECT 1"))  # a transaction is open (on SQLite: the write lock)
        assert session.in_transaction()
        seq = append_durable(session, _actor(0), "data.read", "dataset", 9, changes={"rows": 3})
        assert not session.in_transaction()
    with factory() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.seq == seq)).one()
        assert (entry.dataset_id, entry.rows, entry.result) == (9, 3, "allowed")


def test_a_session_inside_an_outer_transaction_records_in_it(db: Session) -> None:
    """Tests' rolled-back sessions (and callers that own the transaction) get the entry in
    their own transaction."""
    seq = append_durable(db, _actor(0), "data.denied", "dataset", 5, changes={"rows": 0})
    entry = db.scalars(select(AuditEntry).where(AuditEntry.seq == seq)).one()
    assert entry.result == "denied"
    assert service.verify(db).ok


def test_a_caller_holding_the_head_lock_fails_instead_of_waiting_forever(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's 30 s busy timeout ends the same wait; too slow for a test")
    monkeypatch.setattr(group, "LOCK_TIMEOUT_SECONDS", 1)
    factory = make_session_factory(engine)
    with factory() as session:
        service.record(session, _actor(0), "thing.update", "thing", 1)  # holds the head lock
        started = time.perf_counter()
        with pytest.raises(AuditNotDurable):
            append_durable(engine, _actor(1), "data.read", "dataset", 1)
        assert time.perf_counter() - started < 10
        session.rollback()
    assert append_durable(engine, _actor(1), "data.read", "dataset", 1) == 1
