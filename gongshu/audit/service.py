"""Writing to and verifying the audit chain.

Every service write calls ``record`` inside its own transaction, so the change and its audit
entry commit or roll back together. Each entry stores its predecessor's hash and a SHA-256
over all its own stored columns (:mod:`gongshu.audit.chain`); ``verify`` recomputes both
along the chain, checks the head row and every signed checkpoint, so a modified, deleted,
inserted or reordered entry is caught, and so is a chain rewritten with fresh hashes once a
checkpoint covering it has been kept outside.

Gate reads append through :mod:`gongshu.audit.group` (several requests' entries in one
commit); both paths lock the same head row, so they interleave into one chain.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from gongshu.audit.chain import (
    HASH_VERSION,
    canonical_json,
    clean_text,
    derive,
    iso_at,
    v1_hash,
    v2_digest,
    v2_fields,
)
from gongshu.audit.models import GENESIS_HASH, AuditEntry, AuditHead
from gongshu.auth.actor import Actor
from gongshu.db import utcnow
from gongshu.i18n import Language, translate

if TYPE_CHECKING:
    from gongshu.audit.checkpoint import ExportedCheckpoint
    from gongshu.settings import Settings

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
    """The hash an entry should carry, by its own hash version (see gongshu.audit.chain)."""
    at_iso = iso_at(entry.at)
    if entry.hash_version == HASH_VERSION:
        return v2_digest(
            v2_fields(
                seq=entry.seq,
                at_iso=at_iso,
                actor_id=entry.actor_id,
                actor_name=entry.actor_name,
                agency_id=entry.agency_id,
                action=entry.action,
                object_type=entry.object_type,
                object_id=entry.object_id,
                object_label=entry.object_label,
                changes_json=canonical_json(entry.changes),
                request_id=entry.request_id,
                ip=entry.ip,
                prev_hash=entry.prev_hash,
                dataset_id=entry.dataset_id,
                result=entry.result,
                rows=entry.rows,
            )
        ).hex()
    return v1_hash(
        seq=entry.seq,
        at_iso=at_iso,
        actor_id=entry.actor_id,
        actor_name=entry.actor_name,
        agency_id=entry.agency_id,
        action=entry.action,
        object_type=entry.object_type,
        object_id=entry.object_id,
        object_label=entry.object_label,
        changes=entry.changes,
        request_id=entry.request_id,
        ip=entry.ip,
        prev_hash=entry.prev_hash,
    )


def lock_head(session: Session) -> AuditHead:
    """The chain's head row, created if missing and locked until the transaction ends."""
    dialect = session.get_bind().dialect.name
    values = {"id": HEAD_ID, "seq": 0, "entry_hash": GENESIS_HASH}
    if dialect == "postgresql":
        session.execute(pg_insert(AuditHead).values(values).on_conflict_do_nothing())
    else:
        session.execute(sqlite_insert(AuditHead).values(values).on_conflict_do_nothing())
    stmt = select(AuditHead).where(AuditHead.id == HEAD_ID).with_for_update()
    return session.scalars(stmt.execution_options(populate_existing=True)).one()


@dataclass(frozen=True)
class Prepared:
    """An entry's content before it has a place in the chain (seq, time, predecessor)."""

    actor_id: int | None
    actor_name: str
    agency_id: int | None
    action: str
    object_type: str
    object_id: str
    object_label: str
    changes: dict[str, Any]
    changes_json: str
    request_id: str
    ip: str
    dataset_id: int | None
    result: str
    rows: int | None


def prepare(
    actor: Actor,
    action: str,
    object_type: str,
    object_id: object,
    *,
    label: str = "",
    changes: Mapping[str, Any] | None = None,
) -> Prepared:
    """Clean and serialise an entry's content; raises on content that cannot be stored
    (so one bad entry fails its own caller, never a whole group commit)."""
    content = plain(dict(changes or {}))
    text = canonical_json(content)
    object_text = clean_text(str(object_id))[:64]
    action_text = clean_text(action)[:64]
    type_text = clean_text(object_type)[:32]
    dataset_id, result, rows = derive(action_text, type_text, object_text, content)
    return Prepared(
        actor_id=actor.user_id,
        actor_name=clean_text(actor.name)[:100],
        agency_id=actor.agency_id,
        action=action_text,
        object_type=type_text,
        object_id=object_text,
        object_label=clean_text(label)[:300],
        changes=content,
        changes_json=text,
        request_id=clean_text(actor.request_id)[:64],
        ip=clean_text(actor.ip)[:64],
        dataset_id=dataset_id,
        result=result,
        rows=rows,
    )


