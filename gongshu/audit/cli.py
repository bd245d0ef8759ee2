"""``gongshu audit``: verify the chain, show an object's history."""

from __future__ import annotations

import typer

from gongshu.audit import service
from gongshu.cli_support import bi, cli_session, say
from gongshu.settings import get_settings

app = typer.Typer(help=bi("审计链"), no_args_is_help=True)


@app.command("verify", help=bi("重新计算审计链，指出第一条被破坏的记录"))
def verify() -> None:
    with cli_session() as session:
        result = service.verify(session)
    if result.ok:
        typer.secho(say("审计链完整：共校验 {n} 条记录", n=result.checked), fg="green")
        return
    typer.secho(
        say(
            "审计链已被破坏：第 {seq} 条记录（ID {id}）：{reason}",
            seq=result.broken_seq,
            id=result.broken_id,
            reason=result.localized_reason(get_settings().default_language),
        ),
        err=True,
        fg="red",
    )
    raise typer.Exit(1)
