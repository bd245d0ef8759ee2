"""The audit chain: appends, verification, and tampering of every kind being caught."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from gongshu.audit import service
from gongshu.audit.models import AuditEntry, AuditHead
from gongshu.auth.actor import Actor
from gongshu.db import make_engine, make_session_factory, unit_of_work
from gongshu.settings import Settings

ACTOR = Actor.system("pytest")


def _append(db: Session, n: int) -> list[AuditEntry]:
    entries = []
    with unit_of_work(db):
        for i in range(n):
            entries.append(
                service.record(
                    db,
                    ACTOR,
                    "thing.update",
                    "thing",
                    i,
                    label=f"第{i}件",
                    changes={"title": ["旧", f"新{i}"], "count": [i, i + 1]},
                )
            )
    return entries


def test_entries_chain_onto_each_other(db: Session) -> None:
    entries = _append(db, 3)
    assert [e.seq for e in entries] == [entries[0].seq, entries[0].seq + 1, entries[0].seq + 2]
    assert entries[1].prev_hash == entries[0].entry_hash
    assert entries[2].prev_hash == entries[1].entry_hash
    result = service.verify(db)
    assert result.ok, result.reason
    assert result.checked >= 3


def test_diff_keeps_only_changes() -> None:
    assert service.diff({"a": 1, "b": "x"}, {"a": 1, "b": "y", "c": None}) == {"b": ["x", "y"]}


def test_modified_entry_is_caught(db: Session) -> None:
    entries = _append(db, 4)
    target = entries[1]
    db.execute(
        update(AuditEntry).where(AuditEntry.id == target.id).values(actor_name="someone else")
    )
    result = service.verify(db)
    assert not result.ok
    assert result.broken_seq == target.seq


def test_modified_changes_are_caught(db: Session) -> None:
    entries = _append(db, 3)
    db.execute(
        update(AuditEntry)
        .where(AuditEntry.id == entries[2].id)
        .values(changes={"title": ["旧", "伪造"]})
    )
    assert service.verify(db).broken_seq == entries[2].seq


def test_deleted_entry_is_caught(db: Session) -> None:
    entries = _append(db, 4)
    db.execute(delete(AuditEntry).where(AuditEntry.id == entries[1].id))
    result = service.verify(db)
    assert not result.ok
    assert result.broken_seq == entries[2].seq


def test_deleted_last_entry_is_caught(db: Session) -> None:
    entries = _append(db, 3)
    db.execute(delete(AuditEntry).where(AuditEntry.id == entries[-1].id))
    result = service.verify(db)
    assert not result.ok
    assert result.broken_seq == entries[-1].seq


def test_inserted_entry_is_caught(db: Session) -> None:
    entries = _append(db, 3)
    # An attacker shifts later entries up and slots a forged one in, with a correct own hash.
    seqs = [e.seq for e in entries]
    for e, seq in reversed(list(zip(entries[1:], seqs[1:], strict=True))):
        db.execute(update(AuditEntry).where(AuditEntry.id == e.id).values(seq=seq + 1))
    forged = AuditEntry(
        seq=seqs[1],
        at=entries[0].at,
        actor_id=None,
        actor_name="forger",
        agency_id=None,
        action="thing.update",
        object_type="thing",
        object_id="x",
        object_label="",
        changes={},
        request_id="",
        ip="",
        prev_hash=entries[0].entry_hash,
        entry_hash="",
    )
    forged.entry_hash = service._hash_entry(forged)
    db.add(forged)
    db.flush()
    db.execute(update(AuditHead).values(seq=seqs[-1] + 1))
    result = service.verify(db)
    assert not result.ok
    assert result.broken_seq == seqs[1] + 1


def test_reordered_entries_are_caught(db: Session) -> None:
    entries = _append(db, 3)
    (a, a_seq), (b, b_seq) = (entries[0], entries[0].seq), (entries[1], entries[1].seq)
    db.execute(update(AuditEntry).where(AuditEntry.id == a.id).values(seq=-1))
    db.execute(update(AuditEntry).where(AuditEntry.id == b.id).values(seq=a_seq))
    db.execute(update(AuditEntry).where(AuditEntry.id == a.id).values(seq=b_seq))
    result = service.verify(db)
    assert not result.ok
    assert result.broken_seq == a_seq


def test_history_is_a_view_of_the_chain(db: Session) -> None:
    _append(db, 2)
    history = service.history(db, "thing", 1)
    assert [e.object_id for e in history] == ["1"]
    assert history[0].changes["title"] == ["旧", "新1"]


def test_a_rolled_back_write_leaves_no_entry(db: Session) -> None:
    before = db.scalar(select(AuditHead.seq)) or 0
    with pytest.raises(RuntimeError), unit_of_work(db):
        service.record(db, ACTOR, "thing.update", "thing", 1)
        raise RuntimeError("boom")
    assert (db.scalar(select(AuditHead.seq)) or 0) == before
    assert service.verify(db).ok


def test_concurrent_writers_extend_one_chain(scratch_settings: Settings) -> None:
    """Writers in separate connections append one after another, never forking the chain."""
    engine = make_engine(scratch_settings)
    factory = make_session_factory(engine)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(10):
                with factory() as session, unit_of_work(session):
                    service.record(session, ACTOR, "thing.update", "thing", f"{n}-{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with factory() as session:
        result = service.verify(session)
        assert result.ok, result.reason
        assert result.checked == 40
    engine.dispose()
