"""The catalog (公共数据资源目录): entries (``Dataset``) and their fields (``Field``, 信息项)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gongshu.db import Base, utcnow
from gongshu.orgs.models import str_enum

if TYPE_CHECKING:
    from gongshu.auth.models import User
    from gongshu.orgs.models import Agency, Region


class CategoryClass(enum.StrEnum):
    """信息资源分类的“类”: the first digit of the resource code."""

    BASE = "base"  # 1 基础信息资源
    THEME = "theme"  # 2 主题信息资源
    DEPARTMENT = "department"  # 3 部门信息资源


class ShareType(enum.StrEnum):
    UNCONDITIONAL = "unconditional"  # 无条件共享
    CONDITIONAL = "conditional"  # 有条件共享
    NONE = "none"  # 不予共享


class OpenType(enum.StrEnum):
    UNCONDITIONAL = "unconditional"  # 无条件开放
    CONDITIONAL = "conditional"  # 有条件开放
    NONE = "none"  # 不予开放


class Level(enum.StrEnum):
    """数据分级 after GB/T 43697-2024, strictest last."""

    GENERAL_1 = "general_1"
    GENERAL_2 = "general_2"
    GENERAL_3 = "general_3"
    GENERAL_4 = "general_4"
    IMPORTANT = "important"
    CORE = "core"


class UpdateCycle(enum.StrEnum):
    REALTIME = "realtime"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    HALF_YEARLY = "half_yearly"
    YEARLY = "yearly"
    IRREGULAR = "irregular"


class ResourceFormat(enum.StrEnum):
    """信息资源格式, numbered as in the cataloguing guide."""

    FILE = "file"  # 1 电子文件
    SPREADSHEET = "spreadsheet"  # 2 电子表格
    DATABASE = "database"  # 3 数据库
    IMAGE = "image"  # 4 图形图像
    STREAM = "stream"  # 5 流媒体
    SELF_DESCRIBING = "self_describing"  # 6 自描述格式
    API = "api"  # 7 服务接口


class DatasetState(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    APPROVED = "approved"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"  # deleted from the catalog by an approved change request


class FieldType(enum.StrEnum):
    STRING = "string"
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    DATETIME = "datetime"
    BOOLEAN = "boolean"


class Sensitivity(enum.StrEnum):
    """Which mask a field's values take (domain README §3)."""

    NONE = "none"
    ID_NUMBER = "id_number"
    MOBILE = "mobile"
    NAME = "name"
    ADDRESS = "address"
    BANK_CARD = "bank_card"
    EMAIL = "email"
    PLATE = "plate"
    CREDIT_CODE = "credit_code"
    FREE_TEXT = "free_text"


