"""``gongshu verify``: list verification services and answer a check from the command line.

Commands act as the platform unless ``--as USERNAME`` names a user, so the same rules, rate
and audit entries apply as through the API.
"""

from __future__ import annotations

import json

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.auth import service as auth_service
from gongshu.auth.actor import Actor
from gongshu.auth.models import User
from gongshu.cli_support import bi, cli_session, say
from gongshu.errors import NotFound, ValidationFailed
from gongshu.i18n import N_
from gongshu.seal.core import platform_seal
from gongshu.seal.statements import seal_answer
from gongshu.settings import get_settings
from gongshu.verification import service
from gongshu.verification.schemas import CheckIn

app = typer.Typer(help=bi("核验：是否一致、是否有效（不返回记录）"), no_args_is_help=True)

CLI_ACTOR = Actor.system("cli")
USER_NOT_FOUND = N_("用户不存在或已停用")
AS_HELP = N_("以该用户的身份操作（默认：平台）")
MSG_CLAIM = N_("比对项应写成 字段=值：{text}")
MSG_MISMATCH = N_("不一致")


def _actor(session: Session, username: str | None) -> Actor:
    if not username:
        return CLI_ACTOR
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    if user is None or not user.is_active:
        raise NotFound(USER_NOT_FOUND)
    return auth_service.actor_for_user(user)


@app.command("services", help=bi("列出核验服务"))
def services(as_user: str | None = typer.Option(None, "--as", help=bi(AS_HELP))) -> None:
    with cli_session() as session:
        actor = _actor(session, as_user)
        for s in service.list_services(session, actor):
            flags = ",".join(
                f
                for f, on in (
                    ("open", s.open_to_all),
                    ("reveal", s.reveal_existence),
                    ("inactive", not s.active),
                )
                if on
            )
            typer.echo(
                f"{s.code}\t{s.name}\t{s.dataset.code}\t{s.key_field}"
                f"\t{','.join(str(f) for f in s.fields)}\t{flags or '-'}"
            )


@app.command("check", help=bi("核验一条：标识与比对项（字段=值）是否一致"))
def check(
    code: str = typer.Argument(..., help=bi("核验服务代码")),
    key: str = typer.Argument(..., help=bi("记录的标识（如身份证号）")),
    claims: list[str] = typer.Argument(None, help=bi("比对项：字段=值")),
    purpose: str = typer.Option(..., "--purpose", help=bi("核验用途（记入审计）")),
    sealed: bool = typer.Option(False, "--sealed", help=bi("输出带平台签章的答复")),
    as_user: str | None = typer.Option(None, "--as", help=bi(AS_HELP)),
) -> None:
    with cli_session() as session:
        values: dict[str, str] = {}
        for text in claims or []:
            name, sep, value = text.partition("=")
            if not sep or not name.strip():
                raise ValidationFailed(MSG_CLAIM, text=text)
            values[name.strip()] = value
        actor = _actor(session, as_user)
        svc, result = service.check(
            session, actor, code, [CheckIn(key=key, claims=values)], purpose=purpose
        )
        answer = {
            "service": svc.code,
            "dataset_id": svc.dataset_id,
            "version": result.version.number,
            "result": result.outcomes[0].as_dict(),
        }
        out = (
            seal_answer(
                platform_seal(get_settings()),
                answer,
                context=service.answer_context(svc, svc.dataset, result),
            )
            if sealed
            else answer
        )
    typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
    if not result.outcomes[0].match:
        typer.echo(say(MSG_MISMATCH), err=True)
        raise typer.Exit(1)
