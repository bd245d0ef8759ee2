"""Data governance (数据治理): 一数一源 and corrections (纠错).

- A ``DataCollection`` is a base or theme collection (基础库 / 主题库): 人口, 法人, … The six
  base collections are seeded by the migration; the bureau adds theme collections.
- A ``DataItem`` is one named item of a collection (企业名称, 出生日期 …) joined across
  datasets on an identifier (``key_kind``: citizen ID number or credit code).
- ``SourceBinding`` names the one authoritative source (权威数据源) of an item: a field of
  one dataset (and so of one agency). The item id is unique in the table: exactly one
  binding per (collection, item).
- ``ItemCopy`` links another dataset's field to the item: a copy that must agree with the
  source. ``ConsistencyIssue`` is one disagreement found by the check, per (copy dataset,
  item, key value).
- ``Objection`` (异议 / 纠错) is a ticket from a user who believes a value is wrong; the kind
  ``correction`` comes from an agency user who may read the dataset.
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
    from gongshu.store.models import DatasetVersion


class CollectionKind(enum.StrEnum):
    BASE = "base"  # 基础库
    THEME = "theme"  # 主题库


class KeyKind(enum.StrEnum):
    """The identifier an item's rows are joined on (seed 001 §14: 关键标识信息)."""

    CITIZEN_ID = "citizen_id"  # 公民身份号码
    CREDIT_CODE = "credit_code"  # 统一社会信用代码


class CopyOrigin(enum.StrEnum):
    MANUAL = "manual"  # linked by the bureau
    SUGGESTED = "suggested"  # suggested by a matching label, then confirmed by the bureau


class IssueStatus(enum.StrEnum):
    OPEN = "open"  # 未解决
    RESOLVED = "resolved"  # 已解决


class ObjectionKind(enum.StrEnum):
    CORRECTION = "correction"  # 纠错: an agency user flags a value as wrong
    # From the public portal (gongshu.feedback): free text on an open entry, optionally
    # naming a field; the bureau routes it to the provider, whose reply is public.
    OBJECTION = "objection"  # 异议: the public disputes an entry (its openness, its content)
    ERROR = "error"  # 纠错: the public reports an error in an entry


PUBLIC_OBJECTION_KINDS = (ObjectionKind.OBJECTION, ObjectionKind.ERROR)


class ObjectionStatus(enum.StrEnum):
    """Where a correction ticket stands.

    open ──accept──▶ accepted ──(a new version changes the value, or the provider names
      │                          the version)──▶ fixed
      └──reject (with a reason)──▶ rejected
    An open ticket is also fixed when a new version changes the value before an answer.
    A public ticket (``PUBLIC_OBJECTION_KINDS``) may also close as answered (a reply only).
    """

    OPEN = "open"  # 待答复
    ACCEPTED = "accepted"  # 已接受，待修正
    REJECTED = "rejected"  # 已驳回
    FIXED = "fixed"  # 已修正
    ANSWERED = "answered"  # 已答复: a public ticket closed with a reply, nothing to correct


OPEN_OBJECTION_STATUSES = (ObjectionStatus.OPEN, ObjectionStatus.ACCEPTED)


class DataCollection(Base):
    """A base or theme collection (基础库 / 主题库) whose items have authoritative sources."""

    __tablename__ = "governance_collection"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[CollectionKind] = mapped_column(str_enum(CollectionKind, "collection_kind"))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    items: Mapped[list[DataItem]] = relationship(
        back_populates="collection", order_by="DataItem.id"
    )


