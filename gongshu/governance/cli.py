"""``gongshu governance``: 一数一源 (items, sources, copies, the check, issues) and
correction tickets.

Commands act as the platform unless ``--as USERNAME`` names a user, so that the same rules
and audit entries apply as on the pages; raising a correction always needs ``--as`` (a
ticket has a reporter).
"""

from __future__ import annotations

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.auth import service as auth_service
from gongshu.auth.actor import Actor
from gongshu.auth.models import User
from gongshu.catalog import queries as catalog_queries
from gongshu.catalog.models import Dataset
from gongshu.cli_support import bi, cli_session, say
from gongshu.errors import NotFound
from gongshu.governance import consistency, corrections, queries, sources
from gongshu.governance.models import DataCollection, IssueStatus, KeyKind
from gongshu.governance.schemas import (
    BindingSet,
    CopyCreate,
    CorrectionAnswer,
    CorrectionCreate,
    CorrectionFilter,
    IssueFilter,
    ItemCreate,
)
from gongshu.i18n import N_
from gongshu.validation import parse

app = typer.Typer(help=bi("数据治理：一数一源与纠错"), no_args_is_help=True)
corrections_app = typer.Typer(help=bi("数据纠错工单"), no_args_is_help=True)
app.add_typer(corrections_app, name="corrections")

CLI_ACTOR = Actor.system("cli")
USER_NOT_FOUND = N_("用户不存在或已停用")
DATASET_NOT_FOUND = N_("目录条目不存在")
COLLECTION_NOT_FOUND = N_("基础库不存在")
AS_HELP = N_("以该用户的身份操作（默认：平台）")


def _actor(session: Session, username: str | None) -> Actor:
    if not username:
        return CLI_ACTOR
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    if user is None or not user.is_active:
        raise NotFound(USER_NOT_FOUND)
    return auth_service.actor_for_user(user)


def _dataset(session: Session, code: str) -> Dataset:
    found = (
        catalog_queries.find_visible(session, CLI_ACTOR, int(code))
        if code.isdigit()
        else catalog_queries.find_by_code(session, CLI_ACTOR, code)
    )
    if found is None:
        raise NotFound(DATASET_NOT_FOUND)
    return found


@app.command("collections", help=bi("列出基础库和主题库"))
def list_collections() -> None:
    with cli_session() as session:
        for c in sources.list_collections(session, CLI_ACTOR):
            typer.echo(f"{c.id}\t{c.code}\t{c.kind.value}\t{say(c.name)}\t{len(c.items)}")


@app.command("items", help=bi("列出数据项、权威数据源和副本"))
def list_items() -> None:
    with cli_session() as session:
        items = sources.list_items(session, CLI_ACTOR)
        counts = sources.open_issue_counts(session, [i.id for i in items])
        for item in items:
            b = item.binding
            source = f"{b.dataset.code}:{b.field_name}" if b is not None else "-"
            typer.echo(
                f"{item.id}\t{say(item.collection.name)}\t{item.name}\t{item.key_kind.value}"
                f"\t{source}"
            )
            for c in item.copies:
                n = counts.get((item.id, c.dataset_id), 0)
                typer.echo(f"\t#{c.id}\t{c.dataset.code}:{c.field_name}\t{c.origin.value}\t{n}")


@app.command("add-item", help=bi("新增数据项"))
def add_item(
    collection: str = typer.Option(..., "--collection", help=bi("基础库代码")),
    name: str = typer.Option(..., "--name", help=bi("数据项名称")),
    key: KeyKind = typer.Option(..., "--key", help=bi("关联标识")),
    description: str = typer.Option("", "--description", help=bi("说明")),
) -> None:
    with cli_session() as session:
        found = session.scalars(
            select(DataCollection).where(DataCollection.code == collection)
        ).one_or_none()
        if found is None:
            raise NotFound(COLLECTION_NOT_FOUND)
        data = ItemCreate(collection_id=found.id, name=name, key_kind=key, description=description)
        item = sources.create_item(session, CLI_ACTOR, data)
        typer.echo(say("已新增数据项 {id}：{name}", id=item.id, name=item.name))


@app.command("bind", help=bi("为数据项绑定权威数据源"))
def bind(
    item_id: int = typer.Argument(..., help=bi("数据项编号")),
    code: str = typer.Argument(..., help=bi("信息资源代码")),
    field: str = typer.Argument(..., help=bi("字段名")),
    replace: bool = typer.Option(False, "--replace", help=bi("替换已有的权威数据源")),
) -> None:
    with cli_session() as session:
        dataset = _dataset(session, code)
        data = BindingSet(dataset_id=dataset.id, field_name=field, replace=replace)
        sources.bind_source(session, CLI_ACTOR, item_id, data)
        typer.echo(say("已绑定权威数据源 {code}:{field}", code=dataset.code, field=field))


@app.command("link", help=bi("把字段关联为数据项的副本"))
def link(
    item_id: int = typer.Argument(..., help=bi("数据项编号")),
    code: str = typer.Argument(..., help=bi("信息资源代码")),
    field: str = typer.Argument(..., help=bi("字段名")),
) -> None:
    with cli_session() as session:
        dataset = _dataset(session, code)
        copy = sources.link_copy(
            session, CLI_ACTOR, item_id, CopyCreate(dataset_id=dataset.id, field_name=field)
        )
        typer.echo(say("已关联副本 {id}", id=copy.id))


