"""``gongshu catalog``: export, list and show entries; create and edit them as an officer.

Reading commands run as the platform itself (``Actor.system("cli")``), which sees every
entry. Writing commands act as a named officer (``--as USERNAME``) so that the same rules,
permissions and audit entries apply as on the pages and the API.
"""

from __future__ import annotations

import enum
import json
import sys
from pathlib import Path
from typing import Any

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.auth import service as auth_service
from gongshu.auth.actor import Actor
from gongshu.auth.models import User
from gongshu.catalog import queries, service
from gongshu.catalog.models import Dataset, DatasetState
from gongshu.catalog.queries import ExportFormat
from gongshu.catalog.schemas import DatasetCreate, DatasetFilter, DatasetUpdate
from gongshu.cli_support import bi, cli_session, say
from gongshu.errors import NotFound, ValidationFailed
from gongshu.i18n import N_
from gongshu.labels import label
from gongshu.search import SearchQuery, search_datasets
from gongshu.validation import parse

app = typer.Typer(help=bi("数据目录"), no_args_is_help=True)

CLI_ACTOR = Actor.system("cli")


class Format(enum.StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


USER_NOT_FOUND = N_("用户不存在")
BAD_JSON = N_("文件不是有效的 JSON：{error}")
BAD_FILE = N_("无法读取文件：{error}")


def _load_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValidationFailed.single(
            "file", say(BAD_FILE, error=exc.strerror or str(exc))
        ) from exc
    except ValueError as exc:
        raise ValidationFailed.single("file", say(BAD_JSON, error=str(exc))) from exc
    if not isinstance(data, dict):
        raise ValidationFailed.single("file", say(BAD_JSON, error="expected an object"))
    return data


def _officer(session: Session, username: str) -> Actor:
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    if user is None or not user.is_active:
        raise NotFound(USER_NOT_FOUND)
    return auth_service.actor_for_user(user)


def _by_code(session: Session, actor: Actor, code: str) -> Dataset:
    dataset = queries.find_by_code(session, actor, code)
    if dataset is None:
        raise NotFound(service.NOT_FOUND)
    return dataset


@app.command("export", help=bi("导出数据目录（CSV 或 Excel）"))
def export(
    fmt: Format = typer.Option(Format.CSV, "--format", "-f", help=bi("导出格式：csv 或 xlsx")),
    output: Path | None = typer.Option(
        None, "--output", "-o", help=bi("输出文件（默认输出到标准输出）")
    ),
    state: str | None = typer.Option(None, "--state", help=bi("只导出该状态的条目")),
) -> None:
    export_format: ExportFormat = "xlsx" if fmt is Format.XLSX else "csv"
    with cli_session() as session:
        filters = parse(DatasetFilter, {"state": state} if state else {})
        data = queries.export_catalog(session, CLI_ACTOR, export_format, filters)
    if output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)  # bytes as they are: XLSX is binary
        sys.stdout.buffer.flush()
        return
    output.write_bytes(data)
    typer.echo(say("已导出到 {path}", path=str(output)), err=True)


@app.command("list", help=bi("列出或检索目录条目"))
def list_entries(
    q: str = typer.Option(
        "", "--q", help=bi("检索词（名称、摘要、信息项或提供方；支持拼音与首字母）")
    ),
    state: str | None = typer.Option(None, "--state", help=bi("只列出该状态的条目")),
    sort: str | None = typer.Option(
        None, "--sort", help=bi("排序：relevance、updated、title 或 code")
    ),
    page: int = typer.Option(1, "--page", min=1, help=bi("页码")),
) -> None:
    with cli_session() as session:
        query = parse(
            SearchQuery,
            {"q": q, "state": state, "sort": sort, "page": page, "per_page": queries.MAX_PER_PAGE},
        )
        result = search_datasets(
            session, CLI_ACTOR, query.model_copy(update={"with_facets": False})
        )
        for d in result.items:
            typer.echo(f"{d.code}\t{label(d.state)}\t{d.agency.name}\t{d.title}")
        typer.echo(
            say(
                "共 {n} 条，第 {page} / {pages} 页",
                n=result.total,
                page=result.page,
                pages=result.pages,
            ),
            err=True,
        )


@app.command("show", help=bi("显示一个目录条目及其信息项"))
def show(code: str = typer.Argument(..., help=bi("信息资源代码"))) -> None:
    with cli_session() as session:
        d = _by_code(session, CLI_ACTOR, code)
        rows = [
            (say("信息资源代码"), d.code),
            (say("信息资源名称"), d.title),
            (say("信息资源提供方"), d.agency.name),
            (say("信息资源分类"), f"{label(d.category_class)} {d.item_code}"),
            (say("信息资源格式"), label(d.format)),
            (say("共享属性"), label(d.share_type)),
            (say("开放属性"), label(d.open_type)),
            (say("数据分级"), label(d.level)),
            (say("更新周期"), label(d.update_cycle)),
            (say("法律法规依据"), d.legal_basis),
            (say("状态"), label(d.state)),
            (say("版本"), str(d.lock_version)),
        ]
        for name, value in rows:
            typer.echo(f"{name}: {value}")
        typer.echo(say("信息项"))
        for f in d.fields:
            flags = " ".join(
                flag for flag, on in ((say("关键项"), f.is_key), (say("必填"), f.required)) if on
            )
            typer.echo(f"  {f.name}\t{f.label}\t{label(f.data_type)}\t{flags}")


@app.command("create", help=bi("以数据专管员身份新建目录条目（JSON 文件）"))
def create(
    username: str = typer.Option(..., "--as", help=bi("数据专管员的用户名")),
    file: Path = typer.Option(..., "--file", help=bi("条目内容的 JSON 文件")),
) -> None:
    with cli_session() as session:
        actor = _officer(session, username)
        data = parse(DatasetCreate, _load_json(file))
        dataset = service.create_dataset(session, actor, data)
        typer.echo(
            say(
                "已创建目录条目 {code}（{state}）",
                code=dataset.code,
                state=label(DatasetState.DRAFT),
            )
        )


@app.command("edit", help=bi("以数据专管员身份修改目录条目（JSON 文件，只含要改的项）"))
def edit(
    code: str = typer.Argument(..., help=bi("信息资源代码")),
    username: str = typer.Option(..., "--as", help=bi("数据专管员的用户名")),
    file: Path = typer.Option(..., "--file", help=bi("修改内容的 JSON 文件")),
) -> None:
    with cli_session() as session:
        actor = _officer(session, username)
        dataset = _by_code(session, actor, code)
        data = parse(DatasetUpdate, _load_json(file))
        dataset = service.update_dataset(session, actor, dataset.id, data)
        typer.echo(
            say(
                "已修改目录条目 {code}（版本 {version}）",
                code=dataset.code,
                version=dataset.lock_version,
            )
        )


from gongshu.catalog import import_cli as _import_cli  # noqa: E402, F401
from gongshu.catalog import workflow_cli as _workflow_cli  # noqa: E402, F401
