"""Pull sources (定时拉取): an agency's database query that becomes dataset versions on a
schedule, and the record of each run.

A :class:`PullSource` names the agency's front-end database (前置库) by a SQLAlchemy URL
*without* its password — the password lives in the environment of the worker
(``GONGSHU_PULL_PASSWORD_<NAME>``) — plus one SELECT query, how its rows are ingested
(mode, snapshot, invalid-row policy, column mapping) and a schedule. The schedule lives
here, in the database, so it survives restarts: ``next_run_at`` is when the next run is due
and ``job_id`` the queued job that will carry it out. Each run is a :class:`PullRun`; a run
that got as far as the ingestion pipeline links to its :class:`~gongshu.ingest.models.Ingestion`.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gongshu.db import Base, utcnow
from gongshu.ingest.models import IngestMode, InvalidPolicy
from gongshu.orgs.models import str_enum


class PullStatus(enum.StrEnum):
    RUNNING = "running"  # 运行中
    PUBLISHED = "published"  # 已发布新版本
    REFUSED = "refused"  # 数据未通过校验或没有数据，未发布
    FAILED = "failed"  # 连接或查询失败


class PullSource(Base):
    """One scheduled pull of a catalog entry's rows from an agency's database."""

    __tablename__ = "pull_source"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("dataset.id", ondelete="CASCADE"), index=True
    )
    # ASCII identifier, unique platform-wide: it names the password's environment variable.
    name: Mapped[str] = mapped_column(String(40), unique=True)
    url: Mapped[str] = mapped_column(String(500))  # never holds a password
    query: Mapped[str] = mapped_column(Text)
    mode: Mapped[IngestMode] = mapped_column(str_enum(IngestMode, "ingest_mode"))
    snapshot: Mapped[bool] = mapped_column(default=False)
    # None: the entry's own policy (its ingest profile) at the time of the run
    on_invalid: Mapped[InvalidPolicy | None] = mapped_column(
        str_enum(InvalidPolicy, "invalid_policy")
    )
    # field name -> result column; empty means "match by name or Chinese label"
    mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)
    schedule: Mapped[str] = mapped_column(String(32))
    enabled: Mapped[bool] = mapped_column(default=True)
    next_run_at: Mapped[dt.datetime | None]
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id", ondelete="SET NULL"))
    last_run_at: Mapped[dt.datetime | None]
    last_status: Mapped[PullStatus | None] = mapped_column(str_enum(PullStatus, "pull_status"))
    # a failure is told to the officers once; a published run clears this
    failure_notified: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PullRun(Base):
    """One run of a pull source: when, how it ended, and the ingestion it fed (if any).

    ``error`` is a Chinese message id and ``error_params`` its parameters, so the reason is
    shown in the reader's language.
    """

    __tablename__ = "pull_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(
        ForeignKey("pull_source.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[PullStatus] = mapped_column(str_enum(PullStatus, "pull_status"))
    trigger: Mapped[str] = mapped_column(String(16))  # schedule, manual, cli
    query: Mapped[str] = mapped_column(Text)
    rows: Mapped[int] = mapped_column(default=0)
    ingestion_id: Mapped[int | None] = mapped_column(
        ForeignKey("ingestion.id", ondelete="SET NULL")
    )
    error: Mapped[str] = mapped_column(Text, default="")
    error_params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
