"""The admin's calendar overrides and the deadlines counted in working days."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gongshu.db import Base, utcnow


class CalendarOverride(Base):
    """One day whose status an admin decided: a working day or a day off.

    It wins over the ``chinesecalendar`` package (for a late announcement, a local holiday,
    or a year the package does not know yet).
    """

    __tablename__ = "calendar_override"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, unique=True)
    is_workday: Mapped[bool]
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Deadline(Base):
    """A time limit on one object, counted in working days ("15 个工作日").

    ``due_on`` is the last day (the deadline is at the end of it, Asia/Shanghai); ``rule``
    is the human text of how it was counted; ``provisional`` is true when a day counted
    fell outside the official calendar and was taken as Monday–Friday. At most one
    deadline of a kind is open (``closed_at`` unset) per object.
    """

    __tablename__ = "deadline"
    __table_args__ = (
        Index("ix_deadline_object", "object_type", "object_id", "kind"),
        Index("ix_deadline_open_due", "closed_at", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[int]
    kind: Mapped[str] = mapped_column(String(64))
    started_on: Mapped[dt.date] = mapped_column(Date)
    working_days: Mapped[int]
    due_on: Mapped[dt.date] = mapped_column(Date)
    rule: Mapped[str] = mapped_column(String(200))
    provisional: Mapped[bool] = mapped_column(default=False)
    closed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Reminders (gongshu.notices.reminders): the due date a "due soon" notice was sent
    # for (a moved deadline is reminded again) and when the one "overdue" notice went out.
    reminded_due_on: Mapped[dt.date | None] = mapped_column(Date)
    overdue_notified_at: Mapped[dt.datetime | None]
