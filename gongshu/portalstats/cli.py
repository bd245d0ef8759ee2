"""``gongshu portal``: the open list as XLSX, the statistics' totals, and the periodic
tick (flush, subscription updates) run now.

Importing this module (the ``gongshu`` command does) registers the tick's job handler.
"""

from __future__ import annotations

from pathlib import Path

import typer

from gongshu.catalog.models import OpenType
from gongshu.cli_support import bi, cli_session, say
from gongshu.db import unit_of_work
from gongshu.portalstats import jobs, openlist, queries
from gongshu.portalstats.views import find_agency_ref

app = typer.Typer(help=bi("公共数据开放网：开放清单、开放统计与订阅提醒"), no_args_is_help=True)


@app.command("open-list", help=bi("导出公共数据开放清单（XLSX）"))
def open_list(
    out: Path = typer.Option(..., "--out", help=bi("输出文件（.xlsx）")),
    agency: str | None = typer.Option(
        None, "--agency", help=bi("只导出该机构（统一社会信用代码或编号）")
    ),
    domain: str | None = typer.Option(None, "--domain", help=bi("只导出该领域")),
    open_type: OpenType | None = typer.Option(None, "--open-type", help=bi("只导出该开放属性")),
) -> None:
    with cli_session() as session:
        agency_id = find_agency_ref(session, agency).id if agency else None
        lines = openlist.open_list(
            session,
            openlist.OpenListFilter(agency_id=agency_id, domain=domain, open_type=open_type),
        )
        out.write_bytes(openlist.to_workbook(lines))
    typer.echo(say("已导出 {n} 条开放数据到 {path}", n=len(lines), path=str(out)))


@app.command("stats", help=bi("显示开放统计总数"))
def stats(
    all_entries: bool = typer.Option(False, "--all", help=bi("包括未开放的目录条目")),
) -> None:
    with cli_session() as session:
        totals = queries.totals(session, public_only=not all_entries)
    typer.echo(
        say(
            "目录 {entries} 条，机构 {agencies} 个，记录 {records} 条；"
            "浏览 {views} 次，下载 {downloads} 次，接口调用 {api_calls} 次",
            entries=totals.entries,
            agencies=totals.agencies,
            records=totals.records,
            views=totals.views,
            downloads=totals.downloads,
            api_calls=totals.api_calls,
        )
    )


@app.command("tick", help=bi("立即检查订阅对象的更新并发送提醒，并确保定期任务已排队"))
def tick() -> None:
    with cli_session() as session:
        counts = jobs.tick(session)
        with unit_of_work(session):
            jobs.ensure_tick_job(session)
    typer.echo(
        say(
            "检查了 {versions} 个新版本，发送提醒 {notices} 条",
            versions=counts["versions"],
            notices=counts["notices"],
        )
    )
