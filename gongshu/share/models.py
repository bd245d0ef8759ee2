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
from typing import TYPE_CHECKING, Any

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gongshu.db import Base, utcnow
from gongshu.orgs.models import str_enum

if TYPE_CHECKING:
    from gongshu.auth.models import User
    from gongshu.catalog.models import Dataset
    from gongshu.orgs.models import Agency


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


# ---------------------------------------------------------------------------------------
# The workflow that creates and ends grants (gongshu.share.requests, .emergency,
# .return_flow, .reassess). The tables below are new in migration 0014.


class RequestKind(enum.StrEnum):
    UNCONDITIONAL = "unconditional"  # 无条件共享：申请即授权
    CONDITIONAL = "conditional"  # 有条件共享：提供方审核


class RequestStatus(enum.StrEnum):
    """Where a share request stands (gongshu.share.requests draws the transitions)."""

    REQUESTED = "requested"  # 待审核
    GRANTED = "granted"  # 已同意，授权尚未开始
    DENIED = "denied"  # 未同意
    OBJECTED = "objected"  # 已提出异议，待仲裁
    ACTIVE = "active"  # 授权生效中
    EXPIRED = "expired"  # 授权已到期
    REVOKED = "revoked"  # 授权已撤销


OPEN_REQUEST_STATUSES = (RequestStatus.REQUESTED, RequestStatus.OBJECTED)


class ShareRequest(Base):
    """A share request (共享申请): one body asks to use one entry for a stated purpose.

    An unconditional entry's request is granted at once; a conditional entry's waits for the
    provider's decision (``decision_*``), and a refusal may be objected to (``objection_*``)
    and arbitrated by the bureau (``arbitration_*``). ``fields`` is what was asked for
    (None: every field); the grant it leads to is ``grant_id``. ``lock_version`` makes two
    concurrent decisions conflict: one wins, the other gets 409.
    """

    __tablename__ = "share_request"
    __table_args__ = (
        Index("ix_share_request_agency_status", "agency_id", "status"),
        Index("ix_share_request_provider_status", "provider_agency_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("dataset.id", ondelete="CASCADE"), index=True
    )
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    provider_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    kind: Mapped[RequestKind] = mapped_column(str_enum(RequestKind, "share_request_kind"))
    status: Mapped[RequestStatus] = mapped_column(
        str_enum(RequestStatus, "share_request_status"), default=RequestStatus.REQUESTED
    )
    purpose: Mapped[str] = mapped_column(Text)
    scenario: Mapped[str] = mapped_column(Text, default="")
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    fields: Mapped[list[Any] | None] = mapped_column(default=None)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # The provider's decision (or the bureau's, on arbitration): what it granted.
    granted_fields: Mapped[list[Any] | None] = mapped_column(default=None)
    clear_fields: Mapped[list[Any]] = mapped_column(default=list)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[dt.datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    objection_reason: Mapped[str] = mapped_column(Text, default="")
    objected_at: Mapped[dt.datetime | None]
    objected_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    arbitration_outcome: Mapped[str] = mapped_column(String(16), default="")  # granted/upheld
    arbitration_reason: Mapped[str] = mapped_column(Text, default="")
    arbitrated_at: Mapped[dt.datetime | None]
    arbitrated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("share_grant.id"))
    ended_at: Mapped[dt.datetime | None]
    end_reason: Mapped[str] = mapped_column(Text, default="")
    lock_version: Mapped[int] = mapped_column(default=1)

    dataset: Mapped[Dataset] = relationship()
    agency: Mapped[Agency] = relationship(foreign_keys=[agency_id])
    provider: Mapped[Agency] = relationship(foreign_keys=[provider_agency_id])
    grant: Mapped[Grant | None] = relationship(foreign_keys=[grant_id])
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])

    __mapper_args__ = {"version_id_col": lock_version}  # noqa: RUF012

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_REQUEST_STATUSES


