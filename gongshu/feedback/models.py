"""Public feedback on the open-data portal (公众互动).

- Objections and error reports (异议 / 纠错) are ``gongshu.governance.models.Objection``
  tickets of the public kinds: no table here (one ticket, one deadline, one provider queue).
- ``Comment`` (留言) on a public entry: held for the bureau's moderation, shown once
  approved (先审后发, the practice of government portals).
- ``DataDemand`` (需求征集): a request for data that is not yet open; the bureau screens and
  routes it to an agency, which accepts (with the entry once opened) or declines with a
  reason. ``DemandVote``: one per user and demand.
- ``Appeal`` (权益申诉): someone says an open entry infringes their rights or privacy; it
  goes to the bureau and the provider and may take the entry off the portal.
- ``Reuse`` (利用成果): an app, report, service or study built on open entries
  (``ReuseDataset``), shown once the bureau approves it.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gongshu.db import Base, utcnow
from gongshu.orgs.models import str_enum

if TYPE_CHECKING:
    from gongshu.catalog.models import Dataset
    from gongshu.orgs.models import Agency


class ModerationStatus(enum.StrEnum):
    PENDING = "pending"  # 待审核
    APPROVED = "approved"  # 已通过
    REJECTED = "rejected"  # 未通过


class DemandStatus(enum.StrEnum):
    """pending ──route──▶ routed ──reply──▶ accepted (with the entry once opened) | declined
    pending ──reject (with a reason)──▶ rejected (not shown publicly)"""

    PENDING = "pending"  # 待审核
    ROUTED = "routed"  # 办理中
    ACCEPTED = "accepted"  # 已采纳
    DECLINED = "declined"  # 不予采纳
    REJECTED = "rejected"  # 未通过审核


class AppealStatus(enum.StrEnum):
    OPEN = "open"  # 处理中
    UPHELD = "upheld"  # 申诉成立
    DISMISSED = "dismissed"  # 申诉不成立


class ReuseKind(enum.StrEnum):
    APP = "app"  # 应用
    REPORT = "report"  # 报告
    SERVICE = "service"  # 服务
    RESEARCH = "research"  # 研究


class Comment(Base):
    """A comment (留言) on a public entry by a signed-in user; public once approved."""

    __tablename__ = "feedback_comment"
    __table_args__ = (Index("ix_feedback_comment_dataset_status", "dataset_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id"))
    text: Mapped[str] = mapped_column(Text)
    author_name: Mapped[str] = mapped_column(String(100))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    status: Mapped[ModerationStatus] = mapped_column(
        str_enum(ModerationStatus, "moderation_status"), default=ModerationStatus.PENDING
    )
    moderation_reason: Mapped[str] = mapped_column(Text, default="")
    moderated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    moderated_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    dataset: Mapped[Dataset] = relationship()


class DataDemand(Base):
    """A data demand (需求征集): a request for data that is not yet open."""

    __tablename__ = "feedback_demand"
    __table_args__ = (Index("ix_feedback_demand_status", "status", "agency_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    wanted_fields: Mapped[str] = mapped_column(Text, default="")
    purpose: Mapped[str] = mapped_column(Text, default="")
    suggested_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    status: Mapped[DemandStatus] = mapped_column(
        str_enum(DemandStatus, "demand_status"), default=DemandStatus.PENDING
    )
    votes: Mapped[int] = mapped_column(default=0)
    reply: Mapped[str] = mapped_column(Text, default="")
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("dataset.id"))
    author_name: Mapped[str] = mapped_column(String(100))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    routed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    routed_at: Mapped[dt.datetime | None]
    replied_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    replied_at: Mapped[dt.datetime | None]
    moderation_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    suggested_agency: Mapped[Agency | None] = relationship(foreign_keys=[suggested_agency_id])
    agency: Mapped[Agency | None] = relationship(foreign_keys=[agency_id])
    dataset: Mapped[Dataset | None] = relationship()


class DemandVote(Base):
    """One user's vote for a demand (at most one per user and demand)."""

    __tablename__ = "feedback_demand_vote"
    __table_args__ = (UniqueConstraint("demand_id", "user_id", name="uq_feedback_vote_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("feedback_demand.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Appeal(Base):
    """A rights appeal (权益申诉) against an open entry; never shown publicly."""

    __tablename__ = "feedback_appeal"
    __table_args__ = (Index("ix_feedback_appeal_agency_status", "agency_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    text: Mapped[str] = mapped_column(Text)
    contact: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[AppealStatus] = mapped_column(
        str_enum(AppealStatus, "appeal_status"), default=AppealStatus.OPEN
    )
    provider_statement: Mapped[str] = mapped_column(Text, default="")
    decision: Mapped[str] = mapped_column(Text, default="")
    withdrawn: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    dataset: Mapped[Dataset] = relationship()
    agency: Mapped[Agency] = relationship()


class Reuse(Base):
    """A reuse (利用成果) of open entries, shown on the portal once approved."""

    __tablename__ = "feedback_reuse"
    __table_args__ = (Index("ix_feedback_reuse_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[ReuseKind] = mapped_column(str_enum(ReuseKind, "reuse_kind"))
    url: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text)
    submitter: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    status: Mapped[ModerationStatus] = mapped_column(
        str_enum(ModerationStatus, "reuse_status"), default=ModerationStatus.PENDING
    )
    moderation_reason: Mapped[str] = mapped_column(Text, default="")
    moderated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    moderated_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    datasets: Mapped[list[Dataset]] = relationship(
        secondary="feedback_reuse_dataset", order_by="Dataset.id"
    )


class ReuseDataset(Base):
    """An entry a reuse is built on."""

    __tablename__ = "feedback_reuse_dataset"

    reuse_id: Mapped[int] = mapped_column(
        ForeignKey("feedback_reuse.id", ondelete="CASCADE"), primary_key=True
    )
    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id"), primary_key=True, index=True)
