"""``gongshu calendar``: the working-day calendar from the command line (acting as the
system, recorded as ``cli``)."""

from __future__ import annotations

import datetime as dt

import typer

from gongshu.auth.actor import Actor
from gongshu.cli_support import bi, cli_session, say
from gongshu.validation import parse
from gongshu.workdays import queries, service
from gongshu.workdays.calendar import MAX_WORKING_DAYS, WorkdayCalendar, end_of_day
from gongshu.workdays.schemas import OverrideSet

app = typer.Typer(help=bi("工作日历与期限"), no_args_is_help=True)

CLI_ACTOR = "cli"


def _actor() -> Actor:
    return Actor.system(CLI_ACTOR)


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(say("请输入有效日期（YYYY-MM-DD）")) from exc


@app.command("add-override", help=bi("将某日设为上班日或放假日（已有则修改）"))
def add_override(
    day: str = typer.Argument(..., help=bi("日期（YYYY-MM-DD）")),
    workday: bool = typer.Option(..., "--workday/--holiday", help=bi("上班（如调休）或放假")),
    note: str = typer.Option("", "--note", help=bi("说明")),
) -> None:
    with cli_session() as session:
        data = parse(OverrideSet, {"day": _day(day), "is_workday": workday, "note": note})
        row = service.set_override(session, _actor(), data)
        kind = say("上班") if row.is_workday else say("放假")
        typer.echo(say("已设置：{day} {kind}", day=row.day.isoformat(), kind=kind))


@app.command("remove-override", help=bi("删除某日的调整记录"))
def remove_override(day: str = typer.Argument(..., help=bi("日期（YYYY-MM-DD）"))) -> None:
    with cli_session() as session:
        service.delete_override(session, _actor(), _day(day))
        typer.echo(say("已删除 {day} 的调整记录", day=day))


@app.command("list", help=bi("列出调整记录"))
def list_(year: int | None = typer.Option(None, "--year", help=bi("只列出该年"))) -> None:
    with cli_session() as session:
        rows = queries.list_overrides(session, year)
        for row in rows:
            kind = say("上班") if row.is_workday else say("放假")
            typer.echo(f"{row.day.isoformat()}  {kind}  {row.note}".rstrip())
        typer.echo(say("共 {n} 条调整记录", n=len(rows)))


@app.command("deadline", help=bi("计算某日后第 N 个工作日"))
def deadline(
    start: str = typer.Argument(..., help=bi("起算日（不计入，YYYY-MM-DD）")),
    days: int = typer.Argument(..., min=1, max=MAX_WORKING_DAYS, help=bi("工作日数")),
) -> None:
    with cli_session() as session:
        calc = WorkdayCalendar(session).add(_day(start), days)
        typer.echo(
            say(
                "{start} 后 {n} 个工作日：{due}（截止于 {at}）",
                start=start,
                n=days,
                due=calc.due_on.isoformat(),
                at=end_of_day(calc.due_on).isoformat(),
            )
        )
        if calc.provisional:
            typer.echo(say("暂定：计算中用到尚无官方节假日安排的日期，按周一至周五计算"))
