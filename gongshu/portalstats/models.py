"""The portal's usage counts and its subscriptions.

- ``PortalStatDaily`` holds how often one entry was viewed, downloaded or called through an
  API on one day (Asia/Shanghai). Rows are only ever *added to* (an UPSERT that adds), so any
  number of server processes may flush into the same row. ``dataset_id`` carries no foreign
  key on purpose: a flush must never fail because an entry was deleted meanwhile (queries
  join the catalog and drop what is gone). ``agency_id`` is the providing agency when it was
  counted. ``PortalStatMonthly`` holds the same counts per month, for the all-time and
  monthly figures.
- ``Subscription`` says that a user follows an entry (``dataset``, target: its id), an
  agency (``agency``, target: its id) or a domain (``theme``, target: the domain's name).
- ``SubscriptionDelivery`` remembers that a user was told about one version, so that each
  version notifies each subscriber once, however often the update scan runs.
- ``PortalScanMark`` keeps where the update scan stopped (one row per scan name).
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gongshu.db import Base, utcnow
from gongshu.orgs.models import str_enum


class StatKind(enum.StrEnum):
    VIEW = "view"  # 浏览: a public page of the entry was shown
    DOWNLOAD = "download"  # 下载: a file of its rows was sent
    API_CALL = "api_call"  # 接口调用: rows, counts or aggregates through an API


class PortalStatDaily(Base):
    """How many times one entry was used one way on one day (see the module docstring)."""

    __tablename__ = "portal_stat_daily"
    __table_args__ = (Index("ix_portal_stat_daily_dataset_id", "dataset_id"),)

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[StatKind] = mapped_column(str_enum(StatKind, "portal_stat_kind"), primary_key=True)
    agency_id: Mapped[int | None]
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class PortalStatMonthly(Base):
    """The same counts per calendar month (``day``: the month's first day), written by the
    same flush: all-time figures and the monthly chart read a few rows per entry and month
    instead of one per day."""

    __tablename__ = "portal_stat_monthly"
    __table_args__ = (Index("ix_portal_stat_monthly_dataset_id", "dataset_id"),)

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[StatKind] = mapped_column(str_enum(StatKind, "portal_stat_kind"), primary_key=True)
    agency_id: Mapped[int | None]
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class SubscriptionKind(enum.StrEnum):
    DATASET = "dataset"  # 目录条目
    AGENCY = "agency"  # 提供部门
    THEME = "theme"  # 所属领域


class Subscription(Base):
    """A user follows an entry, an agency or a domain (see the module docstring)."""

    __tablename__ = "portal_subscription"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "target"),
        Index("ix_portal_subscription_kind_target", "kind", "target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[SubscriptionKind] = mapped_column(
        str_enum(SubscriptionKind, "portal_subscription_kind")
    )
    target: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SubscriptionDelivery(Base):
    """User ``user_id`` has been told about version ``version_id``."""

    __tablename__ = "portal_subscription_delivery"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("dataset_version.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PortalScanMark(Base):
    """Where a periodic scan stopped: versions published before ``until`` were seen."""

    __tablename__ = "portal_scan_mark"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    until: Mapped[dt.datetime]
