"""The audit chain: one append-only, hash-chained table of every write and gated read."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gongshu.db import Base

GENESIS_HASH = "0" * 64


class AuditEntry(Base):
    """One recorded action. ``entry_hash`` covers every other stored column, including
    ``prev_hash``, so changing, removing, inserting or reordering entries breaks the chain.
    """

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)
    at: Mapped[dt.datetime]
    actor_id: Mapped[int | None] = mapped_column(index=True)
    actor_name: Mapped[str] = mapped_column(String(100))
    agency_id: Mapped[int | None] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    object_label: Mapped[str] = mapped_column(String(300), default="")
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    request_id: Mapped[str] = mapped_column(String(64), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


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