class DataItem(Base):
    """A data item (数据项) of a collection: a name (企业名称) and the identifier that joins
    its rows across datasets."""

    __tablename__ = "governance_item"
    __table_args__ = (UniqueConstraint("collection_id", "name", name="uq_governance_item_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("governance_collection.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    key_kind: Mapped[KeyKind] = mapped_column(str_enum(KeyKind, "key_kind"))
    description: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    collection: Mapped[DataCollection] = relationship(back_populates="items")
    binding: Mapped[SourceBinding | None] = relationship(back_populates="item", uselist=False)
    copies: Mapped[list[ItemCopy]] = relationship(back_populates="item", order_by="ItemCopy.id")


class SourceBinding(Base):
    """The authoritative source (权威数据源) of a data item: one field of one dataset.

    ``item_id`` is the primary key, so an item has at most one source (一数一源)."""

    __tablename__ = "governance_binding"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("governance_item.id", ondelete="CASCADE"), primary_key=True
    )
    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id"), index=True)
    field_name: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    item: Mapped[DataItem] = relationship(back_populates="binding")
    dataset: Mapped[Dataset] = relationship()


class ItemCopy(Base):
    """Another dataset's field that holds the same item: it must agree with the source."""

    __tablename__ = "governance_copy"
    __table_args__ = (
        UniqueConstraint("item_id", "dataset_id", "field_name", name="uq_governance_copy_field"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("governance_item.id", ondelete="CASCADE"))
    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id"), index=True)
    field_name: Mapped[str] = mapped_column(String(64))
    origin: Mapped[CopyOrigin] = mapped_column(str_enum(CopyOrigin, "copy_origin"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    item: Mapped[DataItem] = relationship(back_populates="copies")
    dataset: Mapped[Dataset] = relationship()


class ConsistencyIssue(Base):
    """A copy that disagrees with the authoritative source for one key value.

    One row per (copy dataset, item, key value): a later check updates it, resolves it when
    the values agree again (or the key is gone from either side), and reopens it when they
    disagree once more."""

    __tablename__ = "governance_issue"
    __table_args__ = (
        UniqueConstraint("copy_dataset_id", "item_id", "key_value", name="uq_governance_issue_key"),
        Index("ix_governance_issue_status", "status", "item_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("governance_item.id", ondelete="CASCADE"))
    source_dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id"), index=True)
    copy_dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id"))
    source_field: Mapped[str] = mapped_column(String(64))
    copy_field: Mapped[str] = mapped_column(String(64))
    key_value: Mapped[str] = mapped_column(String(64))
    source_value: Mapped[str] = mapped_column(Text, default="")
    copy_value: Mapped[str] = mapped_column(Text, default="")
    source_version_id: Mapped[int | None] = mapped_column(ForeignKey("dataset_version.id"))
    copy_version_id: Mapped[int | None] = mapped_column(ForeignKey("dataset_version.id"))
    status: Mapped[IssueStatus] = mapped_column(
        str_enum(IssueStatus, "issue_status"), default=IssueStatus.OPEN
    )
    resolution: Mapped[str] = mapped_column(String(16), default="")  # "agreed" or "gone"
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[dt.datetime | None]
    times_opened: Mapped[int] = mapped_column(default=1)

    item: Mapped[DataItem] = relationship()
    source_dataset: Mapped[Dataset] = relationship(foreign_keys=[source_dataset_id])
    copy_dataset: Mapped[Dataset] = relationship(foreign_keys=[copy_dataset_id])


class Objection(Base):
    """An objection (异议 / 纠错): someone believes a value in a dataset is wrong.

    The provider agency (``agency_id``, the dataset's agency when it was raised) answers by
    ``deadline`` working days (``GONGSHU_CORRECTION_DAYS``): it accepts and then publishes a
    version that changes the value (the ticket closes with a link to it, ``fixed_version``),
    or rejects with a reason. ``seen_version`` is the version the reporter looked at.

    A public ticket (kind ``objection`` or ``error``, filed on the portal) has no key value
    and may name no field or version; the bureau routes it (``routed_at``) and the
    provider's reply (``answer``) is shown publicly. ``correction_id`` links the correction
    ticket that followed it, if any."""

    __tablename__ = "objection"
    __table_args__ = (Index("ix_objection_agency_status", "agency_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ObjectionKind] = mapped_column(str_enum(ObjectionKind, "objection_kind"))
    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    key_field: Mapped[str] = mapped_column(String(64), default="")
    key_value: Mapped[str] = mapped_column(String(200), default="")
    field_name: Mapped[str] = mapped_column(String(64), default="")
    seen_value: Mapped[str] = mapped_column(Text, default="")
    proposed_value: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text, default="")
    seen_version_id: Mapped[int | None] = mapped_column(ForeignKey("dataset_version.id"))
    status: Mapped[ObjectionStatus] = mapped_column(
        str_enum(ObjectionStatus, "objection_status"), default=ObjectionStatus.OPEN
    )
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[dt.datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    fixed_version_id: Mapped[int | None] = mapped_column(ForeignKey("dataset_version.id"))
    closed_at: Mapped[dt.datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reporter_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    routed_at: Mapped[dt.datetime | None]
    routed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    correction_id: Mapped[int | None] = mapped_column(ForeignKey("objection.id"))

    dataset: Mapped[Dataset] = relationship()
    agency: Mapped[Agency] = relationship(foreign_keys=[agency_id])
    seen_version: Mapped[DatasetVersion | None] = relationship(foreign_keys=[seen_version_id])
    fixed_version: Mapped[DatasetVersion | None] = relationship(foreign_keys=[fixed_version_id])
