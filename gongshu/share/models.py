"""Grants (授权): what one public body may read of one entry, and until when.

A :class:`Grant` is the only thing that lets a body other than the provider read an entry's
rows. Every way of sharing ends in one: an unconditional entry's grant is issued at once on
request, a conditional entry's after the provider's decision (or the bureau's arbitration),
an emergency issues grants that end with it, and the return flow (回流) issues each district
body a grant filtered to its own district's rows. The gate only ever asks for the active
grants of a body on an entry (``gongshu.share.grants``).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gongshu.db import Base, utcnow
from gongshu.orgs.models import str_enum


class GrantKind(enum.StrEnum):
    UNCONDITIONAL = "unconditional"  # 无条件共享：申请即得
    REQUEST = "request"  # 有条件共享：经审核同意
    EMERGENCY = "emergency"  # 应急期间临时授权
    RETURN_FLOW = "return_flow"  # 数据回流：本区县数据


class GrantStatus(enum.StrEnum):
    ACTIVE = "active"  # 生效
    EXPIRED = "expired"  # 已到期
    REVOKED = "revoked"  # 已撤销


class Grant(Base):
    """One body's right to read one entry: which fields (``fields`` None: every field), which
    of them in the clear (``clear_fields``; the others are masked as the gate decides), which
    rows (``row_filter``: ``[[field, op, value], …]``, all must hold), for what purpose and
    until when (``expires_at`` None: until revoked).

    ``fingerprint`` is a random per-grant token that every export made under the grant
    carries, so a leaked file can be traced back to the grant that produced it.
    """

    __tablename__ = "share_grant"
    __table_args__ = (Index("ix_share_grant_reader", "agency_id", "dataset_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("dataset.id", ondelete="CASCADE"), index=True
    )
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    kind: Mapped[GrantKind] = mapped_column(str_enum(GrantKind, "grant_kind"))
    status: Mapped[GrantStatus] = mapped_column(
        str_enum(GrantStatus, "grant_status"), default=GrantStatus.ACTIVE
    )
    fields: Mapped[list[Any] | None] = mapped_column(default=None)
    clear_fields: Mapped[list[Any]] = mapped_column(default=list)
    row_filter: Mapped[list[Any]] = mapped_column(default=list)
    purpose: Mapped[str] = mapped_column(Text, default="")
    scenario: Mapped[str] = mapped_column(Text, default="")
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None]
    # The request or emergency the grant came from (plain ids: those tables own the links).
    request_id: Mapped[int | None] = mapped_column(index=True)
    emergency_id: Mapped[int | None] = mapped_column(index=True)
    fingerprint: Mapped[str] = mapped_column(String(32), unique=True)
    daily_row_quota: Mapped[int | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None]
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    end_reason: Mapped[str] = mapped_column(Text, default="")
