"""The information-system registry (政务信息系统登记).

Every government information system an agency builds, uses or runs is registered with its
owner agency, its status and its construction project, and linked to the catalog entries
(目录条目) it produces. A running system without any catalog entry is flagged as not
catalogued (未编目): seed 001 §42 makes the catalog a condition of a project's funding and
acceptance.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gongshu.db import Base, utcnow
from gongshu.orgs.models import str_enum

if TYPE_CHECKING:
    from gongshu.catalog.models import Dataset
    from gongshu.orgs.models import Agency


class SystemStatus(enum.StrEnum):
    PLANNED = "planned"  # 规划中
    BUILDING = "building"  # 建设中
    RUNNING = "running"  # 运行中
    RETIRED = "retired"  # 已停用


class InformationSystem(Base):
    """A registered government information system (政务信息系统) of one agency."""

    __tablename__ = "information_system"
    __table_args__ = (UniqueConstraint("agency_id", "name", name="uq_information_system_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    status: Mapped[SystemStatus] = mapped_column(str_enum(SystemStatus, "system_status"))
    project_name: Mapped[str] = mapped_column(String(200), default="")
    project_number: Mapped[str] = mapped_column(String(64), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    contact: Mapped[str] = mapped_column(String(100), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    agency: Mapped[Agency] = relationship()
    links: Mapped[list[SystemDataset]] = relationship(
        back_populates="system", cascade="all, delete-orphan"
    )


class SystemDataset(Base):
    """A catalog entry that a system produces (the link lives here, not in the catalog)."""

    __tablename__ = "information_system_dataset"

    system_id: Mapped[int] = mapped_column(
        ForeignKey("information_system.id", ondelete="CASCADE"), primary_key=True
    )
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("dataset.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    system: Mapped[InformationSystem] = relationship(back_populates="links")
    dataset: Mapped[Dataset] = relationship()
