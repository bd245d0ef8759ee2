"""Regions (the city and its districts/counties) and the public bodies in them."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from sqlalchemy import Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gongshu.db import Base, utcnow

if TYPE_CHECKING:
    from gongshu.auth.models import User


class RegionLevel(enum.StrEnum):
    CITY = "city"
    DISTRICT = "district"


class AgencyKind(enum.StrEnum):
    """公共管理和服务机构的类别."""

    GOVERNMENT = "government"  # 行政机关
    INSTITUTION = "institution"  # 事业单位
    ENTERPRISE = "enterprise"  # 公共服务企业


def str_enum(cls: type[enum.StrEnum], name: str) -> Enum:
    """A portable enum column: a VARCHAR with a CHECK, never a native PostgreSQL type."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
    )


class Region(Base):
    """The city or one of its districts/counties (区县), keyed by its GB/T 2260 code."""

    __tablename__ = "region"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(6), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    level: Mapped[RegionLevel] = mapped_column(str_enum(RegionLevel, "region_level"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    parent: Mapped[Region | None] = relationship(remote_side=[id])
    agencies: Mapped[list[Agency]] = relationship(back_populates="region")

    @property
    def is_city(self) -> bool:
        return self.level is RegionLevel.CITY


class Agency(Base):
    """A public body (公共管理和服务机构) that provides and uses public data.

    Its unified social credit code (GB 32100) is also its provider code in the catalog.
    """

    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    short_name: Mapped[str] = mapped_column(String(50), default="")
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    kind: Mapped[AgencyKind] = mapped_column(str_enum(AgencyKind, "agency_kind"))
    domain: Mapped[str] = mapped_column(String(50), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    chief_data_officer_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", use_alter=True, ondelete="SET NULL")
    )
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    region: Mapped[Region] = relationship(back_populates="agencies")
    chief_data_officer: Mapped[User | None] = relationship(
        foreign_keys=[chief_data_officer_id], post_update=True
    )
