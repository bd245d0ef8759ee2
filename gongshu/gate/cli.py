"""``gongshu masking``: the masking rules from the command line (acting as the platform,
recorded as ``cli``)."""

from __future__ import annotations

import typer

from gongshu.auth.actor import Actor
from gongshu.catalog.models import Level, Sensitivity
from gongshu.cli_support import bi, cli_session, say
from gongshu.gate import rules
from gongshu.masking import Technique

app = typer.Typer(help=bi("脱敏规则"), no_args_is_help=True)

CLI_ACTOR = "cli"


def _choice(kind: type[Level] | type[Sensitivity] | type[Technique], value: str) -> str:
    allowed = [m.value for m in kind]
    if value not in allowed:
        raise typer.BadParameter(say("可选值：{values}", values=", ".join(allowed)))
    return value


@app.command("list", help=bi("列出脱敏规则（级别 × 敏感类型 → 方式）"))
def list_(level: str | None = typer.Option(None, "--level", help=bi("只列出该级别"))) -> None:
    with cli_session() as session:
        chosen = Level(_choice(Level, level)) if level else None
        for row in rules.list_rules(session, Actor.system(CLI_ACTOR)):
            if chosen is not None and row.level is not chosen:
                continue
            typer.echo(f"{row.level.value:<10} {row.sensitivity.value:<12} {row.technique.value}")


@app.command("set", help=bi("修改一条脱敏规则"))
def set_(
    level: str = typer.Argument(..., help=bi("数据级别，如 general_4")),
    sensitivity: str = typer.Argument(..., help=bi("敏感类型，如 id_number")),
    technique: str = typer.Argument(..., help=bi("方式：clear、mask、hash 或 drop")),
) -> None:
    with cli_session() as session:
        row = rules.set_rule(
            session,
            Actor.system(CLI_ACTOR),
            Level(_choice(Level, level)),
            Sensitivity(_choice(Sensitivity, sensitivity)),
            Technique(_choice(Technique, technique)),
        )
        typer.echo(
            say(
                "已设置：{level} {sensitivity} → {technique}",
                level=row.level.value,
                sensitivity=row.sensitivity.value,
                technique=row.technique.value,
            )
        )
