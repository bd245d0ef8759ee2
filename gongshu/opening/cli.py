"""``gongshu opening``: open applications for conditional entries — list, decide, revoke,
and run the sweep by hand.

Commands act as the platform unless ``--as USERNAME`` names a user, so the same rules and
audit entries apply as on the pages.
"""

from __future__ import annotations

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.auth import service as auth_service
from gongshu.auth.actor import Actor
from gongshu.auth.models import User
from gongshu.cli_support import bi, cli_session, say
from gongshu.errors import NotFound
from gongshu.i18n import N_
from gongshu.opening import queries, service
from gongshu.opening.jobs import sweep
from gongshu.opening.models import ApplicationStatus
from gongshu.opening.schemas import DecisionIn
from gongshu.validation import parse

app = typer.Typer(help=bi("有条件开放：开放申请、答复、终止与到期"), no_args_is_help=True)

CLI_ACTOR = Actor.system("cli")
AS_HELP = N_("以该用户的身份操作（默认：平台）")
USER_NOT_FOUND = N_("用户不存在或已停用")
BAD_OUTCOME = N_("答复结果应为 approve 或 refuse")
DONE = N_("开放申请 {id}：{status}")
SWEPT = N_("到期 {expired} 项，利用情况报告逾期 {reports} 项")


def _actor(session: Session, username: str | None) -> Actor:
    if not username:
        return CLI_ACTOR
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    if user is None or not user.is_active:
        raise NotFound(USER_NOT_FOUND)
    return auth_service.actor_for_user(user)


@app.command("list", help=bi("列出开放申请"))
def list_applications(
    status: str = typer.Option("", help=bi("状态")),
    as_user: str = typer.Option("", "--as", help=bi(AS_HELP)),
) -> None:
    with cli_session() as session:
        actor = _actor(session, as_user)
        wanted = ApplicationStatus(status) if status in set(ApplicationStatus) else None
        page = queries.list_applications(session, actor, status=wanted, per_page=200)
        views = queries.deadline_views(session, page.items)
        for a in page.items:
            view = views.get(a.id)
            due = f"{view.deadline.due_on.isoformat()}({view.remaining})" if view else "-"
            typer.echo(
                f"{a.id}\t{a.status.value}\t{a.dataset.code}\t{a.applicant.display_name}\t"
                f"{a.provider.name}\t{due}"
            )


@app.command("decide", help=bi("答复开放申请（数据提供单位；不予同意须说明理由）"))
def decide(
    application_id: int = typer.Argument(...),
    outcome: str = typer.Option(..., help="approve | refuse"),
    reason: str = typer.Option("", help=bi(N_("理由"))),
    field: list[str] = typer.Option([], help=bi(N_("同意的信息项（默认：按申请）"))),
    until: str = typer.Option("", help=bi(N_("使用截止日期（YYYY-MM-DD）"))),
    as_user: str = typer.Option("", "--as", help=bi(AS_HELP)),
) -> None:
    if outcome not in ("approve", "refuse"):
        raise typer.BadParameter(say(BAD_OUTCOME))
    with cli_session() as session:
        data = parse(
            DecisionIn,
            {"outcome": outcome, "reason": reason, "fields": field, "until": until or None},
        )
        done = service.decide(session, _actor(session, as_user), application_id, data)
        typer.echo(say(DONE, id=done.id, status=queries.status_label(done.status)))


@app.command("revoke", help=bi("终止开放授权（须说明理由）"))
def revoke(
    application_id: int = typer.Argument(...),
    reason: str = typer.Option(..., help=bi(N_("理由"))),
    as_user: str = typer.Option("", "--as", help=bi(AS_HELP)),
) -> None:
    with cli_session() as session:
        done = service.revoke(session, _actor(session, as_user), application_id, reason)
        typer.echo(say(DONE, id=done.id, status=queries.status_label(done.status)))


@app.command("sweep", help=bi("立即执行到期处理和利用情况报告逾期检查"))
def run_sweep() -> None:
    with cli_session() as session:
        counts = sweep(session)
        typer.echo(say(SWEPT, expired=counts["expired"], reports=counts["reports_overdue"]))


__all__ = ["app"]
