"""``verify`` at speed: the database-built hash input matches the writer's for any text,
old (version 1) entries still verify, and the pass split among worker processes finds
exactly what one process finds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select, text, update
from sqlalchemy.orm import Session

from bench.audit_verify import load
from gongshu.audit import service, verify, walk
from gongshu.audit.chain import canonical_json, derive
from gongshu.audit.models import AuditEntry
from gongshu.auth.actor import Actor
from gongshu.db import make_engine, make_session_factory, unit_of_work, utcnow
from gongshu.settings import Settings

TRICKY = [
    "普通中文",
    'quotes " and \\ backslash',
    "line\nbreak\tand tab\r",
    "emoji 🐉 and 𠀀 (outside the BMP)",
    "control \x01\x1f and DEL \x7f",
    "nul \x00 inside",
    "",
    "  spaces  ",
    "é composed vs e\u0301 decomposed",
]


@pytest.fixture
def slow_checks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts how often the loop falls back to rebuilding an entry's hash input in Python."""
    calls: list[int] = []
    real = walk._slow_check

    def counting(row: Any) -> str | None:
        calls.append(1)
        return real(row)

    monkeypatch.setattr(walk, "_slow_check", counting)
    return calls


def test_any_text_hashes_the_same_in_the_database(db: Session, slow_checks: list[int]) -> None:
    with unit_of_work(db):
        for i, value in enumerate(TRICKY):
            actor = Actor(user_id=i, name=value or "x", agency_id=None, request_id=value, ip=value)
            service.record(
                db,
                actor,
                "thing.update",
                "thing",
                value or i,
                label=value,
                changes={value or "k": [value, {"nested": value, "n": i, "f": None}]},
            )
    result = verify.verify_chain(db)
    assert result.ok, result.localized_reason()
    assert result.checked == len(TRICKY)
    assert slow_checks == []  # every entry took the fast path
    stored = db.scalars(select(AuditEntry.actor_name).where(AuditEntry.actor_id == 5)).one()
    assert stored == "nul \ufffd inside"  # NUL would blur field borders: replaced


def _append_v1(db: Session, rows: list[tuple[str, str, str, dict[str, Any]]]) -> None:
    """Entries as written before migration 0015 (hash version 1)."""
    with unit_of_work(db):
        for action, object_type, object_id, changes in rows:
            head = service.lock_head(db)
            dataset_id, result, n = derive(action, object_type, object_id, changes)
            entry = AuditEntry(
                seq=head.seq + 1, at=utcnow(), actor_id=1, actor_name="旧记录", agency_id=2,
                action=action, object_type=object_type, object_id=object_id,
                object_label="旧", changes=changes, request_id="", ip="",
                prev_hash=head.entry_hash, hash_version=1, dataset_id=dataset_id,
                result=result, rows=n,
            )  # fmt: skip
            entry.entry_hash = service._hash_entry(entry)
            db.add(entry)
            db.flush()
            head.seq, head.entry_hash, head.entry_id = entry.seq, entry.entry_hash, entry.id


V1_ROWS = [
    ("dataset.update", "dataset", "12", {"title": ["旧", "新"]}),
    ("data.read", "dataset", "12", {"purpose": "核查", "rows": 50}),
    ("data.denied", "dataset", "13", {"purpose": "核查", "rows": 0}),
    ("verification_service.create", "verification_service", "4", {"dataset_id": 13}),
]


def test_version_one_entries_still_verify(db: Session) -> None:
    _append_v1(db, V1_ROWS)
    with unit_of_work(db):
        service.record(db, Actor.system(), "thing.update", "thing", 1)  # a version-2 successor
    result = verify.verify_chain(db)
    assert result.ok, result.localized_reason()
    derived = db.execute(
        select(AuditEntry.dataset_id, AuditEntry.result, AuditEntry.rows).order_by(AuditEntry.seq)
    ).all()
    assert [tuple(r) for r in derived][:4] == [
        (12, "", None), (12, "allowed", 50), (13, "denied", 0), (13, "", None),
    ]  # fmt: skip


def test_version_one_search_columns_are_checked(db: Session) -> None:
    _append_v1(db, V1_ROWS)
    db.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(dataset_id=99))
    db.expire_all()
    result = verify.verify_chain(db)
    assert (result.ok, result.broken_seq) == (False, 2)
    assert "检索字段" in result.reason


def test_version_two_search_columns_are_hashed(db: Session) -> None:
    with unit_of_work(db):
        service.record(db, Actor.system(), "data.read", "dataset", 3, changes={"rows": 5})
    db.execute(update(AuditEntry).values(rows=4))
    assert verify.verify_chain(db).broken_seq == 1


