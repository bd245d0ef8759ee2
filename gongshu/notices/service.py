"""Sending notices and keeping them: what other areas call, and the reader's own actions.

``notify`` runs in the *caller's* transaction (a catalog review, an objection …): the
notices, the outbox e-mails and the one delivery job commit or roll back with the caller's
change, so nobody is told about something that did not happen. The caller audits its own
action; notices themselves are not audited (they are a consequence, not a decision), nor is
marking them read (the reader's own inbox state). Re-queuing an e-mail from the outbox page
is audited as ``outbox.retry``.

Titles and bodies are Chinese message ids with ``{name}`` placeholders: a notice stores the
msgid and its params and is rendered in the reader's language when shown; an e-mail is
rendered once, in ``GONGSHU_DEFAULT_LANGUAGE``, when it is queued. String params that are
themselves message ids (a duty's name) are translated too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gongshu.audit.service import plain, record
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role, User, UserRole
from gongshu.auth.permissions import require_login
from gongshu.db import unit_of_work, utcnow
from gongshu.errors import Conflict, NotFound, PermissionDenied
from gongshu.i18n import N_, Language, translate
from gongshu.jobs.models import Job, JobStatus
from gongshu.jobs.service import enqueue
from gongshu.notices.models import Notice, OutboxMessage, OutboxStatus
from gongshu.settings import get_settings

__all__ = [
    "SEND_JOB",
    "ensure_send_job",
    "mark_all_read",
    "mark_read",
    "notify",
    "render_text",
    "require_outbox_reader",
    "retry_outbox_message",
    "users_with_role",
]

SEND_JOB = "notices.send_outbox"

M_NOTICE_NOT_FOUND = N_("通知不存在")
M_MESSAGE_NOT_FOUND = N_("邮件不存在")
M_ALREADY_SENT = N_("该邮件已发送，无需重发")
M_SYSTEM_ADMIN_ONLY = N_("只有系统管理员可以查看发信队列")
M_MAIL_LINK = N_("查看：{url}")
M_MAIL_FOOTER = N_("本邮件由{city}{platform}自动发送，请勿直接回复。")


def render_text(message: str, lang: Language | None, params: Mapping[str, Any]) -> str:
    """A message id with its params in ``lang``; string params are translated as well."""
    if not message:
        return ""
    values = {k: translate(v, lang) if isinstance(v, str) else v for k, v in params.items()}
    try:
        return translate(message, lang, **values)
    except (KeyError, IndexError, ValueError):
        return translate(message, lang)


def _mail_body(title: str, body: str, link: str, lang: Language, params: Mapping[str, Any]) -> str:
    settings = get_settings()
    parts = [render_text(body, lang, params) or render_text(title, lang, params)]
    if link:
        url = link if "://" in link else settings.base_url.rstrip("/") + "/" + link.lstrip("/")
        parts.append(translate(M_MAIL_LINK, lang, url=url))
    parts.append(
        "-- \n"
        + translate(
            M_MAIL_FOOTER,
            lang,
            city=translate(settings.city_name, lang),
            platform=translate(settings.platform_name, lang),
        )
    )
    return "\n\n".join(parts)


def notify(
    session: Session,
    *,
    user_ids: Iterable[int],
    kind: str,
    title: str,
    body: str = "",
    link: str = "",
    **params: Any,
) -> list[Notice]:
    """Tell users about something, in the caller's transaction (no commit here).

    One ``Notice`` per active user (duplicates and unknown ids are dropped), one
    ``OutboxMessage`` per such user with an e-mail address, and one delivery job
    (``notices.send_outbox``) when there is mail. ``title``/``body`` are Chinese message ids
    (``N_("目录“{title}”待审核")``) filled with ``params``; ``link`` is a path in the
    platform (``/catalog/12``).
    """
    ids = sorted({int(i) for i in user_ids})
    if not ids:
        return []
    values = plain(dict(params))
    for text in (title, body):
        if "{" in text:
            text.format(**values)  # a missing placeholder fails the caller now, not on display
    lang = get_settings().default_language
    rows = session.execute(
        select(User.id, User.email).where(User.id.in_(ids), User.is_active.is_(True))
    ).all()
    notices: list[Notice] = []
    mail = 0
    for user_id, email in rows:
        notice = Notice(
            user_id=user_id, kind=kind, title=title, body=body, link=link, params=values
        )
        session.add(notice)
        notices.append(notice)
        if email:
            session.add(
                OutboxMessage(
                    user_id=user_id,
                    to_address=email,
                    subject=render_text(title, lang, values)[:300],
                    body=_mail_body(title, body, link, lang, values),
                )
            )
            mail += 1
    session.flush()
    if mail:
        ensure_send_job(session)
    return notices


def ensure_send_job(session: Session) -> Job:
    """One queued delivery job, due now (an already queued one is brought forward)."""
    queued = session.scalars(
        select(Job)
        .where(Job.kind == SEND_JOB, Job.status == JobStatus.QUEUED)
        .order_by(Job.id)
        .limit(1)
    ).first()
    now = utcnow()
    if queued is None:
        return enqueue(session, SEND_JOB, {}, run_after=now)
    if queued.run_after > now:
        queued.run_after = now
    return queued


def users_with_role(
    session: Session, role: Role, region_id: int | None = None, agency_id: int | None = None
) -> list[int]:
    """Ids of the active users holding ``role`` — of one region and/or agency when given.

    ``users_with_role(s, Role.BUREAU_ADMIN, region_id=r)``: the bureau admins of region r;
    ``users_with_role(s, Role.AGENCY_OFFICER, agency_id=a)``: the data officers of agency a.
    """
    stmt = (
        select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == role, User.is_active.is_(True))
    )
    if region_id is not None:
        stmt = stmt.where(User.region_id == region_id)
    if agency_id is not None:
        stmt = stmt.where(User.agency_id == agency_id)
    return list(session.scalars(stmt.order_by(User.id).distinct()))


# --- the reader's inbox -------------------------------------------------------------------


def mark_read(session: Session, actor: Actor | None, notice_id: int) -> Notice:
    """Mark one of the actor's own notices read (another user's is "not found")."""
    actor = require_login(actor)
    with unit_of_work(session):
        notice = session.get(Notice, notice_id)
        if notice is None or notice.user_id != actor.user_id:
            raise NotFound(M_NOTICE_NOT_FOUND)
        if notice.read_at is None:
            notice.read_at = utcnow()
    return notice


def mark_all_read(session: Session, actor: Actor | None) -> int:
    """Mark every unread notice of the actor read; returns how many."""
    actor = require_login(actor)
    with unit_of_work(session):
        result = session.execute(
            update(Notice)
            .where(Notice.user_id == actor.user_id, Notice.read_at.is_(None))
            .values(read_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --- the outbox (system admin) ------------------------------------------------------------


def require_outbox_reader(actor: Actor | None) -> Actor:
    """The mail queue holds every user's mail: the system admin only (三员: 系统管理员)."""
    actor = require_login(actor)
    if not actor.has(Role.SYSTEM_ADMIN):
        raise PermissionDenied(M_SYSTEM_ADMIN_ONLY)
    return actor


def retry_outbox_message(session: Session, actor: Actor | None, message_id: int) -> OutboxMessage:
    """Queue a failed (or untransported) e-mail again, with fresh attempts; audited."""
    actor = require_outbox_reader(actor)
    with unit_of_work(session):
        message = session.get(OutboxMessage, message_id)
        if message is None:
            raise NotFound(M_MESSAGE_NOT_FOUND)
        if message.status is OutboxStatus.SENT:
            raise Conflict(M_ALREADY_SENT)
        before = message.status.value
        message.status = OutboxStatus.QUEUED
        message.attempts = 0
        ensure_send_job(session)
        record(
            session,
            actor,
            "outbox.retry",
            "outbox_message",
            message.id,
            label=message.to_address,
            changes={"status": [before, OutboxStatus.QUEUED.value]},
        )
    return message
