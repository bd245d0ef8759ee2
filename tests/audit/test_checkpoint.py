"""Signed checkpoints, their export, and ``verify`` catching every kind of tampering —
including a chain whose every hash was recomputed after the change."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from gongshu.audit import checkpoint, jobs, service
from gongshu.audit.checkpoint import ExportedCheckpoint, parse_export, write_checkpoint
from gongshu.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from gongshu.auth.actor import Actor
from gongshu.db import unit_of_work
from gongshu.errors import Conflict, ValidationFailed
from gongshu.jobs.models import Job, JobStatus
from gongshu.seal import Signature, platform_seal
from gongshu.settings import get_settings

ACTOR = Actor(user_id=7, name="王审计", agency_id=3, request_id="r1", ip="10.0.0.1")


def _append(db: Session, n: int, start: int = 0) -> list[AuditEntry]:
    out = []
    with unit_of_work(db):
        for i in range(start, start + n):
            out.append(
                service.record(
                    db,
                    ACTOR,
                    "data.read",
                    "dataset",
                    i % 5 + 1,
                    label=f"目录条目{i}",
                    changes={"purpose": "核查", "rows": i, "grant": 4},
                )
            )
    return out


def _entries(db: Session) -> list[AuditEntry]:
    return list(db.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def _rehash_from(db: Session, seq: int) -> None:
    """What an attacker with database access does after changing entries: recompute every
    hash from ``seq`` on and point the head at the new end."""
    entries = [e for e in _entries(db) if e.seq >= seq - 1]
    prev = entries[0].entry_hash if entries and entries[0].seq == seq - 1 else "0" * 64
    for e in entries:
        if e.seq < seq:
            continue
        e.prev_hash = prev
        e.entry_hash = service._hash_entry(e)
        prev = e.entry_hash
    db.flush()
    last = _entries(db)[-1]
    db.execute(update(AuditHead).values(seq=last.seq, entry_hash=last.entry_hash, entry_id=last.id))


def _verify(db: Session, external: tuple[ExportedCheckpoint, ...] = ()) -> service.VerifyResult:
    db.expire_all()
    return service.verify(db, external=external)


@pytest.fixture
def chain(db: Session) -> AuditCheckpoint:
    """30 entries, a checkpoint over them (its own entry is the 31st), then 9 more."""
    _append(db, 30)
    cp = write_checkpoint(db)
    assert cp is not None
    _append(db, 9, 30)
    return cp


def test_a_checkpoint_states_the_root_and_head_and_is_signed(db: Session) -> None:
    entries = _append(db, 12)
    cp = write_checkpoint(db)
    assert cp is not None
    assert (cp.seq_from, cp.seq_to, cp.tree_size) == (1, 12, 12)
    assert cp.head_hash == entries[-1].entry_hash
    exported = ExportedCheckpoint.of(cp)
    assert checkpoint.signature_valid(exported)
    statement = json.loads(exported.statement_bytes())
    assert statement["format"] == "gongshu-audit-checkpoint/1"
    assert statement["root"] == cp.root_hash
    # The checkpoint is itself recorded in the chain, in the same transaction.
    recorded = _entries(db)[-1]
    assert recorded.action == "audit.checkpoint"
    assert recorded.changes["tree_size"] == 12 and recorded.changes["root"] == cp.root_hash
    # Nothing new but that entry: no new checkpoint; forced: one more.
    assert write_checkpoint(db) is None
    forced = write_checkpoint(db, force=True)
    assert forced is not None and (forced.seq_from, forced.tree_size) == (13, 13)
    # The second checkpoint grew the first one's tree.
    result = _verify(db)
    assert result.ok, result.localized_reason()
    assert result.checkpoints == 2


def test_an_edited_statement_no_longer_verifies(chain: AuditCheckpoint) -> None:
    exported = ExportedCheckpoint.of(chain)
    forged = dataclasses.replace(exported, tree_size=exported.tree_size + 1)
    assert not checkpoint.signature_valid(forged)
    other_key = Signature("ed25519-sha256", "0" * 16, exported.signature.digest,
                          exported.signature.signature, exported.signature.signed_at)  # fmt: skip
    assert not checkpoint.signature_valid(dataclasses.replace(exported, signature=other_key))


def test_no_checkpoint_is_signed_over_a_broken_chain(db: Session) -> None:
    entries = _append(db, 5)
    db.execute(update(AuditEntry).where(AuditEntry.id == entries[2].id).values(object_label="x"))
    with pytest.raises(Conflict) as refused:
        write_checkpoint(db)
    assert refused.value.params["seq"] == entries[2].seq
    assert db.scalar(select(AuditCheckpoint.id)) is None


def test_export_and_parse_round_trip(chain: AuditCheckpoint, db: Session) -> None:
    lines = list(checkpoint.export_lines(db))
    assert len(lines) == 1 and lines[0].endswith("\n")
    body = json.loads(lines[0])
    assert body["key_id"] == platform_seal(get_settings()).key_id
    assert set(body["signature"]) == {"suite", "key_id", "digest", "signature", "signed_at"}
    parsed = parse_export(["", *lines])
    assert parsed == [ExportedCheckpoint.of(chain)]
    with pytest.raises(ValidationFailed):
        parse_export(['{"format": "other"}'])
    with pytest.raises(ValidationFailed):
        parse_export(["", "  "])


# --- tampering, and what catches it ---------------------------------------------------------


def test_intact(chain: AuditCheckpoint, db: Session) -> None:
    result = _verify(db)
    assert result.ok and result.checked == 40 and result.checkpoints == 1


def test_modified_entry_is_caught_by_its_hash(chain: AuditCheckpoint, db: Session) -> None:
    db.execute(update(AuditEntry).where(AuditEntry.seq == 7).values(actor_name="别人"))
    result = _verify(db)
    assert (result.ok, result.broken_seq) == (False, 7)


def test_rewritten_entry_with_recomputed_hashes_is_caught_by_the_checkpoint(
    chain: AuditCheckpoint, db: Session
) -> None:
    db.execute(update(AuditEntry).where(AuditEntry.seq == 7).values(rows=0))
    _rehash_from(db, 7)
    result = _verify(db)
    assert not result.ok
    assert result.broken_seq == 1  # somewhere in 1–30, the range the checkpoint covers
    assert result.checkpoint_id == chain.id
    assert result.params == {"id": chain.id, "size": 30, "start": 1, "end": 30}


def test_deleted_entry_renumbered_and_rehashed_is_caught(
    chain: AuditCheckpoint, db: Session
) -> None:
    db.execute(delete(AuditEntry).where(AuditEntry.seq == 10))
    for e in _entries(db):
        if e.seq > 10:
            e.seq -= 1
    db.flush()
    _rehash_from(db, 10)
    result = _verify(db)
    assert not result.ok and result.checkpoint_id == chain.id


def test_inserted_entry_rehashed_is_caught(chain: AuditCheckpoint, db: Session) -> None:
    for e in reversed(_entries(db)):
        if e.seq >= 5:
            e.seq += 1
            db.flush()
    template = _entries(db)[0]
    forged = AuditEntry(
        **{c: getattr(template, c) for c in ("at", "actor_id", "actor_name", "agency_id",
                                             "action", "object_type", "object_id",
                                             "object_label", "changes", "request_id", "ip",
                                             "hash_version", "dataset_id", "result", "rows")},
        seq=5, prev_hash="", entry_hash="x",
    )  # fmt: skip
    db.add(forged)
    db.flush()
    _rehash_from(db, 5)
    result = _verify(db)
    assert not result.ok and result.checkpoint_id == chain.id


def test_reordered_entries_rehashed_are_caught(chain: AuditCheckpoint, db: Session) -> None:
    a, b = _entries(db)[3:5]
    a_seq, b_seq = a.seq, b.seq
    a.seq = -1
    db.flush()
    b.seq = a_seq
    db.flush()
    a.seq = b_seq
    db.flush()
    _rehash_from(db, a_seq)
    result = _verify(db)
    assert not result.ok and result.checkpoint_id == chain.id


def test_truncated_tail_inside_a_checkpoint_is_caught(chain: AuditCheckpoint, db: Session) -> None:
    """Entries from 26 on deleted and the head row rewritten to entry 25."""
    db.execute(delete(AuditEntry).where(AuditEntry.seq > 25))
    last = _entries(db)[-1]
    db.execute(update(AuditHead).values(seq=25, entry_hash=last.entry_hash, entry_id=last.id))
    result = _verify(db)
    assert not result.ok
    assert result.broken_seq == 26
    assert result.checkpoint_id == chain.id


def test_truncated_tail_and_deleted_checkpoints_are_caught_by_an_exported_file(
    chain: AuditCheckpoint, db: Session
) -> None:
    kept = tuple(parse_export(checkpoint.export_lines(db)))
    db.execute(delete(AuditEntry).where(AuditEntry.seq > 20))
    db.execute(delete(AuditCheckpoint))
    last = _entries(db)[-1]
    db.execute(update(AuditHead).values(seq=20, entry_hash=last.entry_hash, entry_id=last.id))
    assert _verify(db).ok  # the database alone is consistent again …
    result = _verify(db, kept)  # … but not with what was exported
    assert not result.ok
    assert result.broken_seq == 21
    assert result.external == 1


def test_truncated_tail_after_the_checkpoint_is_caught_by_a_later_export(
    chain: AuditCheckpoint, db: Session
) -> None:
    later = write_checkpoint(db)
    assert later is not None and later.tree_size == 40
    kept = tuple(parse_export(checkpoint.export_lines(db)))
    db.execute(delete(AuditEntry).where(AuditEntry.seq > 35))
    db.execute(delete(AuditCheckpoint).where(AuditCheckpoint.id == later.id))
    last = _entries(db)[-1]
    db.execute(update(AuditHead).values(seq=35, entry_hash=last.entry_hash, entry_id=last.id))
    assert _verify(db).ok
    result = _verify(db, kept)
    assert (result.ok, result.broken_seq) == (False, 36)


def test_rewritten_chain_with_rewritten_checkpoints_is_caught_by_an_exported_file(
    chain: AuditCheckpoint, db: Session
) -> None:
    """The attacker holds the signing key too: rewrites entries, rehashes, re-signs the
    checkpoint in the database. Only what was kept outside shows it."""
    kept = tuple(parse_export(checkpoint.export_lines(db)))
    db.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(actor_name="别人"))
    _rehash_from(db, 3)
    db.execute(delete(AuditCheckpoint))
    db.execute(delete(AuditEntry).where(AuditEntry.action == "audit.checkpoint"))
    for e in _entries(db):
        if e.seq > 31:
            e.seq -= 1
    db.flush()
    _rehash_from(db, 31)
    resigned = write_checkpoint(db, force=True)
    assert resigned is not None
    assert _verify(db).ok
    result = _verify(db, kept)
    assert not result.ok and result.broken_seq == 1
    assert result.checkpoint_id is None  # the external one


def test_forged_checkpoint_signature_is_caught(chain: AuditCheckpoint, db: Session) -> None:
    db.execute(
        update(AuditCheckpoint).where(AuditCheckpoint.id == chain.id).values(root_hash="ab" * 32)
    )
    db.execute(
        update(AuditEntry)
        .where(AuditEntry.action == "audit.checkpoint")
        .values(changes={"tree_size": 30, "root": "ab" * 32})
    )
    result = _verify(db)
    assert not result.ok and result.checkpoint_id == chain.id
    assert result.broken_seq == 1


def test_deleted_checkpoint_row_is_caught_by_its_entry(chain: AuditCheckpoint, db: Session) -> None:
    db.execute(delete(AuditCheckpoint))
    result = _verify(db)
    assert not result.ok
    assert result.broken_seq == 31  # the entry that recorded it


def test_external_file_from_another_key_is_refused(chain: AuditCheckpoint, db: Session) -> None:
    exported = ExportedCheckpoint.of(chain)
    bogus = dataclasses.replace(
        exported, signature=dataclasses.replace(exported.signature, key_id="f" * 16)
    )
    result = _verify(db, (bogus,))
    assert not result.ok and result.external == 1


# --- the jobs that sign them ----------------------------------------------------------------


def _checkpoint_jobs(db: Session) -> list[Job]:
    return list(
        db.scalars(
            select(Job).where(Job.kind == jobs.CHECKPOINT_JOB, Job.status == JobStatus.QUEUED)
        )
    )


def test_every_n_entries_queue_a_checkpoint_and_the_first_starts_the_timer(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "audit_checkpoint_entries", 10)
    _append(db, 1)
    queued = _checkpoint_jobs(db)
    assert [j.payload for j in queued] == [{"timer": True}]
    assert queued[0].run_after > queued[0].created_at  # due in an hour, not now
    _append(db, 8)
    assert len(_checkpoint_jobs(db)) == 1
    _append(db, 1)  # the 10th entry
    payloads = sorted(json.dumps(j.payload) for j in _checkpoint_jobs(db))
    assert payloads == ['{"reason": "entries"}', '{"timer": true}']


def test_the_job_signs_and_keeps_one_timer(db: Session) -> None:
    _append(db, 4)
    result: dict[str, Any] = jobs.checkpoint_job(db, {"reason": "entries"})
    assert result["tree_size"] == 4
    timers = [j for j in _checkpoint_jobs(db) if j.payload.get("timer")]
    assert len(timers) == 1
    # A timer run with the last checkpoint fresh signs nothing and queues the next timer.
    timers[0].status = JobStatus.RUNNING
    db.flush()
    again = jobs.checkpoint_job(db, {"timer": True})
    assert again["checkpoint"] is None and again["next_job"] is not None
