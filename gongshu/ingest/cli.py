"""``gongshu ingest`` and ``gongshu versions``: aggregation from a shell.

An ingestion acts as the officer named with ``--as`` (the same permissions, rules and audit
entries as an upload on the page) and runs in this process with a progress bar; the
platform's own account (``--as`` omitted) may ingest into any entry.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from gongshu.auth.actor import Actor
from gongshu.catalog.cli import _by_code, _officer
from gongshu.cli_support import bi, cli_session, say
from gongshu.ingest import history, service
from gongshu.ingest.api import issue_reads
from gongshu.ingest.models import IngestMode, IngestStatus, InvalidPolicy
from gongshu.ingest.readers import ReadOptions
from gongshu.labels import label
from gongshu.store.versions import current_version

versions_app = typer.Typer(help=bi("数据版本：历史、差异、回退"))

SHOWN_ISSUES = 20
CLI_INGEST = Actor.system("cli")


def _actor(session: object, username: str | None) -> Actor:
    return _officer(session, username) if username else CLI_INGEST  # type: ignore[arg-type]


#: ``gongshu ingest``: one command (the root group names it).
ingest_app = typer.Typer()


@ingest_app.command("ingest", help=bi("把数据文件汇聚为目录条目的新版本"))
def ingest_command(
    dataset: str = typer.Argument(..., help=bi("信息资源代码")),
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help=bi("数据文件")),
    mode: IngestMode = typer.Option(IngestMode.REPLACE, help=bi("汇聚方式")),
    snapshot: bool = typer.Option(False, help=bi("按主键更新时文件是完整快照")),
    on_invalid: InvalidPolicy | None = typer.Option(None, help=bi("有错误行时的处理")),
    encoding: str | None = typer.Option(None, help=bi("文件编码（默认自动识别）")),
    delimiter: str | None = typer.Option(None, help=bi("分隔符（默认自动识别）")),
    sheet: str | None = typer.Option(None, help=bi("Excel 工作表名称")),
    header_row: int = typer.Option(1, min=1, help=bi("表头所在行")),
    mapping: str | None = typer.Option(None, help=bi("列映射 JSON：信息项名称 → 文件列名")),
    username: str | None = typer.Option(None, "--as", help=bi("以该数据专管员的身份汇聚")),
) -> None:
    chosen = json.loads(mapping) if mapping else None
    with cli_session() as session:
        actor = _actor(session, username)
        entry = _by_code(session, actor if not actor.is_system else CLI_INGEST, dataset)
        total = path.stat().st_size
        with typer.progressbar(length=total, label=say("读取并校验"), file=None) as bar:
            done = 0

            def progress(read: int, _total: int) -> None:
                nonlocal done
                if read > done:
                    bar.update(read - done)
                    done = read

            result = service.ingest_file(
                session,
                actor,
                entry,
                path,
                options=ReadOptions(
                    encoding=encoding, delimiter=delimiter, sheet=sheet, header_row=header_row
                ),
                mode=mode,
                snapshot=snapshot,
                on_invalid=on_invalid,
                mapping=chosen,
                progress=progress,
            )
        ingestion = result.ingestion
        for issue in issue_reads(ingestion)[:SHOWN_ISSUES]:
            where = say("第 {row} 行", row=issue.row) if issue.row else ""
            typer.echo(f"  {where} {issue.column} {issue.message}", err=True)
        typer.echo(
            say(
                "读取 {read} 行，有效 {valid} 行，拒绝 {rejected} 行",
                read=result.rows_read,
                valid=result.rows_valid,
                rejected=result.rows_rejected,
            )
        )
        if result.version is not None:
            typer.echo(say("已发布为第 {n} 版", n=result.version.number))
            return
        typer.secho(label(ingestion.status), err=True, fg="red")
        raise typer.Exit(1 if ingestion.status is not IngestStatus.PUBLISHED else 0)


@versions_app.command("list", help=bi("列出目录条目的数据版本"))
def list_versions(dataset: str = typer.Argument(..., help=bi("信息资源代码"))) -> None:
    with cli_session() as session:
        entry = _by_code(session, CLI_INGEST, dataset)
        current = current_version(session, entry.id)
        for v in history.history(session, entry.id):
            mark = "*" if current is not None and v.id == current.id else " "
            source = v.source.get("file_name", "")
            typer.echo(
                f"{mark} {v.number}\t{label(v.status)}\t{v.row_count}\t"
                f"{label(v.mode)}\t{v.published_at:%Y-%m-%d %H:%M}\t{source}"
            )


@versions_app.command("rollback", help=bi("以某个旧版本的数据发布新版本"))
def rollback(
    dataset: str = typer.Argument(..., help=bi("信息资源代码")),
    number: int = typer.Argument(..., help=bi("版本号")),
    username: str | None = typer.Option(None, "--as", help=bi("以该数据专管员的身份回退")),
) -> None:
    with cli_session() as session:
        actor = _actor(session, username)
        entry = _by_code(session, CLI_INGEST, dataset)
        version = history.rollback(session, actor, entry, number)
        typer.echo(say("已发布为第 {n} 版", n=version.number))


@versions_app.command("diff", help=bi("按主键比较两个版本"))
def diff(
    dataset: str = typer.Argument(..., help=bi("信息资源代码")),
    old: int = typer.Argument(..., help=bi("旧版本号")),
    new: int = typer.Argument(..., help=bi("新版本号")),
) -> None:
    with cli_session() as session:
        entry = _by_code(session, CLI_INGEST, dataset)
        result = history.diff_read(session, CLI_INGEST, entry, old, new)
        typer.echo(
            say(
                "新增 {added} 行，删除 {removed} 行，修改 {changed} 行",
                added=result.added,
                removed=result.removed,
                changed=result.changed,
            )
        )
        for change in result.changes:
            typer.echo(
                f"  {' / '.join(map(str, change.key))}\t{change.field}\t{change.old} → {change.new}"
            )
