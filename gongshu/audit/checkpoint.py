"""Signed checkpoints of the audit chain, and their export for an outside party.

A checkpoint states, for the first ``tree_size`` entries: the RFC 6962 Merkle root over
their hashes (:mod:`gongshu.audit.merkle`) and the hash of entry ``tree_size``. The platform
seal signs the canonical JSON of that statement (:func:`statement`)::

    {"format": "gongshu-audit-checkpoint/1", "tree": "rfc6962-sha256",
     "seq_from": …, "seq_to": …, "tree_size": …, "root": <hex>, "head_hash": <hex>,
     "time": <ISO 8601 UTC>}

Checkpoints are written every ``GONGSHU_AUDIT_CHECKPOINT_ENTRIES`` entries or
``GONGSHU_AUDIT_CHECKPOINT_MINUTES`` minutes by a job (:mod:`gongshu.audit.jobs`) and by
``gongshu audit checkpoint``. Before signing, the new entries are verified (hashes and
links), so a checkpoint never blesses a chain that is already broken. Export (one JSON object
per line, :meth:`ExportedCheckpoint.to_json`) lets someone outside keep them: ``gongshu audit
verify --checkpoints FILE`` then shows whether the database still holds the chain they
signed, even if every hash in it was recomputed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, func, select, text
from sqlalchemy.orm import Session

from gongshu.audit.chain import CHECKPOINT_ACTION, canonical_json
from gongshu.audit.merkle import inclusion_proof, leaf_hash
from gongshu.audit.models import GENESIS_HASH, AuditCheckpoint, AuditEntry, AuditHead
from gongshu.audit.service import HEAD_ID, record
from gongshu.auth.actor import Actor
from gongshu.auth.permissions import require_login
from gongshu.db import unit_of_work, utcnow
from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.i18n import N_
from gongshu.seal import Signature, platform_seal
from gongshu.settings import Settings, get_settings

FORMAT = "gongshu-audit-checkpoint/1"
TREE = "rfc6962-sha256"
ACTION = CHECKPOINT_ACTION
OBJECT_TYPE = "audit_checkpoint"
_LOCK_KEY = 0x67736370  # "gscp": one checkpoint writer at a time on PostgreSQL

MSG_CHAIN_BROKEN = N_(
    "审计链在第 {seq} 条记录处已被破坏，不能签发检查点；请运行 gongshu audit verify 查看原因"
)
MSG_BAD_LINE = N_("检查点文件第 {line} 行无法识别：{error}")
MSG_EMPTY_FILE = N_("检查点文件中没有检查点")
MSG_NO_CHECKPOINTS = N_("只有审计人员和大数据主管部门可以查看检查点")
MSG_NO_CHECKPOINT = N_("没有这个检查点")
MSG_NOT_COVERED = N_("第 {seq} 条记录不在该检查点（前 {size} 条）覆盖的范围内")


@dataclass(frozen=True)
class ExportedCheckpoint:
    """A checkpoint as exported: the signed statement and its signature."""

    seq_from: int
    seq_to: int
    tree_size: int
    root: str
    head_hash: str
    time: str
    signature: Signature
    id: int | None = None

    def statement(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "tree": TREE,
            "seq_from": self.seq_from,
            "seq_to": self.seq_to,
            "tree_size": self.tree_size,
            "root": self.root,
            "head_hash": self.head_hash,
            "time": self.time,
        }

    def statement_bytes(self) -> bytes:
        return canonical_json(self.statement()).encode("utf-8")

    def to_json(self) -> dict[str, Any]:
        """One export line: the statement, the checkpoint id, the key id and the signature."""
        return {
            **self.statement(),
            "id": self.id,
            "key_id": self.signature.key_id,
            "signature": self.signature.as_dict(),
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> ExportedCheckpoint:
        if body.get("format") != FORMAT or body.get("tree") != TREE:
            raise ValueError(f"not a {FORMAT} line")
        signature = body["signature"]
        if not isinstance(signature, dict):
            raise ValueError("signature is not an object")
        return cls(
            seq_from=_int(body["seq_from"]),
            seq_to=_int(body["seq_to"]),
            tree_size=_int(body["tree_size"]),
            root=_hex(body["root"]),
            head_hash=_hex(body["head_hash"]),
            time=str(body["time"]),
            signature=Signature.from_dict(signature),
            id=_int(body["id"]) if body.get("id") is not None else None,
        )

    @classmethod
    def of(cls, row: Any) -> ExportedCheckpoint:
        """From an ``AuditCheckpoint`` or a row with the same column names."""
        return cls(
            seq_from=row.seq_from,
            seq_to=row.seq_to,
            tree_size=row.tree_size,
            root=row.root_hash,
            head_hash=row.head_hash,
            time=_time(row.created_at),
            signature=Signature(
                suite=row.suite,
                key_id=row.key_id,
                digest=row.digest,
                signature=row.signature,
                signed_at=row.signed_at,
            ),
            id=row.id,
        )


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{value!r} is not a non-negative integer")
    return value


def _hex(value: Any) -> str:
    if not isinstance(value, str) or len(value) != 64:
        raise ValueError(f"{value!r} is not a SHA-256 hex digest")
    bytes.fromhex(value)
    return value.lower()


def _time(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="seconds")


def signature_valid(checkpoint: ExportedCheckpoint, settings: Settings | None = None) -> bool:
    """Whether the platform seal (current or retired key) signed this statement."""
    return platform_seal(settings).verify(checkpoint.statement_bytes(), checkpoint.signature)


def latest(session: Session) -> AuditCheckpoint | None:
    return session.scalars(
        select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size.desc()).limit(1)
    ).first()


def list_checkpoints(
    session: Session, *, after_size: int = 0, limit: int | None = None
) -> list[AuditCheckpoint]:
    """Checkpoints in chain order (smallest tree first), those above ``after_size``."""
    stmt = (
        select(AuditCheckpoint)
        .where(AuditCheckpoint.tree_size > after_size)
        .order_by(AuditCheckpoint.tree_size)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditCheckpoint)) or 0)


def export_lines(session: Session, *, after_size: int = 0) -> Iterator[str]:
    """Every checkpoint as one JSON line (with its trailing newline), oldest first."""
    batch = 500
    while True:
        rows = list_checkpoints(session, after_size=after_size, limit=batch)
        for row in rows:
            yield json.dumps(ExportedCheckpoint.of(row).to_json(), ensure_ascii=False) + "\n"
        if len(rows) < batch:
            return
        after_size = rows[-1].tree_size


def parse_export(lines: Iterable[str]) -> list[ExportedCheckpoint]:
    """Read an export file's lines; blank lines are skipped, anything else must parse."""
    out: list[ExportedCheckpoint] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            body = json.loads(line)
            if not isinstance(body, dict):
                raise ValueError("not a JSON object")
            out.append(ExportedCheckpoint.from_json(body))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValidationFailed(MSG_BAD_LINE, line=number, error=str(exc)) from exc
    if not out:
        raise ValidationFailed(MSG_EMPTY_FILE)
    return out


