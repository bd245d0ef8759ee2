"""``gongshu feedback``: the bureau's view of public feedback from the shell — what waits
in the moderation queues, replies overdue, response times per agency — and the reminder
sweep run by hand."""

from __future__ import annotations

import datetime as dt

import typer

from gongshu.auth.actor import Actor
from gongshu.cli_support import bi, cli_session, say
from gongshu.feedback import queries, reminders
from gongshu.notices.reminders import send_deadline_reminders

app = typer.Typer(
    help=bi("公众互动：异议纠错、数据需求、留言、权益申诉和利用成果"), no_args_is_help=True
)

CLI_ACTOR = Actor.system("cli")
_ = reminders  # importing it registers who is reminded of the reply deadlines


@app.command("queues", help=bi("列出各审核队列中待办的数量"))
def queues() -> None:
    with cli_session() as session:
        for name, n in queries.moderation_queues(session, CLI_ACTOR).counts().items():
            typer.echo(f"{name}\t{n}")


@app.command("overdue", help=bi("列出逾期未答复的公众反馈"))
def overdue(
    today: str = typer.Option("", "--today", help=bi("按该日期计算（YYYY-MM-DD，默认今天）")),
) -> None:
    day = dt.date.fromisoformat(today) if today else None
    with cli_session() as session:
        found = queries.overdue_replies(session, day)
        for o in found:
            d = o.deadline
            typer.echo(
                f"{d.kind}\t{d.object_id}\t{o.agency_name or '-'}\t{d.due_on.isoformat()}"
                f"\t{o.days_over}"
            )
        typer.echo(say("逾期未答复 {n} 件", n=len(found)))


@app.command("response-times", help=bi("各单位答复时效"))
def response_times(
    since: str = typer.Option("", "--since", help=bi("只统计该日期以后开始的期限（YYYY-MM-DD）")),
) -> None:
    start = dt.date.fromisoformat(since) if since else None
    with cli_session() as session:
        for r in queries.response_times(session, since=start):
            median = f"{r.median_working_days:.1f}" if r.median_working_days is not None else "-"
            typer.echo(
                f"{r.agency_id}\t{r.agency_name}\t{r.total}\t{r.on_time}\t{r.late}"
                f"\t{r.open_overdue}\t{r.open_in_time}\t{median}"
            )


@app.command("remind", help=bi("立即发送期限提醒（即将到期和已逾期）"))
def remind() -> None:
    with cli_session() as session:
        counts = send_deadline_reminders(session)
        typer.echo(
            say(
                "即将到期 {due_soon} 件，已逾期 {overdue} 件，通知 {users} 人",
                due_soon=counts["due_soon"],
                overdue=counts["overdue"],
                users=counts["users"],
            )
        )
