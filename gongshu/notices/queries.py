"""Reads of notices and of the outbox, shared by pages, API and CLI."""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from gongshu.notices.models import Notice, OutboxMessage, OutboxStatus
from gongshu.pagination import Page

MAX_PER_PAGE = 100


def unread_count(session: Session, user_id: int) -> int:
    """The header's number: one COUNT over an index on (user_id, read_at)."""
    stmt = select(func.count(Notice.id)).where(Notice.user_id == user_id, Notice.read_at.is_(None))
    return int(session.scalar(stmt) or 0)


def list_notices(
    session: Session, user_id: int, *, unread_only: bool = False, page: int = 1, per_page: int = 20
) -> Page[Notice]:
    """A user's notices, unread first, newest first within each (two statements)."""
    where = [Notice.user_id == user_id]
    if unread_only:
        where.append(Notice.read_at.is_(None))
    total = int(session.scalar(select(func.count(Notice.id)).where(*where)) or 0)
    unread_first = case((Notice.read_at.is_(None), 0), else_=1)
    stmt = (
        select(Notice)
        .where(*where)
        .order_by(unread_first, Notice.created_at.desc(), Notice.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return Page(list(session.scalars(stmt)), total, page, per_page)


def list_outbox(
    session: Session, *, status: OutboxStatus | None = None, page: int = 1, per_page: int = 50
) -> Page[OutboxMessage]:
    """The mail queue, newest first, optionally of one status."""
    where = [OutboxMessage.status == status] if status else []
    total = int(session.scalar(select(func.count(OutboxMessage.id)).where(*where)) or 0)
    stmt = (
        select(OutboxMessage)
        .where(*where)
        .order_by(OutboxMessage.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return Page(list(session.scalars(stmt)), total, page, per_page)


def outbox_counts(session: Session) -> dict[str, int]:
    """How many e-mails are in each status."""
    stmt = select(OutboxMessage.status, func.count(OutboxMessage.id)).group_by(OutboxMessage.status)
    counts = {s.value: 0 for s in OutboxStatus}
    for status, n in session.execute(stmt):
        counts[OutboxStatus(status).value] = int(n)
    return counts