def _head(conn: Connection) -> tuple[int, str]:
    row = conn.execute(
        select(AuditHead.seq, AuditHead.entry_hash).where(AuditHead.id == HEAD_ID)
    ).first()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)


def _latest(conn: Connection) -> Row[Any, Any, Any] | None:
    c = AuditCheckpoint.__table__.c
    return conn.execute(
        select(c.tree_size, c.head_hash, c.frontier).order_by(c.tree_size.desc()).limit(1)
    ).first()


def write_checkpoint(
    session: Session,
    settings: Settings | None = None,
    *,
    actor: Actor | None = None,
    force: bool = False,
) -> AuditCheckpoint | None:
    """Sign a checkpoint of the chain as it stands, unless nothing was added since the last
    one but that checkpoint's own entry (``force``: sign even then). Returns the new row, or
    None when there was nothing to sign or another writer signed the same entries first.

    The entries since the previous checkpoint are verified first (``Conflict`` if they are
    broken); they are read without holding SQLite's write lock. The checkpoint and its
    ``audit.checkpoint`` entry commit together.
    """
    from gongshu.audit.verify import extend_frontier, read_connection

    settings = settings or get_settings()
    actor = actor or Actor.system("audit-checkpoint")
    with read_connection(session) as conn:
        previous = _latest(conn)
        head, _head_hash = _head(conn)
        base_size = int(previous.tree_size) if previous is not None else 0
        if head <= base_size:
            return None
        if not force and head == base_size + 1 and previous is not None:
            own = conn.scalar(select(AuditEntry.action).where(AuditEntry.seq == head))
            if own == ACTION:
                return None
        extended = extend_frontier(
            conn,
            base_size,
            list(previous.frontier) if previous is not None else [],
            str(previous.head_hash) if previous is not None else GENESIS_HASH,
            head,
        )
    if extended.problem is not None:
        raise Conflict(MSG_CHAIN_BROKEN, seq=extended.problem[0])
    seal = platform_seal(settings)
    with unit_of_work(session):
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        now_latest = latest(session)
        if (now_latest.tree_size if now_latest else 0) != base_size:
            return None  # another writer signed these entries first; theirs stands
        created = utcnow().replace(microsecond=0)
        unsigned = ExportedCheckpoint(
            seq_from=base_size + 1,
            seq_to=head,
            tree_size=head,
            root=extended.frontier.root().hex(),
            head_hash=extended.head_hash,
            time=_time(created),
            signature=Signature("", "", "", "", ""),
        )
        signature = seal.sign(unsigned.statement_bytes())
        row = AuditCheckpoint(
            seq_from=unsigned.seq_from,
            seq_to=unsigned.seq_to,
            tree_size=unsigned.tree_size,
            root_hash=unsigned.root,
            head_hash=unsigned.head_hash,
            created_at=created,
            suite=signature.suite,
            key_id=signature.key_id,
            digest=signature.digest,
            signature=signature.signature,
            signed_at=signature.signed_at,
            frontier=extended.frontier.to_hex(),
        )
        session.add(row)
        session.flush()
        record(
            session,
            actor,
            ACTION,
            OBJECT_TYPE,
            row.id,
            label=f"1–{row.tree_size}",
            changes={
                "tree_size": row.tree_size,
                "seq_from": row.seq_from,
                "root": row.root_hash,
                "head_hash": row.head_hash,
                "key_id": row.key_id,
            },
        )
    return row


