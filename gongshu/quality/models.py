"""Quality scores (质量评分) of dataset versions, and the overdue notices already sent.

A ``QualityScore`` is computed once for each published version (and again on request): five
dimensions and their weighted total, each a number from 0 to 100. The weights and how each
dimension is derived are in ``gongshu.quality.scores`` and docs/quality.md.

An ``OverdueNotice`` remembers that the officers of an entry's agency were told the entry
missed its due date, so the daily job tells them once per entry and due date.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gongshu.db import Base, utcnow


class QualityScore(Base):
    """The quality of one published dataset version, by dimension and in total (0–100)."""

    __tablename__ = "quality_score"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("dataset_version.id"), unique=True)
    computed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    completeness: Mapped[float] = mapped_column(Float)
    validity: Mapped[float] = mapped_column(Float)
    uniqueness: Mapped[float] = mapped_column(Float)
    timeliness: Mapped[float] = mapped_column(Float)
    consistency: Mapped[float] = mapped_column(Float)
    total: Mapped[float] = mapped_column(Float)


class OverdueNotice(Base):
    """The agency's officers were told on ``notified_at`` that the entry was due on
    ``due_on`` and had no new data."""

    __tablename__ = "quality_overdue_notice"
    __table_args__ = (UniqueConstraint("dataset_id", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    due_on: Mapped[dt.date]
    notified_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
