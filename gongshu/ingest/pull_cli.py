"""``gongshu pull``: scheduled pulls from a shell.

Commands act as the officer named with ``--as`` (the same permissions and audit entries as
the pages) or, without it, as the platform's CLI account. ``run`` pulls now, in this
process, whatever the schedule says; the scheduled runs are the worker's.
"""

from __future__ import annotations

import json

import typer
from sqlalchemy import select

from gongshu.auth.actor import Actor
from gongshu.catalog.cli import _by_code, _officer
from gongshu.catalog.models import Dataset
from gongshu.cli_support import bi, cli_session, say
from gongshu.i18n import N_
from gongshu.ingest import pull
from gongshu.ingest.models import IngestMode, InvalidPolicy
from gongshu.ingest.pull_models import PullSource, PullStatus
from gongshu.labels import label

app = typer.Typer(help=bi(N_("定时拉取：从部门前置库按计划拉取数据")), no_args_is_help=True)

CLI_ACTOR = Actor.system("cli")


def _actor(session: object, username: str | None) -> Actor:
    return _officer(session, username) if username else CLI_ACTOR  # type: ignore[arg-type]


@app.command("add", help=bi(N_("为目录条目新增拉取源")))
def add(
    dataset: str = typer.Argument(..., help=bi("信息资源代码")),
    name: str = typer.Option(..., help=bi(N_("拉取源名称（小写字母、数字、下划线）"))),
    url: str = typer.Option(..., help=bi(N_("数据库连接地址（不含密码）"))),
    query: str = typer.Option(..., help=bi(N_("SELECT 查询语句"))),
    schedule: str = typer.Option(..., help=bi(N_("调度：every 30m、every 2h 或 daily 02:30"))),
    mode: IngestMode = typer.Option(IngestMode.REPLACE, help=bi("汇聚方式")),
    snapshot: bool = typer.Option(False, help=bi(N_("按主键更新时查询结果是完整快照"))),
    on_invalid: InvalidPolicy | None = typer.Option(None, help=bi("有错误行时的处理")),
    mapping: str | None = typer.Option(None, help=bi(N_("列映射 JSON：信息项名称 → 列名"))),
    disabled: bool = typer.Option(False, "--disabled", help=bi(N_("先不启用"))),
    username: str | None = typer.Option(None, "--as", help=bi(N_("以该数据专管员的身份操作"))),
) -> None:
    chosen = json.loads(mapping) if mapping else None
    with cli_session() as session:
        actor = _actor(session, username)
        entry = _by_code(session, CLI_ACTOR, dataset)
        source = pull.create_source(
            session,
            actor,
            entry,
            name=name,
            url=url,
            query=query,
            schedule=schedule,
            mode=mode,
            snapshot=snapshot,
            on_invalid=on_invalid,
            mapping=chosen,
            enabled=not disabled,
        )
        typer.echo(say(N_("已新增拉取源 {name}（编号 {id}）"), name=source.name, id=source.id))
        typer.echo(say(N_("密码请放在环境变量 {env} 中"), env=pull.password_env(source.name)))


@app.command("list", help=bi(N_("列出拉取源")))
def list_sources(
    dataset: str | None = typer.Argument(None, help=bi("信息资源代码")),
) -> None:
    with cli_session() as session:
        stmt = select(PullSource, Dataset.code).join(Dataset, Dataset.id == PullSource.dataset_id)
        if dataset:
            stmt = stmt.where(PullSource.dataset_id == _by_code(session, CLI_ACTOR, dataset).id)
        for source, code in session.execute(stmt.order_by(PullSource.name)):
            state = label(source.last_status) if source.last_status else "-"
            due = f"{source.next_run_at:%Y-%m-%d %H:%M}Z" if source.next_run_at else "-"
            enabled = "" if source.enabled else say(N_("已停用"))
            typer.echo(
                f"{source.name}\t{code}\t{source.schedule}\t{label(source.mode)}\t"
                f"{state}\t{due}\t{enabled}".rstrip()
            )


@app.command("run", help=bi(N_("立即运行拉取源（在本进程中）")))
def run(
    name: str = typer.Argument(..., help=bi(N_("拉取源名称"))),
    username: str | None = typer.Option(None, "--as", help=bi(N_("以该数据专管员的身份操作"))),
) -> None:
    with cli_session() as session:
        actor = _actor(session, username)
        source = pull.source_by_name(session, name)
        result = pull.run_pull(session, source.id, trigger="cli", actor=actor)
        typer.echo(
            say(N_("拉取 {rows} 行：{status}"), rows=result.rows, status=label(result.status))
        )
        if result.error:
            typer.secho(pull.error_text(result.error, result.error_params), err=True, fg="red")
        if result.status is not PullStatus.PUBLISHED:
            raise typer.Exit(1)


@app.command("remove", help=bi(N_("删除拉取源")))
def remove(
    name: str = typer.Argument(..., help=bi(N_("拉取源名称"))),
    username: str | None = typer.Option(None, "--as", help=bi(N_("以该数据专管员的身份操作"))),
) -> None:
    with cli_session() as session:
        actor = _actor(session, username)
        source = pull.source_by_name(session, name)
        pull.delete_source(session, actor, source)
        typer.echo(say(N_("已删除拉取源 {name}"), name=name))