def chained(item: Prepared, seq: int, prev_hash: str, at: dt.datetime) -> dict[str, Any]:
    """The column values of ``item`` placed at ``seq`` after ``prev_hash``, hash included."""
    entry_hash = v2_digest(
        v2_fields(
            seq=seq,
            at_iso=iso_at(at),
            actor_id=item.actor_id,
            actor_name=item.actor_name,
            agency_id=item.agency_id,
            action=item.action,
            object_type=item.object_type,
            object_id=item.object_id,
            object_label=item.object_label,
            changes_json=item.changes_json,
            request_id=item.request_id,
            ip=item.ip,
            prev_hash=prev_hash,
            dataset_id=item.dataset_id,
            result=item.result,
            rows=item.rows,
        )
    ).hex()
    return {
        "seq": seq,
        "at": at,
        "actor_id": item.actor_id,
        "actor_name": item.actor_name,
        "agency_id": item.agency_id,
        "action": item.action,
        "object_type": item.object_type,
        "object_id": item.object_id,
        "object_label": item.object_label,
        "changes": item.changes,
        "request_id": item.request_id,
        "ip": item.ip,
        "prev_hash": prev_hash,
        "entry_hash": entry_hash,
        "hash_version": HASH_VERSION,
        "dataset_id": item.dataset_id,
        "result": item.result,
        "rows": item.rows,
    }


def after_append(session: Session, first_seq: int, last_seq: int) -> None:
    """Queue a checkpoint when entries ``first_seq``–``last_seq`` cross a multiple of
    ``GONGSHU_AUDIT_CHECKPOINT_ENTRIES``, and start the timed checkpoints with the first
    entry of a new chain (in the appending transaction: no entry, no job)."""
    from gongshu.audit.jobs import on_append

    on_append(session, first_seq, last_seq)


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
    ``changes`` is usually ``diff(before, after)``. Gate reads, which must be durable
    before rows leave, use :func:`gongshu.audit.group.append_durable` instead.
    """
    item = prepare(actor, action, object_type, object_id, label=label, changes=changes)
    session.flush()
    head = lock_head(session)
    entry = AuditEntry(**chained(item, head.seq + 1, head.entry_hash, utcnow()))
    session.add(entry)
    session.flush()
    head.seq = entry.seq
    head.entry_hash = entry.entry_hash
    head.entry_id = entry.id
    after_append(session, entry.seq, entry.seq)
    session.flush()
    return entry


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of recomputing the chain and checking its checkpoints.

    ``broken_seq`` is the first entry that does not fit (for a checkpoint whose root no
    longer matches: the first entry of the range it covers since the previous good one);
    ``checkpoint_id`` names the checkpoint involved, if any.
    """

    ok: bool
    checked: int
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str = ""  # a message id (Chinese), filled with ``params``
    params: dict[str, Any] | None = None
    checkpoints: int = 0
    external: int = 0
    checkpoint_id: int | None = None
    seconds: float = 0.0

    def localized_reason(self, lang: Language | None = None) -> str:
        return translate(self.reason, lang, **(self.params or {}))


def verify(
    session: Session,
    batch: int = 10_000,
    *,
    external: Sequence[ExportedCheckpoint] = (),
    settings: Settings | None = None,
) -> VerifyResult:
    """Recompute the whole chain and every checkpoint; name the first entry that does not
    fit. ``external`` are checkpoints an outside party kept (``checkpoints export``)."""
    from gongshu.audit.verify import verify_chain

    return verify_chain(session, batch=batch, external=external, settings=settings)


def history(session: Session, object_type: str, object_id: object) -> list[AuditEntry]:
    """The audit entries about one object, oldest first: its history is a view of the chain."""
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.object_type == object_type, AuditEntry.object_id == str(object_id))
        .order_by(AuditEntry.seq)
    )
    return list(session.scalars(stmt))
