"""The ``gongshu`` command. Settings come from the environment (``GONGSHU_*``)."""

from __future__ import annotations

import typer

from gongshu.audit.cli import app as audit_app
from gongshu.auth.cli import app as user_app
from gongshu.catalog.cli import app as catalog_app
from gongshu.cli_support import bi, say
from gongshu.demo.cli import app as demo_app
from gongshu.feedback.cli import app as feedback_app
from gongshu.gate.cli import app as masking_app
from gongshu.governance.cli import app as governance_app
from gongshu.ingest.cli import INGEST_HELP, ingest_command, versions_app
from gongshu.ingest.pull_cli import app as pull_app
from gongshu.jobs.cli import app as jobs_app
from gongshu.notices.cli import app as notices_app
from gongshu.opening.cli import app as opening_app
from gongshu.orgs.cli import app as agency_app
from gongshu.portalstats.cli import app as portal_app
from gongshu.quality.cli import app as quality_app
from gongshu.seal.cli import app as seal_app
from gongshu.search.cli import app as search_app
from gongshu.settings import get_settings
from gongshu.share.cli import app as share_app
from gongshu.systems.cli import app as systems_app
from gongshu.verification.cli import app as verify_app
from gongshu.workdays.cli import app as calendar_app

app = typer.Typer(
    help=bi("公数公共数据管理平台命令行工具"), no_args_is_help=True, add_completion=False
)
db_app = typer.Typer(help=bi("数据库结构迁移"), no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(agency_app, name="agency")
app.add_typer(user_app, name="user")
app.add_typer(catalog_app, name="catalog")
app.add_typer(audit_app, name="audit")
app.add_typer(demo_app, name="demo")
app.add_typer(jobs_app, name="jobs")
app.add_typer(search_app, name="search")
app.add_typer(calendar_app, name="calendar")
app.add_typer(notices_app, name="notices")
app.add_typer(systems_app, name="systems")
app.command("ingest", help=bi(INGEST_HELP))(ingest_command)
app.add_typer(versions_app, name="versions")
app.add_typer(pull_app, name="pull")
app.add_typer(quality_app, name="quality")
app.add_typer(governance_app, name="governance")
app.add_typer(share_app, name="share")
app.add_typer(portal_app, name="portal")
app.add_typer(feedback_app, name="feedback")
app.add_typer(opening_app, name="opening")
app.add_typer(masking_app, name="masking")
app.add_typer(seal_app, name="seal")
app.add_typer(verify_app, name="verify")


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
