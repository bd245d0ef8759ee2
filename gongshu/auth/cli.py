"""``gongshu user``: open accounts, list them, unlock them and set passwords from the shell.

Commands act as the system (``Actor.system("cli")``), so they may grant any role — the
separation of duties and the password policy still apply.
"""

from __future__ import annotations

import typer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu.auth import queries, service
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role, User
from gongshu.auth.schemas import UserCreate
from gongshu.cli_support import bi, cli_session, say
from gongshu.db import utcnow
from gongshu.errors import NotFound, ValidationFailed
from gongshu.i18n import N_
from gongshu.orgs.models import Agency, Region

app = typer.Typer(help=bi("用户账户管理"), no_args_is_help=True)

CLI_ACTOR = Actor.system("cli")


def _user_by_name(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    if user is None:
        raise NotFound(N_("用户 {username} 不存在"), username=username)
    return user


def _agency_id(session: Session, value: str | None) -> int | None:
    if not value:
        return None
    value = value.strip()
    agency = session.scalar(select(Agency).where(Agency.credit_code == value.upper()))
    if agency is None and value.isdigit():
        agency = session.get(Agency, int(value))
    if agency is None:
        raise ValidationFailed.single("agency", N_("机构不存在"))
    return agency.id


def _region_id(session: Session, code: str | None) -> int | None:
    if not code:
        return None
    region = session.scalar(select(Region).where(Region.code == code.strip()))
    if region is None:
        raise ValidationFailed.single("region", N_("行政区划不存在"))
    return region.id


def _ask_password() -> str:
    password: str = typer.prompt(say("密码"), hide_input=True, confirmation_prompt=True)
    return password


@app.command("add", help=bi("新建用户账户"))
def add(
    username: str = typer.Argument(..., help=bi("用户名")),
    name: str = typer.Option(..., "--name", help=bi("姓名")),
    role: list[Role] = typer.Option([], "--role", help=bi("角色，可重复指定")),
    agency: str | None = typer.Option(
        None, "--agency", help=bi("所属机构：统一社会信用代码或编号")
    ),
    region: str | None = typer.Option(
        None, "--region", help=bi("所属区域：行政区划代码（GB/T 2260）")
    ),
    email: str = typer.Option("", "--email", help=bi("电子邮箱")),
    password: str | None = typer.Option(None, "--password", help=bi("密码（省略时交互输入）")),
) -> None:
    with cli_session() as session:
        data = UserCreate(
            username=username,
            display_name=name,
            password=password if password is not None else _ask_password(),
            email=email,
            agency_id=_agency_id(session, agency),
            region_id=_region_id(session, region),
            roles=list(role),
        )
        user = service.create_user(session, CLI_ACTOR, data)
        typer.secho(
            say("已创建用户 {username}（编号 {id}）", username=user.username, id=user.id),
            fg="green",
        )


@app.command("list", help=bi("列出用户账户"))
def list_(
    q: str = typer.Option("", "--q", help=bi("按用户名、姓名或电子邮箱筛选")),
    role: Role | None = typer.Option(None, "--role", help=bi("按角色筛选")),
    page: int = typer.Option(1, "--page", min=1, help=bi("页码")),
) -> None:
    with cli_session() as session:
        result = queries.list_users(session, CLI_ACTOR, q=q, role=role, page=page, per_page=50)
        for user in result.items:
            roles = ",".join(sorted(r.value for r in user.roles)) or "-"
            status = say("正常") if user.is_active else say("已停用")
            if user.locked_until is not None and user.locked_until > utcnow():
                status = say("已锁定")
            agency = user.agency.name if user.agency else "-"
            typer.echo(
                f"{user.id}\t{user.username}\t{user.display_name}\t{roles}\t{agency}\t{status}"
            )
        typer.echo(
            say(
                "共 {n} 个账户，第 {page} / {pages} 页",
                n=result.total,
                page=result.page,
                pages=result.pages,
            )
        )


@app.command("unlock", help=bi("解除账户的登录锁定"))
def unlock(username: str = typer.Argument(..., help=bi("用户名"))) -> None:
    with cli_session() as session:
        user = service.unlock_user(session, CLI_ACTOR, _user_by_name(session, username).id)
        typer.secho(say("已解除 {username} 的登录锁定", username=user.username), fg="green")


@app.command("set-password", help=bi("为账户设置新密码（同时解除锁定并结束其登录会话）"))
def set_password(
    username: str = typer.Argument(..., help=bi("用户名")),
    password: str | None = typer.Option(None, "--password", help=bi("新密码（省略时交互输入）")),
) -> None:
    with cli_session() as session:
        user = _user_by_name(session, username)
        new = password if password is not None else _ask_password()
        service.reset_password(session, CLI_ACTOR, user.id, new)
        typer.secho(say("已为 {username} 设置新密码", username=user.username), fg="green")
