"""Delivering the outbox: through a fake SMTP server on localhost, without a transport,
with refused recipients and an unreachable server."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.i18n import N_
from gongshu.jobs.models import Job, JobStatus
from gongshu.jobs.service import run_one
from gongshu.notices import jobs as _jobs  # noqa: F401 — registers the handlers
from gongshu.notices.mail import MAX_ATTEMPTS, deliver_outbox, parse_smtp_url
from gongshu.notices.models import OutboxMessage, OutboxStatus
from gongshu.notices.service import notify
from gongshu.settings import get_settings
from tests.factories import Person
from tests.notices.smtp_server import Mailbox

TITLE = N_("今日到期：{what}")


def queue_mail(db: Session, person: Person, address: str = "officer@gov.test") -> None:
    person.user.email = address
    db.flush()
    notify(
        db,
        user_ids=[person.user.id],
        kind="deadline.due_today",
        title=TITLE,
        body=TITLE,
        link="/notices",
        what="目录审核",
    )


def outbox(db: Session) -> list[OutboxMessage]:
    return list(db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_parse_smtp_url() -> None:
    config = parse_smtp_url("smtp://u%40x:p%3Aw@mail.gov.test:587?starttls=1&from=a@gov.test")
    assert (config.host, config.port, config.username, config.password) == (
        "mail.gov.test",
        587,
        "u@x",
        "p:w",
    )
    assert config.starttls and not config.use_ssl and config.sender == "a@gov.test"
    ssl_config = parse_smtp_url("smtps://mail.gov.test")
    assert (
        ssl_config.port == 465
        and ssl_config.use_ssl
        and ssl_config.sender == "noreply@mail.gov.test"
    )
    with pytest.raises(ValueError):
        parse_smtp_url("http://mail.gov.test")


def test_the_job_delivers_through_smtp(db: Session, officer: Person, mailbox: Mailbox) -> None:
    queue_mail(db, officer)
    job = run_one(db, "test-worker")
    assert job is not None and job.kind == "notices.send_outbox"
    assert job.status is JobStatus.DONE, job.error
    assert job.result["sent"] == 1
    (message,) = outbox(db)
    assert message.status is OutboxStatus.SENT
    assert message.sent_at is not None and message.attempts == 1
    (received,) = mailbox.messages
    assert received.recipients == ["officer@gov.test"]
    assert received.sender == "noreply@gov.test"
    assert mailbox.logins == [("mailer", "s@cret")]
    email = received.message
    assert email["Subject"] == "今日到期：目录审核"
    assert "noreply@gov.test" in email["From"]
    assert "http://127.0.0.1:8000/notices" in email.get_content()


def test_without_transport_mail_stays_as_no_transport(
    db: Session, officer: Person, no_transport: None
) -> None:
    queue_mail(db, officer)
    job = run_one(db, "test-worker")
    assert job is not None and job.status is JobStatus.DONE
    assert job.result["no_transport"] == 1
    (message,) = outbox(db)
    assert message.status is OutboxStatus.NO_TRANSPORT
    assert message.attempts == 0


def test_kept_mail_goes_out_once_a_transport_is_set(
    db: Session, officer: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue_mail(db, officer)
    monkeypatch.setenv("GONGSHU_SMTP_URL", "")
    get_settings.cache_clear()
    deliver_outbox(db, get_settings())
    assert outbox(db)[0].status is OutboxStatus.NO_TRANSPORT
    from tests.notices.smtp_server import smtp_server

    with smtp_server() as (port, box):
        monkeypatch.setenv("GONGSHU_SMTP_URL", f"smtp://127.0.0.1:{port}")
        get_settings.cache_clear()
        counts = deliver_outbox(db, get_settings())
    get_settings.cache_clear()
    assert counts["sent"] == 1
    assert outbox(db)[0].status is OutboxStatus.SENT
    assert len(box.messages) == 1


def test_a_refused_recipient_is_retried_then_failed(
    db: Session, officer: Person, other_officer: Person, mailbox: Mailbox
) -> None:
    mailbox.reject_rcpt = "nobody"
    queue_mail(db, officer, "nobody@gov.test")
    queue_mail(db, other_officer, "someone@gov.test")
    counts = deliver_outbox(db, get_settings())
    assert counts == {"sent": 1, "failed": 0, "retry": 1, "no_transport": 0}
    bad, good = outbox(db)
    assert good.status is OutboxStatus.SENT
    assert bad.status is OutboxStatus.QUEUED and bad.attempts == 1
    assert "550" in bad.last_error
    retry = db.scalars(
        select(Job).where(Job.kind == "notices.send_outbox", Job.status == JobStatus.QUEUED)
    ).all()
    assert len(retry) == 1  # the job queued by notify, not yet run, serves as the retry
    for _ in range(MAX_ATTEMPTS - 1):
        deliver_outbox(db, get_settings())
    assert bad.status is OutboxStatus.FAILED and bad.attempts == MAX_ATTEMPTS
    assert len(mailbox.messages) == 1


def test_an_unreachable_server_keeps_mail_for_a_later_job(
    db: Session, officer: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("GONGSHU_SMTP_URL", f"smtp://127.0.0.1:{port}?timeout=2")
    get_settings.cache_clear()
    try:
        queue_mail(db, officer)
        job = run_one(db, "test-worker")
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert job is not None and job.status is JobStatus.DONE
    assert job.result["retry"] == 1
    (message,) = outbox(db)
    assert message.status is OutboxStatus.QUEUED and message.attempts == 1
    assert "ConnectionRefusedError" in message.last_error
    later = db.scalars(
        select(Job).where(Job.kind == "notices.send_outbox", Job.status == JobStatus.QUEUED)
    ).all()
    assert len(later) == 1 and later[0].run_after > job.finished_at  # type: ignore[operator]