@app.command("check", help=bi("运行一数一源比对"))
def check(
    dataset: str | None = typer.Option(None, "--dataset", help=bi("只比对该目录条目")),
    item: int | None = typer.Option(None, "--item", help=bi("只比对该数据项")),
) -> None:
    with cli_session() as session:
        dataset_id = _dataset(session, dataset).id if dataset else None
        report = consistency.check_dataset(session, CLI_ACTOR, dataset_id=dataset_id, item_id=item)
        for p in report.pairs:
            typer.echo(
                f"{p.item_id}\t{p.source_dataset_id}->{p.copy_dataset_id}\t{p.compared}"
                f"\t+{p.opened}\t~{p.reopened}\t-{p.resolved}\t{p.open}\t{p.skipped}"
            )
        typer.echo(
            say(
                "新发现 {opened} 处，重新出现 {reopened} 处，已解决 {resolved} 处",
                opened=report.opened,
                reopened=report.reopened,
                resolved=report.resolved,
            )
        )


@app.command("issues", help=bi("列出一数一源不一致问题"))
def issues(
    item: int | None = typer.Option(None, "--item", help=bi("数据项编号")),
    status: IssueStatus = typer.Option(IssueStatus.OPEN, "--status", help=bi("状态")),
    page: int = typer.Option(1, "--page", min=1, help=bi("页码")),
) -> None:
    with cli_session() as session:
        result = queries.list_issues(
            session,
            CLI_ACTOR,
            IssueFilter(item_id=item, status=status),
            page,
            queries.MAX_PER_PAGE,
        )
        for i in result.items:
            typer.echo(
                f"{i.id}\t{i.item.name}\t{i.key_value}\t{i.source_dataset.code}={i.source_value}"
                f"\t{i.copy_dataset.code}={i.copy_value}\t{i.status.value}"
            )
        typer.echo(say("共 {n} 个", n=result.total), err=True)


# --- corrections -------------------------------------------------------------------------


@corrections_app.command("list", help=bi("列出纠错工单"))
def corrections_list(
    username: str | None = typer.Option(None, "--as", help=bi(AS_HELP)),
    status: str = typer.Option("open", "--status", help=bi("状态：open、closed 或 all")),
) -> None:
    with cli_session() as session:
        actor = _actor(session, username)
        filters = parse(CorrectionFilter, {"status": status})
        for entry in corrections.list_corrections(session, actor, filters):
            o = entry.objection
            due = entry.deadline.due_on.isoformat() if entry.deadline else "-"
            left = "" if entry.remaining is None else str(entry.remaining)
            typer.echo(
                f"{o.id}\t{corrections.status_label(o.status)}\t{o.dataset.code}\t{o.key_value}"
                f"\t{o.field_name}\t{due}\t{left}"
            )


@corrections_app.command("create", help=bi("提出数据纠错"))
def corrections_create(
    code: str = typer.Argument(..., help=bi("信息资源代码")),
    key: str = typer.Argument(..., help=bi("主键值")),
    field: str = typer.Argument(..., help=bi("字段名")),
    username: str = typer.Option(..., "--as", help=bi("提出纠错的用户名")),
    proposed: str = typer.Option("", "--proposed", help=bi("正确的值")),
    reason: str = typer.Option(..., "--reason", help=bi("理由")),
    evidence: str = typer.Option("", "--evidence", help=bi("佐证材料")),
) -> None:
    with cli_session() as session:
        actor = _actor(session, username)
        dataset = _dataset(session, code)
        data = parse(
            CorrectionCreate,
            {
                "dataset_id": dataset.id,
                "key_value": key,
                "field_name": field,
                "proposed_value": proposed,
                "reason": reason,
                "evidence": evidence,
            },
        )
        objection = corrections.create_correction(session, actor, data)
        typer.echo(say("已提出纠错工单 {id}", id=objection.id))


@corrections_app.command("answer", help=bi("答复纠错：接受或驳回"))
def corrections_answer(
    objection_id: int = typer.Argument(..., help=bi("工单编号")),
    decision: str = typer.Argument(..., help=bi("accept（接受）或 reject（驳回）")),
    reason: str = typer.Option("", "--reason", help=bi("理由（驳回时必填）")),
    username: str | None = typer.Option(None, "--as", help=bi(AS_HELP)),
) -> None:
    with cli_session() as session:
        actor = _actor(session, username)
        data = parse(CorrectionAnswer, {"decision": decision, "reason": reason})
        objection = corrections.answer_correction(session, actor, objection_id, data)
        typer.echo(
            say(
                "工单 {id}：{state}",
                id=objection.id,
                state=corrections.status_label(objection.status),
            )
        )


@corrections_app.command("close", help=bi("以修正后的版本办结纠错"))
def corrections_close(
    objection_id: int = typer.Argument(..., help=bi("工单编号")),
    version: int = typer.Argument(..., help=bi("版本号")),
    username: str | None = typer.Option(None, "--as", help=bi(AS_HELP)),
) -> None:
    with cli_session() as session:
        actor = _actor(session, username)
        objection = corrections.close_with_version(session, actor, objection_id, version)
        typer.echo(
            say(
                "工单 {id}：{state}",
                id=objection.id,
                state=corrections.status_label(objection.status),
            )
        )