class EmergencyStatus(enum.StrEnum):
    ACTIVE = "active"  # 应急状态中
    ENDED = "ended"  # 已结束


class Emergency(Base):
    """An emergency (应急) declared by the city bureau: for its duration the bodies in scope
    (``agency_ids``) get grants (kind ``emergency``) on the entries in scope
    (``dataset_ids``), all ending at ``ends_at``. Both lists are resolved when it is
    declared (``all_entries`` / ``all_agencies`` say the declaration named none, i.e. all);
    ``skipped`` lists entries left out and why. Ending it early revokes its grants.
    """

    __tablename__ = "share_emergency"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    dataset_ids: Mapped[list[Any]] = mapped_column(default=list)
    agency_ids: Mapped[list[Any]] = mapped_column(default=list)
    all_entries: Mapped[bool] = mapped_column(default=False)
    all_agencies: Mapped[bool] = mapped_column(default=False)
    include_not_shared: Mapped[bool] = mapped_column(default=False)
    in_clear: Mapped[bool] = mapped_column(default=False)
    skipped: Mapped[list[Any]] = mapped_column(default=list)
    grants_issued: Mapped[int] = mapped_column(default=0)
    status: Mapped[EmergencyStatus] = mapped_column(
        str_enum(EmergencyStatus, "emergency_status"), default=EmergencyStatus.ACTIVE, index=True
    )
    starts_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ends_at: Mapped[dt.datetime]
    declared_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    declared_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None]
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    ended_early: Mapped[bool] = mapped_column(default=False)
    end_reason: Mapped[str] = mapped_column(Text, default="")
    lock_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": lock_version}  # noqa: RUF012


class ReturnFlow(Base):
    """The return flow (数据回流) of one city-level entry: its region field
    (``field_name``) and the value that field holds for each district (``value_map``:
    district region code → value). While ``enabled``, every agency of a mapped district
    holds a grant (kind ``return_flow``) filtered to ``[[field_name, "eq", value]]``.
    """

    __tablename__ = "share_return_flow"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("dataset.id", ondelete="CASCADE"), unique=True
    )
    field_name: Mapped[str] = mapped_column(String(64))
    value_map: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    dataset: Mapped[Dataset] = relationship()


class AssessmentPlan(Base):
    """When a conditional entry is next reassessed (复核): one row per entry, kept by the
    sweep job (first due one period after publication) and moved on by each assessment.
    ``reminded_for`` / ``overdue_for`` hold the due date a reminder was sent for."""

    __tablename__ = "share_assessment_plan"

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("dataset.id", ondelete="CASCADE"), primary_key=True
    )
    next_due_on: Mapped[dt.date] = mapped_column(Date, index=True)
    last_assessed_on: Mapped[dt.date | None] = mapped_column(Date)
    reminded_for: Mapped[dt.date | None] = mapped_column(Date)
    overdue_for: Mapped[dt.date | None] = mapped_column(Date)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    dataset: Mapped[Dataset] = relationship()


class AssessmentOutcome(enum.StrEnum):
    KEEP = "keep"  # 维持有条件共享
    CONVERT = "convert"  # 转为无条件共享（经目录变更申请）


class Assessment(Base):
    """One reassessment (复核) of a conditional entry's share type, with its reason.
    ``convert`` goes through the catalog's change request path (``change_request_id``)."""

    __tablename__ = "share_assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("dataset.id", ondelete="CASCADE"), index=True
    )
    outcome: Mapped[AssessmentOutcome] = mapped_column(
        str_enum(AssessmentOutcome, "assessment_outcome")
    )
    reason: Mapped[str] = mapped_column(Text)
    assessed_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    next_due_on: Mapped[dt.date] = mapped_column(Date)
    change_request_id: Mapped[int | None] = mapped_column(ForeignKey("change_request.id"))
    assessed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    dataset: Mapped[Dataset] = relationship()
    assessed_by: Mapped[User | None] = relationship()
