"""``gongshu notices``: deliver the outbox and send deadline reminders now, list the queue.

Importing this module (the ``gongshu`` command does) registers the notices' job handlers, so
``gongshu jobs worker`` runs them.
"""

from __future__ import annotations

import typer

from gongshu.cli_support import bi, cli_session, say
from gongshu.db import unit_of_work
from gongshu.notices import jobs as _jobs  # noqa: F401 — registers the job handlers
from gongshu.notices import queries
from gongshu.notices.mail import deliver_outbox
from gongshu.notices.models import OutboxStatus
from gongshu.notices.reminders import (
    ensure_reminder_job,
    next_reminder_run,
    send_deadline_reminders,
)
from gongshu.settings import get_settings

app = typer.Typer(help=bi("站内通知与邮件"), no_args_is_help=True)


@app.command("send", help=bi("立即发送发信队列中的邮件"))
def send() -> None:
    with cli_session() as session:
        counts = deliver_outbox(session, get_settings())
        typer.echo(
            say(
                "已发送 {sent} 封，失败 {failed} 封，待重试 {retry} 封，未配置发信服务 {none} 封",
                sent=counts["sent"],
                failed=counts["failed"],
                retry=counts["retry"],
                none=counts["no_transport"],
            )
        )


@app.command("remind", help=bi("立即发送期限提醒，并确保每日提醒任务已排队"))
def remind() -> None:
    with cli_session() as session:
        counts = send_deadline_reminders(session)
        with unit_of_work(session):
            ensure_reminder_job(session, run_after=next_reminder_run())
        typer.echo(
            say(
                "将到期 {soon} 项，已逾期 {overdue} 项，提醒 {users} 人次",
                soon=counts["due_soon"],
                overdue=counts["overdue"],
                users=counts["users"],
            )
        )


@app.command("outbox", help=bi("列出发信队列"))
def outbox(
    status: OutboxStatus | None = typer.Option(None, "--status", help=bi("只列出该状态")),
    limit: int = typer.Option(50, "--limit", min=1, max=500, help=bi("最多显示条数")),
) -> None:
    with cli_session() as session:
        result = queries.list_outbox(session, status=status, per_page=limit)
        for m in result.items:
            typer.echo(f"{m.id:>6}  {m.status.value:<12}  {m.to_address}  {m.subject}")
        typer.echo(say("共 {n} 封", n=result.total))
