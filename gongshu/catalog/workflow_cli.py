"""``gongshu catalog submit|recall|approve|return|publish|review-queue`` and change requests.

Every command acts as a named user (``--as USERNAME``), so the same permissions, states,
deadlines, notices and audit entries apply as on the pages and the API. Registered onto
``gongshu.catalog.cli.app``.
"""

from __future__ import annotations

from pathlib import Path

import typer

from gongshu.catalog import changes, workflow
from gongshu.catalog.cli import _by_code, _load_json, _officer, app
from gongshu.catalog.models import ChangeKind
from gongshu.catalog.workflow_schemas import ChangeRequestCreate, ChangeReview
from gongshu.cli_support import bi, cli_session, say
from gongshu.labels import label
from gongshu.validation import parse

AS_HELP = "用户名（数据专管员或大数据主管部门管理员）"
CODE_HELP = "信息资源代码"
DONE = "{code}：{state}"


def _do(code: str, username: str, action: str, **kw: str) -> None:
    with cli_session() as session:
        actor = _officer(session, username)
        dataset = _by_code(session, actor, code)
        if action == workflow.SUBMIT:
            dataset = workflow.submit(session, actor, dataset.id)
        elif action == workflow.RECALL:
            dataset = workflow.recall(session, actor, dataset.id)
        elif action == workflow.APPROVE:
            dataset = workflow.approve(session, actor, dataset.id, comment=kw.get("comment", ""))
        elif action == workflow.RETURN:
            dataset = workflow.return_(session, actor, dataset.id, kw.get("reason", ""))
        else:
            dataset = workflow.publish(session, actor, dataset.id)
        typer.echo(say(DONE, code=dataset.code, state=label(dataset.state)))
        deadline = workflow.review_deadline(session, dataset)
        if deadline is not None:
            typer.echo(
                say(
                    "审核期限：{due}（{rule}，剩余 {n} 个工作日）",
                    due=deadline.due_on.isoformat(),
                    rule=say(deadline.rule),
                    n=deadline.remaining,
                )
            )


@app.command("submit", help=bi("以数据专管员身份提交目录条目审核"))
def submit(
    code: str = typer.Argument(..., help=bi(CODE_HELP)),
    username: str = typer.Option(..., "--as", help=bi(AS_HELP)),
) -> None:
    _do(code, username, workflow.SUBMIT)


@app.command("recall", help=bi("以数据专管员身份撤回待审核的目录条目"))
def recall(
    code: str = typer.Argument(..., help=bi(CODE_HELP)),
    username: str = typer.Option(..., "--as", help=bi(AS_HELP)),
) -> None:
    _do(code, username, workflow.RECALL)


@app.command("approve", help=bi("以大数据主管部门身份审核通过目录条目"))
def approve(
    code: str = typer.Argument(..., help=bi(CODE_HELP)),
    username: str = typer.Option(..., "--as", help=bi(AS_HELP)),
    comment: str = typer.Option("", "--comment", help=bi("审核意见")),
) -> None:
    _do(code, username, workflow.APPROVE, comment=comment)


@app.command("return", help=bi("以大数据主管部门身份退回目录条目（须填写理由）"))
def return_entry(
    code: str = typer.Argument(..., help=bi(CODE_HELP)),
    username: str = typer.Option(..., "--as", help=bi(AS_HELP)),
    reason: str = typer.Option(..., "--reason", help=bi("退回理由")),
) -> None:
    _do(code, username, workflow.RETURN, reason=reason)


@app.command("publish", help=bi("以大数据主管部门身份发布已审核的目录条目"))
def publish(
    code: str = typer.Argument(..., help=bi(CODE_HELP)),
    username: str = typer.Option(..., "--as", help=bi(AS_HELP)),
) -> None:
    _do(code, username, workflow.PUBLISH)


@app.command("review-queue", help=bi("列出待审核的目录条目和变更申请（按到期日）"))
def review_queue(username: str = typer.Option(..., "--as", help=bi(AS_HELP))) -> None:
    with cli_session() as session:
        actor = _officer(session, username)
        items = workflow.review_queue(session, actor)
        for item in items:
            due = ""
            if item.deadline is not None:
                due = say(
                    "{due}（剩余 {n} 个工作日）",
                    due=item.deadline.due_on.isoformat(),
                    n=item.deadline.remaining,
                )
            ref = f"#{item.id}" if item.kind == "change_request" else ""
            typer.echo(
                f"{due}\t{say(item.step)}{ref}\t{item.dataset.code}\t"
                f"{item.dataset.agency.name}\t{item.dataset.title}"
            )
        typer.echo(say("共 {n} 项待审核", n=len(items)), err=True)


@app.command("propose-change", help=bi("以数据专管员身份对已发布的目录条目提出变更申请"))
def propose_change(
    code: str = typer.Argument(..., help=bi(CODE_HELP)),
    username: str = typer.Option(..., "--as", help=bi(AS_HELP)),
    kind: ChangeKind = typer.Option(..., "--kind", help=bi("变更类型：modify 或 delete")),
    reason: str = typer.Option(..., "--reason", help=bi("变更理由")),
    basis_changed_on: str = typer.Option(
        ..., "--basis-changed-on", help=bi("依据变化日期（YYYY-MM-DD）")
    ),
    file: Path | None = typer.Option(
        None, "--file", help=bi("修改内容的 JSON 文件（同 PATCH 的格式）")
    ),
) -> None:
    with cli_session() as session:
        actor = _officer(session, username)
        dataset = _by_code(session, actor, code)
        payload: dict[str, object] = {
            "kind": kind.value,
            "reason": reason,
            "basis_changed_on": basis_changed_on,
        }
        if file is not None:
            payload["changes"] = _load_json(file)
        change = changes.propose_change(
            session, actor, dataset.id, parse(ChangeRequestCreate, payload)
        )
        typer.echo(
            say("已提出变更申请 #{id}（{status}）", id=change.id, status=label(change.status))
        )
        if change.late:
            typer.echo(
                say("已超过提出期限 {due}", due=change.proposal_due_on.isoformat()), err=True
            )


@app.command("review-change", help=bi("以大数据主管部门身份审核变更申请"))
def review_change(
    change_id: int = typer.Argument(..., help=bi("变更申请编号")),
    username: str = typer.Option(..., "--as", help=bi(AS_HELP)),
    approve: bool = typer.Option(..., "--approve/--reject", help=bi("同意或不同意")),
    comment: str = typer.Option("", "--comment", help=bi("审核意见（不同意时必填）")),
) -> None:
    with cli_session() as session:
        actor = _officer(session, username)
        change = changes.review_change(
            session, actor, change_id, ChangeReview(approve=approve, comment=comment)
        )
        typer.echo(say("变更申请 #{id}：{status}", id=change.id, status=label(change.status)))
