"""``gongshu systems``: register, list and link information systems (acting as the system)."""

from __future__ import annotations

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.catalog import queries as catalog_queries
from gongshu.cli_support import bi, cli_session, say
from gongshu.errors import NotFound
from gongshu.i18n import N_
from gongshu.orgs.models import Agency
from gongshu.systems import queries, service
from gongshu.systems.models import SystemStatus
from gongshu.systems.schemas import SystemCreate, SystemFilter, SystemLink
from gongshu.validation import parse

app = typer.Typer(help=bi("政务信息系统登记"), no_args_is_help=True)

CLI_ACTOR = Actor.system("cli")
AGENCY_NOT_FOUND = N_("机构不存在")
UNCATALOGED = N_("未编目")


def _agency_id(session: Session, value: str) -> int:
    stmt = select(Agency.id).where(
        (Agency.credit_code == value.upper())
        | (Agency.name == value)
        | (Agency.short_name == value)
    )
    found = session.scalars(stmt.order_by(Agency.id)).first()
    if found is None:
        raise NotFound(AGENCY_NOT_FOUND)
    return int(found)


@app.command("add", help=bi("登记信息系统"))
def add(
    name: str = typer.Option(..., "--name", help=bi("系统名称")),
    agency: str = typer.Option(..., "--agency", help=bi("所属机构（统一社会信用代码或名称）")),
    status: SystemStatus = typer.Option(SystemStatus.RUNNING, "--status", help=bi("状态")),
    project_name: str = typer.Option("", "--project-name", help=bi("建设项目名称")),
    project_number: str = typer.Option("", "--project-number", help=bi("建设项目编号")),
    description: str = typer.Option("", "--description", help=bi("系统简介")),
    contact: str = typer.Option("", "--contact", help=bi("联系人")),
) -> None:
    with cli_session() as session:
        data = parse(
            SystemCreate,
            {
                "name": name,
                "agency_id": _agency_id(session, agency),
                "status": status,
                "project_name": project_name,
                "project_number": project_number,
                "description": description,
                "contact": contact,
            },
        )
        system = service.create_system(session, CLI_ACTOR, data)
        typer.echo(say("已登记信息系统 {id}：{name}", id=system.id, name=system.name))


@app.command("list", help=bi("列出信息系统"))
def list_systems(
    q: str = typer.Option("", "--q", help=bi("关键词（系统名称、项目名称或编号）")),
    agency: str | None = typer.Option(None, "--agency", help=bi("所属机构")),
    status: SystemStatus | None = typer.Option(None, "--status", help=bi("状态")),
    uncataloged: bool = typer.Option(False, "--uncataloged", help=bi("只列出运行中但未编目的系统")),
    page: int = typer.Option(1, "--page", min=1, help=bi("页码")),
) -> None:
    with cli_session() as session:
        filters = SystemFilter(
            q=q or None,
            agency_id=_agency_id(session, agency) if agency else None,
            status=status,
            uncataloged=uncataloged or None,
        )
        result = queries.list_systems(session, CLI_ACTOR, filters, page, queries.MAX_PER_PAGE)
        for row in result.items:
            s = row.system
            flag = say(UNCATALOGED) if row.uncataloged else ""
            typer.echo(
                f"{s.id}\t{queries.status_label(s.status)}\t{s.agency.name}\t{s.name}\t{row.dataset_count}\t{flag}"
            )
        typer.echo(
            say(
                "共 {n} 个，其中运行中未编目 {m} 个",
                n=result.total,
                m=queries.count_uncataloged(session, CLI_ACTOR, filters),
            ),
            err=True,
        )


@app.command("link", help=bi("把目录条目关联到信息系统"))
def link(
    system_id: int = typer.Argument(..., help=bi("信息系统编号")),
    code: str = typer.Argument(..., help=bi("信息资源代码")),
) -> None:
    with cli_session() as session:
        service.link_dataset(session, CLI_ACTOR, system_id, SystemLink(code=code))
        typer.echo(say("已关联 {code}", code=code))


@app.command("unlink", help=bi("取消目录条目与信息系统的关联"))
def unlink(
    system_id: int = typer.Argument(..., help=bi("信息系统编号")),
    code: str = typer.Argument(..., help=bi("信息资源代码")),
) -> None:
    with cli_session() as session:
        dataset = catalog_queries.find_by_code(session, CLI_ACTOR, code)
        if dataset is None:
            raise NotFound(service.DATASET_NOT_FOUND)
        service.unlink_dataset(session, CLI_ACTOR, system_id, dataset.id)
        typer.echo(say("已取消关联 {code}", code=code))
