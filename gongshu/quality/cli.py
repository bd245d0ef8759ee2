"""``gongshu quality``: scores, the agencies' ranking and overdue entries from a shell.

Commands act as the platform (they see the whole city); ``--region`` narrows a list to one
district by its code.
"""

from __future__ import annotations

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.catalog.cli import _by_code
from gongshu.cli_support import bi, cli_session, say
from gongshu.db import unit_of_work
from gongshu.errors import NotFound
from gongshu.labels import label
from gongshu.orgs.models import Region
from gongshu.quality import service
from gongshu.quality.jobs import ensure_overdue_job
from gongshu.quality.scores import DIMENSIONS, Dimensions

app = typer.Typer(help=bi("数据质量：评分、部门排名、逾期清单"), no_args_is_help=True)

CLI_ACTOR = Actor.system("cli")


def _region_id(session: Session, code: str | None) -> int | None:
    if not code:
        return None
    region = session.scalars(select(Region).where(Region.code == code)).one_or_none()
    if region is None:
        raise NotFound(service.MSG_NO_REGION)
    return region.id


def _cells(dims: Dimensions | None) -> str:
    if dims is None:
        return "\t".join("-" for _ in range(len(DIMENSIONS) + 1))
    return "\t".join(f"{v:.1f}" for v in (dims.total, *(getattr(dims, d) for d in DIMENSIONS)))


def _header(*first: str) -> str:
    names = [say(n) for n in ("综合得分", "完整性", "有效性", "唯一性", "及时性", "一致性")]
    return "\t".join([*first, *names])


@app.command("score", help=bi("显示目录条目各版本的质量得分"))
def score(
    dataset: str = typer.Argument(..., help=bi("信息资源代码")),
    recompute: bool = typer.Option(False, help=bi("先重新计算每个版本的得分")),
) -> None:
    with cli_session() as session:
        entry = _by_code(session, CLI_ACTOR, dataset)
        if recompute:
            service.rescore(session, dataset_id=entry.id)
        quality = service.dataset_quality(session, CLI_ACTOR, entry.id)
        typer.echo(_header(say("版本"), say("发布时间")))
        for v in quality.history:
            typer.echo(f"{v.number}\t{v.published_at:%Y-%m-%d %H:%M}\t{_cells(v.dims)}")
        typer.echo(_header(say("当前"), ""))
        typer.echo(f"-\t\t{_cells(quality.live)}")
        due = quality.due
        if due.due_on is None:
            typer.echo(say("更新周期：{cycle}，无应更新日期", cycle=label(entry.update_cycle)))
        elif due.overdue:
            typer.echo(say("应更新日期：{due}，逾期 {n} 天", due=due.due_on, n=due.days_late))
        else:
            typer.echo(say("应更新日期：{due}，剩余 {n} 天", due=due.due_on, n=due.remaining))


@app.command("agencies", help=bi("按质量得分排列各部门"))
def agencies(region: str | None = typer.Option(None, help=bi("区域代码（默认全市）"))) -> None:
    with cli_session() as session:
        ranking = service.agency_ranking(session, CLI_ACTOR, region_id=_region_id(session, region))
        typer.echo(
            _header(say("名次"), say("部门"))
            + "\t"
            + "\t".join(say(n) for n in ("目录条目", "已评分", "逾期"))
        )
        for line in ranking:
            typer.echo(
                f"{line.rank or '-'}\t{line.agency.name}\t{_cells(line.dims)}\t"
                f"{line.datasets}\t{line.scored}\t{line.overdue}"
            )


@app.command("overdue", help=bi("列出逾期未更新数据的目录条目"))
def overdue(
    region: str | None = typer.Option(None, help=bi("区域代码（默认全市）")),
    notify: bool = typer.Option(False, help=bi("现在就通知各部门的数据专管员")),
) -> None:
    with cli_session() as session:
        entries = service.overdue_entries(session, CLI_ACTOR, region_id=_region_id(session, region))
        for d in entries:
            typer.echo(
                f"{d.dataset.code}\t{d.dataset.title}\t{d.dataset.agency.name}\t"
                f"{label(d.dataset.update_cycle)}\t{d.due_on}\t" + say("逾期 {n} 天", n=d.days_late)
            )
        typer.echo(say("共 {n} 个逾期条目", n=len(entries)))
        if notify:
            counts = service.notify_overdue(session)
            with unit_of_work(session):
                ensure_overdue_job(session)
            typer.echo(
                say(
                    "已通知 {agencies} 个部门的 {users} 名数据专管员，涉及 {entries} 个条目",
                    **counts,
                )
            )


@app.command("rescore", help=bi("为尚未评分的当前版本计算质量得分"))
def rescore(every: bool = typer.Option(False, "--all", help=bi("重新计算所有当前版本"))) -> None:
    with cli_session() as session:
        count = service.rescore(session, only_missing=not every)
        typer.echo(say("已计算 {n} 个版本的得分", n=count))