def due_by_time(session: Session, settings: Settings) -> bool:
    """Whether the last checkpoint is older than ``GONGSHU_AUDIT_CHECKPOINT_MINUTES``."""
    from gongshu.audit.verify import read_connection

    with read_connection(session) as conn:
        created = conn.scalar(
            select(AuditCheckpoint.created_at).order_by(AuditCheckpoint.tree_size.desc()).limit(1)
        )
    if created is None:
        return True
    return utcnow() - created >= dt.timedelta(minutes=settings.audit_checkpoint_minutes)


@dataclass(frozen=True)
class Proof:
    """An RFC 6962 audit path showing that entry ``seq`` is in a checkpoint's tree."""

    seq: int
    checkpoint: AuditCheckpoint
    entry_hash: str
    leaf: bytes
    path: list[bytes]


def require_reader(actor: Actor | None) -> Actor:
    """Checkpoints and proofs are for those who see the whole chain."""
    from gongshu.audit.queries import sees_all

    actor = require_login(actor)
    if not sees_all(actor):
        raise PermissionDenied(MSG_NO_CHECKPOINTS)
    return actor


def inclusion(
    session: Session, actor: Actor | None, seq: int, tree_size: int | None = None
) -> Proof:
    """The audit path of entry ``seq`` in the checkpoint of ``tree_size`` (default: the
    latest). Hashes every entry of that tree, so it costs about a second per million."""
    from gongshu.audit.verify import read_connection

    require_reader(actor)
    stmt = select(AuditCheckpoint)
    if tree_size is not None:
        stmt = stmt.where(AuditCheckpoint.tree_size == tree_size)
    checkpoint = session.scalars(stmt.order_by(AuditCheckpoint.tree_size.desc()).limit(1)).first()
    if checkpoint is None:
        raise NotFound(MSG_NO_CHECKPOINT)
    if not 1 <= seq <= checkpoint.tree_size:
        raise NotFound(MSG_NOT_COVERED, seq=seq, size=checkpoint.tree_size)
    with read_connection(session) as conn:
        hashes = conn.scalars(
            select(AuditEntry.entry_hash)
            .where(AuditEntry.seq <= checkpoint.tree_size)
            .order_by(AuditEntry.seq)
        ).all()
    if len(hashes) != checkpoint.tree_size:
        raise Conflict(MSG_CHAIN_BROKEN, seq=len(hashes) + 1)
    leaves = [leaf_hash(bytes.fromhex(h)) for h in hashes]
    return Proof(
        seq=seq,
        checkpoint=checkpoint,
        entry_hash=hashes[seq - 1],
        leaf=leaves[seq - 1],
        path=inclusion_proof(seq - 1, leaves),
    )
