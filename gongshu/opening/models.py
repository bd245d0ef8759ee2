"""Public accounts, open applications (开放申请) with their agreements, usage reports, and
the per-day call counter of API keys.

An :class:`OpenApplication` is the only thing that lets a public user read the rows of a
conditional entry (有条件开放): while it is ``active`` and unexpired, the gate gives its
applicant the approved fields, masked by the entry's level (``gongshu.opening.access``).
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


class AccountKind(enum.StrEnum):
    INDIVIDUAL = "individual"  # 自然人
    ORGANIZATION = "organization"  # 法人和其他组织


class PublicAccount(Base):
    """What a public user said of itself when it registered: a person (its real name is the
    user's ``display_name``) or an organisation (name, unified social credit code and the
    contact person who acts for it)."""

    __tablename__ = "public_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    kind: Mapped[AccountKind] = mapped_column(str_enum(AccountKind, "public_account_kind"))
    real_name: Mapped[str] = mapped_column(String(100))
    org_name: Mapped[str] = mapped_column(String(200), default="")
    credit_code: Mapped[str] = mapped_column(String(18), default="", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()

    @property
    def applicant_name(self) -> str:
        """The party that signs an agreement: the organisation, or the person."""
        return self.org_name if self.kind is AccountKind.ORGANIZATION else self.real_name


class ApplicationStatus(enum.StrEnum):
    """Where an open application stands (``gongshu.opening.service`` draws the moves)."""

    DRAFT = "draft"  # 待确认协议
    PENDING = "pending"  # 待答复
    ACTIVE = "active"  # 已同意，生效中
    REFUSED = "refused"  # 不予同意
    REVOKED = "revoked"  # 已终止
    EXPIRED = "expired"  # 已到期
    WITHDRAWN = "withdrawn"  # 已撤回


class OpenApplication(Base):
    """A public user's application (开放申请) for one conditional entry.

    The applicant states the scenario (应用场景), purpose, fields (``fields``), security
    measures and the term it asks for (``requested_until``), and commits to report usage.
    The agreement (开放协议) generated from the template is stored as accepted
    (``agreement_text``, its SHA-256 ``agreement_sha256``, ``accepted_at``). The provider
    decides: ``approved_fields`` within those asked for, ``expires_at`` no later than
    asked. ``lock_version`` makes two concurrent decisions conflict.
    """

    __tablename__ = "open_application"
    __table_args__ = (
        Index("ix_open_application_reader", "applicant_id", "dataset_id", "status"),
        Index("ix_open_application_provider_status", "provider_agency_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("dataset.id", ondelete="CASCADE"), index=True
    )
    provider_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    applicant_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    status: Mapped[ApplicationStatus] = mapped_column(
        str_enum(ApplicationStatus, "open_application_status"), default=ApplicationStatus.DRAFT
    )
    scenario: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(Text)
    fields: Mapped[list[Any]] = mapped_column(default=list)
    security_measures: Mapped[str] = mapped_column(Text)
    requested_until: Mapped[dt.date] = mapped_column(Date)
    reporting_committed: Mapped[bool] = mapped_column(default=False)
    agreement_text: Mapped[str] = mapped_column(Text, default="")
    agreement_sha256: Mapped[str] = mapped_column(String(64), default="")
    accepted_at: Mapped[dt.datetime | None]
    submitted_at: Mapped[dt.datetime | None]
    approved_fields: Mapped[list[Any] | None] = mapped_column(default=None)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[dt.datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    starts_at: Mapped[dt.datetime | None]
    expires_at: Mapped[dt.datetime | None]
    ended_at: Mapped[dt.datetime | None]
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    end_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    lock_version: Mapped[int] = mapped_column(default=1)

    dataset: Mapped[Dataset] = relationship()
    provider: Mapped[Agency] = relationship(foreign_keys=[provider_agency_id])
    applicant: Mapped[User] = relationship(foreign_keys=[applicant_id])
    reports: Mapped[list[UsageReport]] = relationship(
        back_populates="application", order_by="UsageReport.due_on", lazy="selectin"
    )

    __mapper_args__ = {"version_id_col": lock_version}  # noqa: RUF012


class ReportStatus(enum.StrEnum):
    DUE = "due"  # 待报送
    OVERDUE = "overdue"  # 已逾期
    SUBMITTED = "submitted"  # 已报送


class UsageReport(Base):
    """One usage report (利用情况报送) an approved applicant owes: due every
    ``GONGSHU_OPENING_REPORT_MONTHS`` months of the term and once at its end (``final``)."""

    __tablename__ = "open_usage_report"
    __table_args__ = (Index("ix_open_usage_report_status_due", "status", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("open_application.id", ondelete="CASCADE"), index=True
    )
    due_on: Mapped[dt.date] = mapped_column(Date)
    final: Mapped[bool] = mapped_column(default=False)
    status: Mapped[ReportStatus] = mapped_column(
        str_enum(ReportStatus, "open_report_status"), default=ReportStatus.DUE
    )
    content: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[dt.datetime | None]
    overdue_notified_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    application: Mapped[OpenApplication] = relationship(back_populates="reports")


class ApiKeyUsage(Base):
    """Calls made with one API key on one day (Asia/Shanghai), counted against its
    ``daily_quota`` (``gongshu.opening.quota``)."""

    __tablename__ = "api_key_usage"

    api_key_id: Mapped[int] = mapped_column(
        ForeignKey("api_key.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    calls: Mapped[int] = mapped_column(default=0)
