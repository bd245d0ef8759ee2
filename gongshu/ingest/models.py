"""Ingestions (汇聚任务) and each dataset's ingestion profile.

An :class:`Ingestion` is one attempt to turn a file, a database query or a pushed batch into
a new dataset version: what came in, how it was read, how many rows passed, where the
rejected rows are, and which version it published. Traceability (溯源) follows a value from
its version to the ingestion that produced it, and from there to the source file and the
person who uploaded it.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gongshu.db import Base, utcnow
from gongshu.orgs.models import str_enum


class IngestMode(enum.StrEnum):
    REPLACE = "replace"  # 全量替换
    APPEND = "append"  # 追加
    UPSERT = "upsert"  # 按主键更新或插入


class InvalidPolicy(enum.StrEnum):
    REJECT = "reject"  # 有错误行时整批拒绝
    QUARANTINE = "quarantine"  # 发布有效行，隔离错误行


class IngestStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    PUBLISHED = "published"
    REJECTED = "refused"  # nothing published; "rejected" already names a refused change
    FAILED = "failed"


class SourceKind(enum.StrEnum):
    UPLOAD = "upload"
    PULL = "pull"
    PUSH = "push"
    ROLLBACK = "rollback"


class IngestProfile(Base):
    """How a dataset's uploads are handled: the invalid-row policy and the remembered mapping."""

    __tablename__ = "ingest_profile"

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("dataset.id", ondelete="CASCADE"), primary_key=True
    )
    on_invalid: Mapped[InvalidPolicy] = mapped_column(
        str_enum(InvalidPolicy, "invalid_policy"), default=InvalidPolicy.REJECT
    )
    # field name -> source column header, from the last successful upload or the editor
    mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Ingestion(Base):
    """One ingestion attempt and everything needed to trace its rows back to their source."""

    __tablename__ = "ingestion"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id"), index=True)
    status: Mapped[IngestStatus] = mapped_column(
        str_enum(IngestStatus, "ingest_status"), default=IngestStatus.QUEUED
    )
    source_kind: Mapped[SourceKind] = mapped_column(str_enum(SourceKind, "source_kind"))
    mode: Mapped[IngestMode] = mapped_column(str_enum(IngestMode, "ingest_mode"))
    snapshot: Mapped[bool] = mapped_column(default=False)
    on_invalid: Mapped[InvalidPolicy] = mapped_column(str_enum(InvalidPolicy, "invalid_policy"))
    file_name: Mapped[str] = mapped_column(String(255), default="")
    file_key: Mapped[str] = mapped_column(String(300), default="")
    file_sha256: Mapped[str] = mapped_column(String(64), default="")
    file_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    detected: Mapped[dict[str, Any]] = mapped_column(default=dict)
    mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)
    rows_read: Mapped[int] = mapped_column(default=0)
    rows_valid: Mapped[int] = mapped_column(default=0)
    rows_rejected: Mapped[int] = mapped_column(default=0)
    warnings: Mapped[int] = mapped_column(default=0)
    issues: Mapped[list[Any]] = mapped_column(default=list)
    rejected_key: Mapped[str] = mapped_column(String(300), default="")
    bytes_done: Mapped[int] = mapped_column(BigInteger, default=0)
    # host, pid and process start of the process running it: a start-up sweep fails the
    # ingestions whose process died, so none stays "running" for ever
    runner: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("dataset_version.id"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id"))
    error: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
