"""The audit chain: one append-only, hash-chained table of every write and gated read, and
the signed checkpoints that anchor it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Index, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from gongshu.audit.chain import canonical_json
from gongshu.db import Base

GENESIS_HASH = "0" * 64


class CanonicalJSON(TypeDecorator[Any]):
    """A JSON column whose stored text is canonical JSON (keys sorted, no spaces).

    The version-2 entry hash covers exactly that text, so ``verify`` can hash the column
    as stored instead of parsing and re-serialising a million documents. Reading still gives
    the parsed value.
    """

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Any) -> Any:
        def process(value: Any) -> str | None:
            return None if value is None else canonical_json(value)

        return process


class AuditEntry(Base):
    """One recorded action. ``entry_hash`` covers every other stored column, including
    ``prev_hash``, so changing, removing, inserting or reordering entries breaks the chain.

    ``dataset_id``, ``result`` and ``rows`` repeat what ``changes`` says (the catalog
    entry concerned, allowed/denied for gate decisions, rows returned) so that searches and
    statistics need no JSON operators; see :mod:`gongshu.audit.chain` for how each hash
    version covers them.
    """

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_object", "object_type", "object_id"),
        # Keyset pages (newest first) filtered by body, user, catalog entry or action.
        Index("ix_audit_entry_agency_seq", "agency_id", "seq"),
        Index("ix_audit_entry_actor_seq", "actor_id", "seq"),
        Index("ix_audit_entry_dataset_seq", "dataset_id", "seq"),
        Index("ix_audit_entry_action_seq", "action", "seq"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None]
    actor_name: Mapped[str] = mapped_column(String(100))
    agency_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    object_label: Mapped[str] = mapped_column(String(300), default="")
    changes: Mapped[dict[str, Any]] = mapped_column(CanonicalJSON, default=dict)
    request_id: Mapped[str] = mapped_column(String(64), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Entries older than migration 0015 keep version 1 (see gongshu.audit.chain).
    hash_version: Mapped[int] = mapped_column(SmallInteger, server_default=text("1"))
    dataset_id: Mapped[int | None]
    result: Mapped[str] = mapped_column(String(16), default="", server_default="")
    rows: Mapped[int | None]


class AuditHead(Base):
    """The single row that points at the chain's last entry.

    Writers lock it (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's write lock does the
    same) so that concurrent transactions append one after another, never from the same
    predecessor.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    entry_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
    # Deliberately no foreign key: the head must stay readable whatever was done to entries.
    entry_id: Mapped[int | None]


class AuditCheckpoint(Base):
    """A signed statement of the chain at one size: the RFC 6962 Merkle root over the
    first ``tree_size`` entries and the hash of entry ``tree_size`` (the head then).

    ``seq_from``–``seq_to`` are the entries added since the previous checkpoint (``seq_to``
    equals ``tree_size``). The platform seal signs :func:`gongshu.audit.checkpoint.
    statement` of these values; ``frontier`` (the tree's perfect-subtree roots) lets the
    next checkpoint hash only the entries after this one. Exported checkpoints kept by an
    outside party show whether the chain was later rewritten.
    """

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq_from: Mapped[int]
    seq_to: Mapped[int]
    tree_size: Mapped[int] = mapped_column(unique=True)
    root_hash: Mapped[str] = mapped_column(String(64))
    head_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    suite: Mapped[str] = mapped_column(String(32))
    key_id: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(128))
    signature: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[str] = mapped_column(String(40))
    frontier: Mapped[list[Any]] = mapped_column(default=list)
