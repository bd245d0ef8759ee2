"""Writing to and verifying the audit chain.

Every service write calls ``record`` inside its own transaction, so the change and its audit
entry commit or roll back together. Each entry stores its predecessor's hash and a SHA-256
over all its own stored columns (canonical JSON); ``verify`` recomputes both along the chain
and checks the head row, so a modified, deleted, inserted or reordered entry is caught.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from gongshu.audit.models import GENESIS_HASH, AuditEntry, AuditHead
from gongshu.auth.actor import Actor
from gongshu.db import utcnow
from gongshu.i18n import Language, translate

HEAD_ID = 1


def plain(value: Any) -> Any:
    """A JSON-safe, stable form of a value for diffs (enums by value, dates in ISO form)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | float):
        return str(value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def snapshot(obj: Any, names: Iterable[str]) -> dict[str, Any]:
    """The named attributes of an object, in their plain form."""
    return {name: plain(getattr(obj, name)) for name in names}


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """Field-level changes as ``{field: [old, new]}``; unchanged fields are left out."""
    out: dict[str, Any] = {}
    for key in sorted(set(old) | set(new)):
        before, after = plain(old.get(key)), plain(new.get(key))
        if before != after:
            out[key] = [before, after]
    return out


def _hash_entry(entry: AuditEntry) -> str:
    body = {
        "seq": entry.seq,
        "at": entry.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "agency_id": entry.agency_id,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "object_label": entry.object_label,
        "changes": entry.changes,
        "request_id": entry.request_id,
        "ip": entry.ip,
        "prev_hash": entry.prev_hash,
    }
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _lock_head(session: Session) -> AuditHead:
    dialect = session.get_bind().dialect.name
    values = {"id": HEAD_ID, "seq": 0, "entry_hash": GENESIS_HASH}
    if dialect == "postgresql":
        session.execute(pg_insert(AuditHead).values(values).on_conflict_do_nothing())
    else:
        session.execute(sqlite_insert(AuditHead).values(values).on_conflict_do_nothing())
    stmt = select(AuditHead).where(AuditHead.id == HEAD_ID).with_for_update()
    return session.scalars(stmt.execution_options(populate_existing=True)).one()


def record(
    session: Session,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: object,
    *,
    label: str = "",
    changes: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the chain, in the caller's transaction.

    ``action`` is a dotted name documented in docs/audit.md (``agency.create``, …);
    ``changes`` is usually ``diff(before, after)``.
    """
    session.flush()
    head = _lock_head(session)
    entry = AuditEntry(
        seq=head.seq + 1,
        at=utcnow(),
        actor_id=actor.user_id,
        actor_name=actor.name,
        agency_id=actor.agency_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        object_label=label[:300],
        changes=plain(dict(changes or {})),
        request_id=actor.request_id,
        ip=actor.ip,
        prev_hash=head.entry_hash,
    )
    entry.entry_hash = _hash_entry(entry)
    session.add(entry)
    session.flush()
    head.seq = entry.seq
    head.entry_hash = entry.entry_hash
    head.entry_id = entry.id
    session.flush()
    return entry


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of recomputing the chain."""

    ok: bool
    checked: int
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str = ""  # a message id (Chinese), filled with ``params``
    params: dict[str, Any] | None = None

    def localized_reason(self, lang: Language | None = None) -> str:
        return translate(self.reason, lang, **(self.params or {}))


def verify(session: Session, batch: int = 5000) -> VerifyResult:
    """Recompute the whole chain and name the first entry that does not fit."""
    stmt = select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=batch)
    result = session.scalars(stmt)
    try:
        return _verify_entries(session, result)
    finally:
        result.close()  # a server-side cursor on PostgreSQL, left early on a broken chain


def _verify_entries(session: Session, entries: Iterable[AuditEntry]) -> VerifyResult:
    expected_seq = 1
    prev = GENESIS_HASH
    checked = 0
    for entry in entries:
        if entry.seq != expected_seq:
            return VerifyResult(
                False,
                checked,
                entry.seq,
                entry.id,
                "序号不连续：应为 {expected}，实为 {actual}",
                {"expected": expected_seq, "actual": entry.seq},
            )
        if entry.prev_hash != prev:
            return VerifyResult(
                False,
                checked,
                entry.seq,
                entry.id,
                "前一条记录的哈希不匹配（记录被删除、插入或重排）",
            )
        if _hash_entry(entry) != entry.entry_hash:
            return VerifyResult(
                False, checked, entry.seq, entry.id, "记录内容与其哈希不符（记录被篡改）"
            )
        prev = entry.entry_hash
        expected_seq += 1
        checked += 1
    head = session.get(AuditHead, HEAD_ID)
    head_seq, head_hash = (head.seq, head.entry_hash) if head else (0, GENESIS_HASH)
    if head_seq != checked or head_hash != prev:
        return VerifyResult(
            False,
            checked,
            checked + 1 if head_seq > checked else checked,
            None,
            "链头指向第 {head} 条，但链上只有 {count} 条（末尾记录被删除或链头被改动）",
            {"head": head_seq, "count": checked},
        )
    return VerifyResult(True, checked)


def history(session: Session, object_type: str, object_id: object) -> list[AuditEntry]:
    """The audit entries about one object, oldest first: its history is a view of the chain."""
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.object_type == object_type, AuditEntry.object_id == str(object_id))
        .order_by(AuditEntry.seq)
    )
    return list(session.scalars(stmt))
