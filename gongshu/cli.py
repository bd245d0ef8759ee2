"""The ``gongshu`` command. Settings come from the environment (``GONGSHU_*``)."""

from __future__ import annotations

import importlib
from typing import Any

import typer
import typer.core

from gongshu.cli_support import bi, say
from gongshu.settings import get_settings

#: Sub-commands and the modules that hold them, imported only when one of them runs (or
#: help lists them all): importing every domain took seconds that every command paid.
#: ``ingest`` is a single command; the others are groups.
_LAZY: dict[str, tuple[str, str]] = {
    "agency": ("gongshu.orgs.cli", "app"),
    "user": ("gongshu.auth.cli", "app"),
    "catalog": ("gongshu.catalog.cli", "app"),
    "audit": ("gongshu.audit.cli", "app"),
    "demo": ("gongshu.demo.cli", "app"),
    "jobs": ("gongshu.jobs.cli", "app"),
    "search": ("gongshu.search.cli", "app"),
    "calendar": ("gongshu.workdays.cli", "app"),
    "notices": ("gongshu.notices.cli", "app"),
    "systems": ("gongshu.systems.cli", "app"),
    "ingest": ("gongshu.ingest.cli", "ingest_app"),
    "versions": ("gongshu.ingest.cli", "versions_app"),
    "pull": ("gongshu.ingest.pull_cli", "app"),
    "quality": ("gongshu.quality.cli", "app"),
    "governance": ("gongshu.governance.cli", "app"),
    "share": ("gongshu.share.cli", "app"),
    "portal": ("gongshu.portalstats.cli", "app"),
    "feedback": ("gongshu.feedback.cli", "app"),
    "opening": ("gongshu.opening.cli", "app"),
    "masking": ("gongshu.gate.cli", "app"),
    "seal": ("gongshu.seal.cli", "app"),
    "verify": ("gongshu.verification.cli", "app"),
}


class _LazyGroup(typer.core.TyperGroup):
    """The root group: ``_LAZY``'s sub-commands are built the first time they are asked for."""

    def list_commands(self, ctx: Any) -> list[str]:
        own = super().list_commands(ctx)
        return [*own, *(name for name in _LAZY if name not in own)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in _LAZY and cmd_name not in self.commands:
            module, attribute = _LAZY[cmd_name]
            sub = getattr(importlib.import_module(module), attribute)
            command = typer.main.get_command(sub)
            command.name = cmd_name
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    cls=_LazyGroup,
    help=bi("公数公共数据管理平台命令行工具"),
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help=bi("数据库结构迁移"), no_args_is_help=True)
app.add_typer(db_app, name="db")


@app.command(help=bi("启动网页与接口服务"))
def serve(
    host: str = typer.Option("127.0.0.1", help=bi("监听地址")),
    port: int = typer.Option(8000, help=bi("监听端口")),
    workers: int = typer.Option(1, help=bi("工作进程数")),
    worker: bool = typer.Option(True, help=bi("在网站进程中运行后台任务")),
) -> None:
    import os

    from gongshu.web.server import serve as run_server

    if worker:
        # The app factory reads settings from the environment in each server process.
        os.environ["GONGSHU_EMBEDDED_WORKER"] = "true"
        get_settings.cache_clear()

    settings = get_settings()
    typer.echo(say("服务地址：http://{host}:{port}/", host=host, port=port))
    typer.echo(say("数据库：{url}", url=settings.sqlalchemy_url))
    run_server(host, port, workers)


@db_app.command("upgrade", help=bi("将数据库升级到最新结构"))
def db_upgrade(revision: str = typer.Argument("heads", help=bi("目标版本"))) -> None:
    from gongshu.migrate import upgrade

    upgrade(get_settings(), revision)
    typer.echo(say("数据库已升级到 {revision}", revision=revision))


@db_app.command("downgrade", help=bi("将数据库降级到指定结构版本"))
def db_downgrade(revision: str = typer.Argument(..., help=bi("目标版本"))) -> None:
    from gongshu.migrate import downgrade

    downgrade(get_settings(), revision)
    typer.echo(say("数据库已降级到 {revision}", revision=revision))


@db_app.command("check", help=bi("检查数据模型与迁移脚本是否一致"))
def db_check() -> None:
    from gongshu.migrate import check

    check(get_settings())
    typer.echo(say("数据模型与迁移脚本一致"))


def main() -> None:
    app()
