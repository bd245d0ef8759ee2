"""``gongshu jobs``: run the background worker."""

from __future__ import annotations

import typer

from gongshu.cli_support import bi

app = typer.Typer(help=bi("后台任务"), no_args_is_help=True)


@app.command("worker", help=bi("运行后台任务处理进程"))
def worker(
    once: bool = typer.Option(False, "--once", help=bi("处理完当前任务后退出")),
) -> None:
    from gongshu.jobs.worker import run_worker

    run_worker(once=once)
