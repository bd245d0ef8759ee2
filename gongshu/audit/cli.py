"""``gongshu audit``: verify the chain (and checkpoints kept outside), sign a checkpoint,
export the checkpoints."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from gongshu.audit import checkpoint, service
from gongshu.audit.jobs import ensure_timer
from gongshu.cli_support import bi, cli_session, say
from gongshu.db import unit_of_work
from gongshu.settings import get_settings

app = typer.Typer(help=bi("审计链"), no_args_is_help=True)
checkpoints_app = typer.Typer(help=bi("审计链检查点"), no_args_is_help=True)
app.add_typer(checkpoints_app, name="checkpoints")


@app.command("verify", help=bi("重新计算审计链并核对检查点，指出第一条被破坏的记录"))
def verify(
    checkpoints: Path | None = typer.Option(
        None,
        "--checkpoints",
        exists=True,
        dir_okay=False,
        help=bi("外部保存的检查点文件（JSON Lines），用以核对数据库中的审计链"),
    ),
) -> None:
    settings = get_settings()
    with cli_session() as session:
        external: tuple[checkpoint.ExportedCheckpoint, ...] = ()
        if checkpoints is not None:
            with checkpoints.open(encoding="utf-8") as lines:
                external = tuple(checkpoint.parse_export(lines))
        result = service.verify(session, external=external, settings=settings)
    if result.ok:
        typer.secho(say("审计链完整：共校验 {n} 条记录", n=result.checked), fg="green")
        typer.echo(
            say(
                "已核对 {n} 个检查点（Merkle 根、链上哈希与签名），用时 {seconds} 秒。",
                n=result.checkpoints + result.external,
                seconds=f"{result.seconds:.2f}",
            )
        )
        return
    typer.secho(
        say(
            "审计链已被破坏：第 {seq} 条记录（ID {id}）：{reason}",
            seq=result.broken_seq,
            id=result.broken_id if result.broken_id is not None else "—",
            reason=result.localized_reason(settings.default_language),
        ),
        err=True,
        fg="red",
    )
    raise typer.Exit(1)


@app.command("checkpoint", help=bi("立即签发一个检查点（并确保定时检查点任务已排队）"))
def make_checkpoint(
    force: bool = typer.Option(False, "--force", help=bi("即使上次检查点后没有新记录也签发")),
) -> None:
    settings = get_settings()
    with cli_session() as session:
        row = checkpoint.write_checkpoint(session, settings, force=force)
        with unit_of_work(session):
            ensure_timer(session, settings)
    if row is None:
        typer.echo(say("没有需要签发的新记录"))
        return
    typer.secho(
        say("已签发检查点 #{id}：前 {size} 条记录，Merkle 根 {root}", id=row.id,
            size=row.tree_size, root=row.root_hash),
        fg="green",
    )  # fmt: skip


@checkpoints_app.command("export", help=bi("导出全部检查点（JSON Lines），交由外部保存"))
def export(
    out: Path | None = typer.Option(
        None, "--out", dir_okay=False, help=bi("输出文件（默认标准输出）")
    ),
) -> None:
    with cli_session() as session:
        if out is None:
            for line in checkpoint.export_lines(session):
                sys.stdout.write(line)
            return
        written = 0
        with out.open("w", encoding="utf-8") as fh:
            for line in checkpoint.export_lines(session):
                fh.write(line)
                written += 1
    typer.echo(say("已导出 {n} 个检查点到 {path}", n=written, path=str(out)), err=True)
