"""``gongshu agency``: regions and agencies from the command line (acting as the system)."""

from __future__ import annotations

import typer

from gongshu.auth.actor import Actor
from gongshu.cli_support import bi, cli_session, say
from gongshu.labels import label
from gongshu.orgs import queries, service
from gongshu.orgs.models import AgencyKind, RegionLevel
from gongshu.orgs.schemas import AgencyCreate, RegionCreate
from gongshu.validation import parse

app = typer.Typer(help=bi("行政区划与公共管理和服务机构"), no_args_is_help=True)

CLI_ACTOR = "cli"


def _actor() -> Actor:
    return Actor.system(CLI_ACTOR)


@app.command("regions", help=bi("列出行政区划"))
def regions() -> None:
    with cli_session() as session:
        rows = queries.list_regions(session)
        counts = queries.region_agency_counts(session)
        if not rows:
            typer.echo(say("还没有行政区划"))
        for r in rows:
            indent = "" if r.is_city else "  "
            typer.echo(
                f"{r.code}  {indent}{say(r.name)}  [{label(r.level)}]  "
                + say("机构 {n} 个", n=counts.get(r.id, 0))
            )


@app.command("region-add", help=bi("新增行政区划"))
def region_add(
    code: str = typer.Option(..., "--code", help=bi("6 位行政区划代码（GB/T 2260）")),
    name: str = typer.Option(..., "--name", help=bi("名称")),
    level: RegionLevel = typer.Option(RegionLevel.DISTRICT, "--level", help=bi("层级")),
    parent: str = typer.Option("", "--parent", help=bi("上级区划代码（区县必填）")),
) -> None:
    with cli_session() as session:
        parent_id = queries.region_by_code(session, parent).id if parent else None
        data = parse(
            RegionCreate, {"code": code, "name": name, "level": level, "parent_id": parent_id}
        )
        region = service.create_region(session, _actor(), data)
        typer.echo(say("已新增行政区划：{code} {name}", code=region.code, name=region.name))


@app.command("region-seed", help=bi("建立临沂市及其 12 个区县（已有的跳过）"))
def region_seed() -> None:
    with cli_session() as session:
        created = service.seed_regions(session, _actor())
        typer.echo(say("行政区划共 {n} 个", n=len(created)))


@app.command("add", help=bi("登记公共管理和服务机构"))
def add(
    name: str = typer.Option(..., "--name", help=bi("机构名称")),
    credit_code: str = typer.Option(..., "--credit-code", help=bi("统一社会信用代码")),
    region: str = typer.Option(..., "--region", help=bi("所属区划代码")),
    kind: AgencyKind = typer.Option(..., "--kind", help=bi("机构类别")),
    short_name: str = typer.Option("", "--short-name", help=bi("简称")),
    domain: str = typer.Option("", "--domain", help=bi("业务领域")),
) -> None:
    with cli_session() as session:
        region_row = queries.region_by_code(session, region)
        data = parse(
            AgencyCreate,
            {
                "name": name,
                "credit_code": credit_code,
                "region_id": region_row.id,
                "kind": kind,
                "short_name": short_name,
                "domain": domain,
            },
        )
        agency = service.create_agency(session, _actor(), data)
        typer.echo(
            say(
                "已登记机构：{name}（ID {id}，{code}）",
                name=agency.name,
                id=agency.id,
                code=agency.credit_code,
            )
        )


@app.command("list", help=bi("列出机构"))
def list_(
    q: str = typer.Option("", "--q", help=bi("按名称、简称或统一社会信用代码查找")),
    region: str = typer.Option("", "--region", help=bi("所属区划代码")),
    inactive: bool = typer.Option(False, "--inactive", help=bi("包括已停用的机构")),
    limit: int = typer.Option(
        200, "--limit", min=1, max=queries.MAX_PER_PAGE, help=bi("最多显示条数")
    ),
) -> None:
    with cli_session() as session:
        region_id = queries.region_by_code(session, region).id if region else None
        result = queries.list_agencies(
            session,
            queries.AgencyFilter(
                q=q, region_id=region_id, active=None if inactive else True, per_page=limit
            ),
        )
        for a in result.items:
            state = "" if a.is_active else "  " + say("已停用")
            typer.echo(
                f"{a.id:>5}  {a.credit_code}  {a.name}  [{label(a.kind)}]  "
                f"{say(a.region.name)}{state}"
            )
        typer.echo(say("共 {n} 个机构", n=result.total))


@app.command("deactivate", help=bi("停用机构"))
def deactivate(agency_id: int = typer.Argument(..., help=bi("机构 ID"))) -> None:
    with cli_session() as session:
        agency = service.set_active(session, _actor(), agency_id, False)
        typer.echo(say("已停用机构：{name}", name=agency.name))


@app.command("activate", help=bi("恢复启用机构"))
def activate(agency_id: int = typer.Argument(..., help=bi("机构 ID"))) -> None:
    with cli_session() as session:
        agency = service.set_active(session, _actor(), agency_id, True)
        typer.echo(say("已恢复启用机构：{name}", name=agency.name))
