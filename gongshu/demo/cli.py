"""``gongshu demo``: load the demo city (临沂市) and list its accounts."""

from __future__ import annotations

import unicodedata

import typer

from gongshu.cli_support import bi, cli_session, say
from gongshu.demo.data import DEMO_ACCOUNTS, DEMO_PASSWORD
from gongshu.labels import LABELS
from gongshu.settings import get_settings

app = typer.Typer(help=bi("演示城市：载入演示数据、查看演示账号"), no_args_is_help=True)

NO_AGENCY = "—"


def _width(text: str) -> int:
    """Columns a string takes in a terminal (CJK and full-width characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def accounts_table() -> str:
    """The demo accounts as an aligned text table, then the password and the address."""
    rows = [[say("用户名"), say("角色"), say("所属机构")]]
    for account in DEMO_ACCOUNTS:
        rows.append(
            [account.username, say(LABELS[account.role.value]), account.agency or NO_AGENCY]
        )
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(say("所有演示账号的密码：{password}", password=DEMO_PASSWORD))
    lines.append(say("访问地址：{url}", url=get_settings().base_url))
    return "\n".join(lines)


@app.command("load", help=bi("载入演示城市：区划、机构、账号和目录条目（已载入时不做改动）"))
def load() -> None:
    from gongshu.demo.loader import load_demo

    with cli_session() as session:
        summary = load_demo(session)
    if summary.already_loaded:
        typer.echo(say("演示城市已载入，本次未做任何改动"))
    else:
        typer.echo(
            say(
                "已载入演示城市：{regions} 个行政区划、{agencies} 个机构、"
                "{users} 个账号、{datasets} 个目录条目",
                regions=summary.regions,
                agencies=summary.agencies,
                users=summary.users,
                datasets=summary.datasets,
            )
        )
    typer.echo("")
    typer.echo(accounts_table())


@app.command("accounts", help=bi("列出演示账号、角色和所属机构"))
def accounts() -> None:
    typer.echo(accounts_table())
