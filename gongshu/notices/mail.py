"""Delivering the outbox over SMTP (stdlib ``smtplib``), configured by ``GONGSHU_SMTP_URL``.

``smtp://user:pass@host:587?starttls=1&from=noreply@example.gov.cn`` — ``smtps://`` speaks
TLS from the first byte (port 465 by default); ``starttls=1`` upgrades a plain connection;
user and password are URL-encoded; ``timeout`` is in seconds (default 30). Without a URL the
queued e-mails are marked ``no_transport`` and kept: once a URL is set, the next delivery
job sends them too.

Delivery takes a batch of messages with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite's
write lock serialises), sends them over one connection and records each outcome. A message
that fails is tried again by a later job, up to ``MAX_ATTEMPTS`` times, then ``failed``.
"""

from __future__ import annotations

import datetime as dt
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gongshu.db import unit_of_work, utcnow
from gongshu.i18n import translate
from gongshu.jobs.models import Job, JobStatus
from gongshu.jobs.service import enqueue
from gongshu.notices.models import OutboxMessage, OutboxStatus
from gongshu.notices.service import SEND_JOB
from gongshu.settings import Settings

MAX_ATTEMPTS = 3
BATCH = 50
RETRY_AFTER = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class SmtpConfig:
    """The parts of ``GONGSHU_SMTP_URL``."""

    host: str
    port: int
    username: str = ""
    password: str = ""
    use_ssl: bool = False
    starttls: bool = False
    sender: str = ""
    timeout: float = 30.0


def parse_smtp_url(url: str) -> SmtpConfig:
    """Read ``smtp[s]://[user[:pass]@]host[:port][?starttls=1&from=…&timeout=…]``."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("GONGSHU_SMTP_URL must look like smtp://user:pass@host:587?starttls=1")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    use_ssl = parts.scheme == "smtps"
    host = parts.hostname
    return SmtpConfig(
        host=host,
        port=parts.port or (465 if use_ssl else 25),
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        use_ssl=use_ssl,
        starttls=query.get("starttls", "0").lower() in ("1", "true", "yes", "on"),
        sender=query.get("from") or f"noreply@{host}",
        timeout=float(query.get("timeout", "30")),
    )


def _connect(config: SmtpConfig) -> smtplib.SMTP:
    if config.use_ssl:
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            config.host, config.port, timeout=config.timeout, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        if config.starttls:
            client.starttls(context=ssl.create_default_context())
    if config.username:
        client.login(config.username, config.password)
    return client


def _email(message: OutboxMessage, config: SmtpConfig, settings: Settings) -> EmailMessage:
    lang = settings.default_language
    display = translate(settings.city_name, lang) + translate(settings.platform_name, lang)
    mail = EmailMessage()
    mail["From"] = formataddr((display, config.sender))
    mail["To"] = message.to_address
    mail["Subject"] = message.subject
    mail["Message-ID"] = make_msgid(idstring=f"outbox{message.id}")
    mail.set_content(message.body)
    return mail


def _fail(message: OutboxMessage, error: str) -> None:
    message.attempts += 1
    message.last_error = error[-2000:]
    message.status = (
        OutboxStatus.FAILED if message.attempts >= MAX_ATTEMPTS else OutboxStatus.QUEUED
    )


def deliver_outbox(session: Session, settings: Settings) -> dict[str, int]:
    """Send what waits in the outbox; returns counts of ``sent``, ``failed``, ``retry``,
    ``no_transport``. Commits per batch (this is a job, not a caller's transaction)."""
    counts = {"sent": 0, "failed": 0, "retry": 0, "no_transport": 0}
    if not settings.smtp_url:
        with unit_of_work(session):
            result = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.QUEUED)
                .values(status=OutboxStatus.NO_TRANSPORT)
                .execution_options(synchronize_session=False)
            )
        counts["no_transport"] = int(result.rowcount or 0)  # type: ignore[attr-defined]
        return counts
    config = parse_smtp_url(settings.smtp_url)
    last_id = 0
    while True:
        with unit_of_work(session):
            stmt = (
                select(OutboxMessage)
                .where(
                    OutboxMessage.status.in_([OutboxStatus.QUEUED, OutboxStatus.NO_TRANSPORT]),
                    OutboxMessage.id > last_id,
                )
                .order_by(OutboxMessage.id)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
            batch = list(session.scalars(stmt))
            if not batch:
                break
            last_id = batch[-1].id
            connection_failed = _send_batch(batch, config, settings, counts)
        if connection_failed:
            break
    with unit_of_work(session):
        if counts["retry"]:
            _schedule_retry(session)
    return counts


def _send_batch(
    batch: list[OutboxMessage], config: SmtpConfig, settings: Settings, counts: dict[str, int]
) -> bool:
    """Send one batch over one connection; True when the server could not be reached."""
    try:
        client = _connect(config)
    except (OSError, smtplib.SMTPException) as exc:
        for message in batch:
            _fail(message, f"{type(exc).__name__}: {exc}")
            counts["failed" if message.status is OutboxStatus.FAILED else "retry"] += 1
        return True
    try:
        for message in batch:
            try:
                client.send_message(_email(message, config, settings))
            except (OSError, smtplib.SMTPException) as exc:
                _fail(message, f"{type(exc).__name__}: {exc}")
                counts["failed" if message.status is OutboxStatus.FAILED else "retry"] += 1
                continue
            message.attempts += 1
            message.status = OutboxStatus.SENT
            message.sent_at = utcnow()
            message.last_error = ""
            counts["sent"] += 1
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()
    return False


def _schedule_retry(session: Session) -> None:
    """A later delivery job for the messages that failed this time (one queued at most)."""
    queued = session.scalar(
        select(Job.id).where(Job.kind == SEND_JOB, Job.status == JobStatus.QUEUED).limit(1)
    )
    if queued is None:
        enqueue(session, SEND_JOB, {}, run_after=utcnow() + RETRY_AFTER)