def test_json_stored_in_another_form_still_verifies(db: Session, slow_checks: list[int]) -> None:
    with unit_of_work(db):
        service.record(db, Actor.system(), "thing.update", "thing", 1, changes={"b": 1, "a": [2]})
    spaced = '{"b": 1, "a": [2]}'
    assert spaced != canonical_json({"b": 1, "a": [2]})
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("UPDATE audit_entry SET changes = CAST(:t AS JSON)"), {"t": spaced})
    else:
        db.execute(text("UPDATE audit_entry SET changes = :t"), {"t": spaced})
    result = verify.verify_chain(db)
    assert result.ok, result.localized_reason()
    assert len(slow_checks) == 1
    # … but other content under the same hash is still caught.
    db.execute(text("UPDATE audit_entry SET changes = :t"), {"t": '{"b": 2, "a": [2]}'})
    assert verify.verify_chain(db).broken_seq == 1


# --- the pass split among worker processes --------------------------------------------------


@pytest.fixture
def big(scratch_settings: Settings) -> Iterator[Engine]:
    """A committed chain of 3,000 entries with checkpoints every 500, built as the
    benchmark builds its million."""
    engine = make_engine(scratch_settings)
    load(engine, scratch_settings, 3000, checkpoint_every=500)
    yield engine
    engine.dispose()


def _both(engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    factory = make_session_factory(engine)
    monkeypatch.setattr(verify, "PARALLEL_MIN_ENTRIES", 10**9)
    with factory() as session:
        single = verify.verify_chain(session, settings=settings)
    monkeypatch.setattr(verify, "PARALLEL_MIN_ENTRIES", 100)
    with factory() as session:
        split = verify.verify_chain(session, settings=settings)
    return single, split


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_split_pass_agrees_with_one_process(
    big: Engine, scratch_settings: Settings, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    if verify.workers() < 2:
        pytest.skip("one CPU: the pass is never split")
    monkeypatch.setattr(verify, "start_method", lambda: method)
    single, split = _both(big, scratch_settings, monkeypatch)
    assert single.ok and split.ok, (single.localized_reason(), split.localized_reason())
    assert single.checked == split.checked == 3000
    assert split.checkpoints == single.checkpoints == 5
    with big.begin() as conn:  # a modified entry mid-range, and a deleted one at a seam
        conn.execute(update(AuditEntry).where(AuditEntry.seq == 1234).values(ip="1.2.3.4"))
    single, split = _both(big, scratch_settings, monkeypatch)
    assert single.broken_seq == split.broken_seq == 1234
    with big.begin() as conn:  # the last entry of the first of four ranges: a seam
        conn.execute(delete(AuditEntry).where(AuditEntry.seq == 750))
    single, split = _both(big, scratch_settings, monkeypatch)
    assert single.broken_seq == split.broken_seq == 751  # before the broken 1234


def test_verify_while_entries_and_checkpoints_are_written(scratch_settings: Settings) -> None:
    """Appends and checkpoints going on meanwhile never make an intact chain look broken:
    the head, the checkpoints and the entries are read in one snapshot."""
    import threading

    from gongshu.audit import group
    from gongshu.audit.checkpoint import write_checkpoint

    engine = make_engine(scratch_settings)
    factory = make_session_factory(engine)
    stop = threading.Event()
    errors: list[BaseException] = []

    def appender() -> None:
        try:
            n = 0
            while not stop.is_set():
                n += 1
                group.append_durable(engine, Actor.system(), "data.read", "dataset", n % 7 + 1)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def signer() -> None:
        try:
            while not stop.is_set():
                with factory() as session:
                    write_checkpoint(session, scratch_settings)
                stop.wait(0.01)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    group.append_durable(engine, Actor.system(), "data.read", "dataset", 1)
    with factory() as session:  # at least one checkpoint, however the threads are scheduled
        assert write_checkpoint(session, scratch_settings, force=True) is not None
    threads = [threading.Thread(target=appender), threading.Thread(target=signer)]
    for t in threads:
        t.start()
    try:
        results = []
        deadline = time.monotonic() + 30
        # At least 15 verifies, and on until the chain has grown between the first and the
        # last (on a busy machine the appender may not get the write lock at once).
        while len(results) < 15 or (
            results[-1].checked <= results[0].checked and time.monotonic() < deadline
        ):
            with factory() as session:
                results.append(verify.verify_chain(session, settings=scratch_settings))
    finally:
        stop.set()
        for t in threads:
            t.join()
        group.shutdown_all()
    assert not errors
    bad = [r.localized_reason() for r in results if not r.ok]
    assert not bad, bad
    assert results[-1].checkpoints > 0 and results[-1].checked > results[0].checked
    engine.dispose()
