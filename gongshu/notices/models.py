"""Notices shown in the platform and the e-mails queued for them."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gongshu.db import Base, utcnow
from gongshu.orgs.models import str_enum


class Notice(Base):
    """One message to one user ("目录待审核", "期限将至" …).

    ``title`` and ``body`` are Chinese message ids and ``params`` fills their ``{name}``
    placeholders: the notice is rendered in the reader's language when shown.
    """

    __tablename__ = "notice"
    __table_args__ = (Index("ix_notice_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(500), default="")
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    read_at: Mapped[dt.datetime | None]


class OutboxStatus(enum.StrEnum):
    QUEUED = "queued"  # waiting for the delivery job
    SENT = "sent"
    FAILED = "failed"  # gave up after the last attempt
    NO_TRANSPORT = "no_transport"  # GONGSHU_SMTP_URL is not set; kept for later


class OutboxMessage(Base):
    """An e-mail waiting for, or done with, delivery (already in the sender's language)."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_status", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    to_address: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[OutboxStatus] = mapped_column(
        str_enum(OutboxStatus, "outbox_status"), default=OutboxStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