class Dataset(Base):
    """A catalog entry (目录条目): the metadata of one public data resource and its fields.

    Its ``state`` moves through the review workflow (``gongshu.catalog.workflow``): draft →
    submitted → approved or returned (``review_comment`` holds the reason) → published; a
    published entry changes only through a ``ChangeRequest`` and, when one deletes it,
    becomes ``withdrawn`` (gone from every list, its history kept).

    Its ``code`` is the resource code ``class + item + sub-item + detail + "/" + sequence``.
    ``lock_version`` makes concurrent edits conflict instead of overwriting each other.
    """

    __tablename__ = "dataset"
    __table_args__ = (Index("ix_dataset_agency_state", "agency_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    category_class: Mapped[CategoryClass] = mapped_column(str_enum(CategoryClass, "category_class"))
    item_code: Mapped[str] = mapped_column(String(2))
    subitem_code: Mapped[str] = mapped_column(String(3))
    detail_code: Mapped[str] = mapped_column(String(16), default="")
    sequence: Mapped[int]
    domain: Mapped[str] = mapped_column(String(50), default="")
    format: Mapped[ResourceFormat] = mapped_column(str_enum(ResourceFormat, "resource_format"))
    share_type: Mapped[ShareType] = mapped_column(str_enum(ShareType, "share_type"))
    share_conditions: Mapped[str] = mapped_column(Text, default="")
    share_method: Mapped[str] = mapped_column(String(100), default="")
    open_type: Mapped[OpenType] = mapped_column(str_enum(OpenType, "open_type"))
    open_conditions: Mapped[str] = mapped_column(Text, default="")
    level: Mapped[Level] = mapped_column(str_enum(Level, "level"))
    update_cycle: Mapped[UpdateCycle] = mapped_column(str_enum(UpdateCycle, "update_cycle"))
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    source_system: Mapped[str] = mapped_column(String(200), default="")
    published_on: Mapped[dt.date | None]
    related_codes: Mapped[list[Any]] = mapped_column(default=list)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    state: Mapped[DatasetState] = mapped_column(
        str_enum(DatasetState, "dataset_state"), default=DatasetState.DRAFT
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    lock_version: Mapped[int] = mapped_column(default=1)
    # The review workflow (gongshu.catalog.workflow): the last submission and decision.
    submitted_at: Mapped[dt.datetime | None]
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reviewed_at: Mapped[dt.datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    review_comment: Mapped[str] = mapped_column(Text, default="")
    withdrawn_at: Mapped[dt.datetime | None]

    agency: Mapped[Agency] = relationship()
    region: Mapped[Region] = relationship()
    fields: Mapped[list[Field]] = relationship(
        back_populates="dataset",
        cascade="all, delete-orphan",
        order_by="Field.position",
        lazy="selectin",
    )

    __mapper_args__ = {"version_id_col": lock_version}  # noqa: RUF012


class Field(Base):
    """An information item (信息项): one column of a dataset, with the rules its values
    must pass when rows are ingested (identifier check, allowed values, range, pattern)."""

    __tablename__ = "dataset_field"
    __table_args__ = (UniqueConstraint("dataset_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("dataset.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(100))
    data_type: Mapped[FieldType] = mapped_column(str_enum(FieldType, "field_type"))
    length: Mapped[int | None]
    is_key: Mapped[bool] = mapped_column(default=False)
    required: Mapped[bool] = mapped_column(default=False)
    filterable: Mapped[bool] = mapped_column(default=False)
    sensitivity: Mapped[Sensitivity] = mapped_column(
        str_enum(Sensitivity, "sensitivity"), default=Sensitivity.NONE
    )
    description: Mapped[str] = mapped_column(Text, default="")
    # Validation rules for ingestion (gongshu.ingest.spec.FieldSpec); the catalog service
    # checks that they suit the data type. ``identifier`` is "" or an IdentifierKind value.
    identifier: Mapped[str] = mapped_column(String(32), default="", server_default="")
    choices: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    min_value: Mapped[str | None] = mapped_column(String(64))
    max_value: Mapped[str | None] = mapped_column(String(64))
    pattern: Mapped[str | None] = mapped_column(String(200))

    dataset: Mapped[Dataset] = relationship(back_populates="fields")


class ChangeKind(enum.StrEnum):
    MODIFY = "modify"  # 修改
    DELETE = "delete"  # 删减


class ChangeStatus(enum.StrEnum):
    """Where a change request stands: a district entry's request is reviewed by its
    district bureau first (``district_reviewed``), then needs the city bureau's consent."""

    SUBMITTED = "submitted"
    DISTRICT_REVIEWED = "district_reviewed"
    APPROVED = "approved"
    REJECTED = "rejected"


OPEN_CHANGE_STATUSES = (ChangeStatus.SUBMITTED, ChangeStatus.DISTRICT_REVIEWED)


class ChangeRequest(Base):
    """A change request (目录变更申请) for a published catalog entry: modify or delete it.

    The agency proposes it within N working days of ``basis_changed_on`` (the day its legal
    basis or duties changed); a later proposal is accepted and marked ``late``. ``changes``
    holds the proposed edit in the ``DatasetUpdate`` shape; the entry itself stays as it is
    until the city bureau consents (``approved``), and then the change is applied in the
    same transaction. A district entry's request is reviewed by the district bureau first.
    """

    __tablename__ = "change_request"
    __table_args__ = (Index("ix_change_request_dataset_status", "dataset_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id"))
    kind: Mapped[ChangeKind] = mapped_column(str_enum(ChangeKind, "change_kind"))
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reason: Mapped[str] = mapped_column(Text)
    basis_changed_on: Mapped[dt.date]
    proposal_due_on: Mapped[dt.date]
    late: Mapped[bool] = mapped_column(default=False)
    status: Mapped[ChangeStatus] = mapped_column(
        str_enum(ChangeStatus, "change_status"), default=ChangeStatus.SUBMITTED, index=True
    )
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    proposed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    district_reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    district_reviewed_at: Mapped[dt.datetime | None]
    district_comment: Mapped[str] = mapped_column(Text, default="")
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reviewed_at: Mapped[dt.datetime | None]
    review_comment: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    lock_version: Mapped[int] = mapped_column(default=1)

    dataset: Mapped[Dataset] = relationship()
    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])
    district_reviewer: Mapped[User | None] = relationship(foreign_keys=[district_reviewer_id])
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id])

    __mapper_args__ = {"version_id_col": lock_version}  # noqa: RUF012

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_CHANGE_STATUSES
