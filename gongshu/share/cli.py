"""``gongshu share``: share requests and their decisions, grants, the jobs, emergencies, the
return flow and reassessment.

Commands act as the platform unless ``--as USERNAME`` names a user, so the same rules and
audit entries apply as on the pages; requesting, objecting and recording a reassessment
always need ``--as`` (they speak for a body).
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
from gongshu.db import unit_of_work
from gongshu.errors import NotFound, ValidationFailed
from gongshu.i18n import N_
from gongshu.orgs.models import Agency
from gongshu.share import emergency, issuing, queries, reassess, requests, return_flow, rules
from gongshu.share.jobs import SWEEP_ACTOR, ensure_sweep_job, sweep
from gongshu.share.models import AssessmentOutcome, RequestStatus
from gongshu.share.schemas import (
    ArbitrationDecision,
    AssessmentCreate,
    EmergencyCreate,
    EmergencyEnd,
    GrantDecision,
    ObjectionCreate,
    Refusal,
    ReturnFlowSet,
    ShareRequestCreate,
)
from gongshu.validation import parse

app = typer.Typer(help=bi("数据共享：共享申请、授权、应急、回流与复核"), no_args_is_help=True)
emergency_app = typer.Typer(help=bi("应急共享"), no_args_is_help=True)
flow_app = typer.Typer(help=bi("数据回流"), no_args_is_help=True)
reassess_app = typer.Typer(help=bi("有条件共享目录条目的复核"), no_args_is_help=True)
app.add_typer(emergency_app, name="emergency")
app.add_typer(flow_app, name="return-flow")
app.add_typer(reassess_app, name="reassess")

CLI_ACTOR = Actor.system("cli")
AS_HELP = N_("以该用户的身份操作（默认：平台）")
AS_REQUIRED = N_("请用 --as 指定以哪个用户的身份操作")
USER_NOT_FOUND = N_("用户不存在或已停用")
DATASET_NOT_FOUND = N_("目录条目不存在")
AGENCY_NOT_FOUND = N_("机构不存在：{name}")
BAD_MAP = N_("回流取值应写成 区县代码=取值，如 371302=兰山区")
REASON_HELP = N_("理由")
DONE_REQUEST = N_("共享申请 {id}：{status}")
DONE_GRANT = N_("授权 {id} 已撤销")
DONE_EMERGENCY = N_("应急状态 {id}：{status}，授权 {n} 项")
DONE_FLOW = N_("数据回流：新授权 {issued} 项，撤销 {revoked} 项")
DONE_ASSESS = N_("复核已登记，下次复核：{due}")


def _actor(session: Session, username: str | None, *, required: bool = False) -> Actor:
    if not username:
        if required:
            raise ValidationFailed.single("as", AS_REQUIRED)
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


def _agency(session: Session, ref: str) -> int:
    stmt = select(Agency.id).where(
        Agency.id == int(ref)
        if ref.isdigit()
        else (Agency.name == ref) | (Agency.short_name == ref)
    )
    found = session.scalars(stmt).first()
    if found is None:
        raise NotFound(AGENCY_NOT_FOUND, name=ref)
    return found


def _done(request_id: int, status: RequestStatus) -> None:
    typer.echo(say(DONE_REQUEST, id=request_id, status=rules.request_status_label(status)))


# --- requests -----------------------------------------------------------------------------


@app.command("requests", help=bi("列出共享申请"))
def list_requests(
    box: str = typer.Option("all", help="mine | incoming | arbitration | all"),
    status: str = typer.Option("", help=bi("状态")),
    as_user: str = typer.Option("", "--as", help=bi(AS_HELP)),
) -> None:
    with cli_session() as session:
        actor = _actor(session, as_user)
        wanted = RequestStatus(status) if status in set(RequestStatus) else None
        page = queries.list_requests(session, actor, box=box, status=wanted, per_page=100)
        views = queries.open_deadline_views(session, page.items)
        for r in page.items:
            view = views.get(r.id)
            due = f"{view.step}:{view.due_on.isoformat()}({view.remaining})" if view else "-"
            typer.echo(
                f"{r.id}\t{r.status.value}\t{r.dataset.code}\t{r.agency.name}\t"
                f"{r.provider.name}\t{due}"
            )


@app.command("request", help=bi("以用户身份提出共享申请"))
def create_request(
    dataset: str = typer.Argument(..., help=bi("目录条目的资源代码或编号")),
    purpose: str = typer.Option(..., help=bi("使用用途")),
    scenario: str = typer.Option("", help=bi("应用场景")),
    basis: str = typer.Option("", help=bi("申请依据")),
    field: list[str] = typer.Option([], help=bi("信息项（可多次）")),
    ends_on: str = typer.Option("", help=bi("使用截止日期（YYYY-MM-DD）")),
    as_user: str = typer.Option("", "--as", help=bi(AS_HELP)),
) -> None:
    with cli_session() as session:
        actor = _actor(session, as_user, required=True)
        data = parse(
            ShareRequestCreate,
            {
                "dataset_id": _dataset(session, dataset).id,
                "purpose": purpose,
                "scenario": scenario,
                "legal_basis": basis,
                "fields": field,
                "ends_on": ends_on or None,
            },
        )
        created = requests.create_request(session, actor, data)
        _done(created.id, created.status)


@app.command("grant", help=bi("同意共享申请（数据提供单位）"))
def grant_request(
    request_id: int = typer.Argument(...),
    field: list[str] = typer.Option([], help=bi("授权的信息项（默认：按申请）")),
    clear: list[str] = typer.Option([], help=bi("明文提供的信息项（默认：无）")),
    ends_on: str = typer.Option("", help=bi("授权截止日期（YYYY-MM-DD）")),
    reason: str = typer.Option("", help=bi("答复意见")),
    as_user: str = typer.Option("", "--as", help=bi(AS_HELP)),
) -> None:
    with cli_session() as session:
        actor = _actor(session, as_user)
        data = parse(
            GrantDecision,
            {
                "fields": field or None,
                "clear_fields": clear,
                "ends_on": ends_on or None,
                "reason": reason,
            },
        )
        done = requests.grant_request(session, actor, request_id, data)
        _done(done.id, done.status)


@app.command("deny", help=bi("不予同意共享申请（须说明理由）"))
def deny_request(
    request_id: int = typer.Argument(...),
    reason: str = typer.Option(..., help=bi(REASON_HELP)),
    as_user: str = typer.Option("", "--as", help=bi(AS_HELP)),
) -> None:
    with cli_session() as session:
        done = requests.deny_request(
            session, _actor(session, as_user), request_id, Refusal(reason=reason)
        )
        _done(done.id, done.status)


@app.command("object", help=bi("对不予同意的答复提出异议"))
def object_request(
    request_id: int = typer.Argument(...),
    reason: str = typer.Option(..., help=bi(REASON_HELP)),
    as_user: str = typer.Option("", "--as", help=bi(AS_HELP)),
) -> None:
    with cli_session() as session:
        actor = _actor(session, as_user, required=True)
        done = requests.object_request(session, actor, request_id, ObjectionCreate(reason=reason))
        _done(done.id, done.status)


@app.command("arbitrate", help=bi("仲裁共享异议（大数据主管部门）"))
def arbitrate_request(
    request_id: int = typer.Argument(...),
    grant: bool = typer.Option(..., "--grant/--uphold", help=bi("同意共享或维持不予同意")),
    reason: str = typer.Option(..., help=bi(REASON_HELP)),
    as_user: str = typer.Option("", "--as", help=bi(AS_HELP)),
) -> None:
    with cli_session() as session:
        done = requests.arbitrate_request(
            session,
            _actor(session, as_user),
            request_id,
            ArbitrationDecision(grant=grant, reason=reason),
        )
        _done(done.id, done.status)


@app.command("revoke", help=bi("撤销授权（须说明理由）"))
def revoke_grant(
    grant_id: int = typer.Argument(...),
    reason: str = typer.Option(..., help=bi(REASON_HELP)),
    as_user: str = typer.Option("", "--as", help=bi(AS_HELP)),
) -> None:
    with cli_session() as session:
        revoked = issuing.revoke_grant(session, _actor(session, as_user), grant_id, reason)
        typer.echo(say(DONE_GRANT, id=revoked.id))


@app.command("grants", help=bi("列出授权"))
def list_grants(
    include_ended: bool = typer.Option(False, "--all", help=bi("含已到期、已撤销")),
    as_user: str = typer.Option("", "--as", help=bi(AS_HELP)),
) -> None:
    with cli_session() as session:
        actor = _actor(session, as_user)
        scope = "all" if actor.is_system else "mine"
        page = issuing.list_grants(
            session, actor, scope=scope, active_only=not include_ended, per_page=200
        )
        for row in page.items:
            g = row.grant
            until = g.expires_at.isoformat() if g.expires_at else "-"
            typer.echo(
                f"{g.id}\t{g.kind.value}\t{g.status.value}\t{row.dataset.code}\t"
                f"{row.agency.name}\t{until}\t{g.row_filter or ''}"
            )


@app.command("expire-due", help=bi("将已过期的授权标记为到期并通知（通常由后台任务执行）"))
def expire_due() -> None:
    with cli_session() as session:
        typer.echo(issuing.expire_due(session, SWEEP_ACTOR))


@app.command("sweep", help=bi("立即执行共享的定时任务：生效、到期、应急结束、回流同步、复核提醒"))
def run_sweep() -> None:
    with cli_session() as session:
        for key, value in sweep(session).items():
            typer.echo(f"{key}\t{value}")
        # A deployment that has issued no grant yet still needs the hourly chain (plans,
        # reminders): make sure it is queued.
        with unit_of_work(session):
            ensure_sweep_job(session)


# --- emergencies --------------------------------------------------------------------------


@emergency_app.command("declare", help=bi("宣布应急状态（市级大数据主管部门）"))
def declare(
    name: str = typer.Option(..., help=bi("应急事件名称")),
    reason: str = typer.Option(..., help=bi("宣布理由")),
    ends_at: str = typer.Option(..., help=bi("结束时间（YYYY-MM-DDTHH:MM，本地时间）")),
    entry: list[str] = typer.Option([], help=bi("目录条目（可多次；不填：全部共享条目）")),
    agency: list[str] = typer.Option([], help=bi("获得授权的机构（可多次；不填：全部机构）")),
    include_not_shared: bool = typer.Option(False, help=bi("纳入列出的不予共享条目")),
    in_clear: bool = typer.Option(False, help=bi("明文提供全部信息项")),
    as_user: str = typer.Option("", "--as", help=bi(AS_HELP)),
) -> None:
    with cli_session() as session:
        data = parse(
            EmergencyCreate,
            {
                "name": name,
                "reason": reason,
                "ends_at": ends_at,
                "dataset_ids": [_dataset(session, e).id for e in entry],
                "agency_ids": [_agency(session, a) for a in agency],
                "include_not_shared": include_not_shared,
                "in_clear": in_clear,
            },
        )
        e = emergency.declare_emergency(session, _actor(session, as_user), data)
        typer.echo(say(DONE_EMERGENCY, id=e.id, status=e.status.value, n=e.grants_issued))


@emergency_app.command("end", help=bi("提前结束应急状态（撤销其授权）"))
def end(
    emergency_id: int = typer.Argument(...),
    reason: str = typer.Option(..., help=bi(REASON_HELP)),
    as_user: str = typer.Option("", "--as", help=bi(AS_HELP)),
) -> None:
    with cli_session() as session:
        e = emergency.end_emergency(
            session, _actor(session, as_user), emergency_id, EmergencyEnd(reason=reason)
        )
        typer.echo(say(DONE_EMERGENCY, id=e.id, status=e.status.value, n=e.grants_issued))


@emergency_app.command("list", help=bi("列出应急状态"))
def list_all() -> None:
    with cli_session() as session:
        for e in emergency.list_emergencies(session, CLI_ACTOR, per_page=100).items:
            typer.echo(
                f"{e.id}\t{e.status.value}\t{e.name}\t{e.starts_at.isoformat()}\t"
                f"{e.ends_at.isoformat()}\t{e.grants_issued}"
            )


@emergency_app.command("report", help=bi("应急共享报告"))
def report(emergency_id: int = typer.Argument(...)) -> None:
    with cli_session() as session:
        data = emergency.report(session, CLI_ACTOR, emergency_id)
        typer.echo(f"grants\t{data.grants}")
        typer.echo(f"live_grants\t{data.live_grants}")
        typer.echo(f"bodies\t{len(data.bodies)}")
        typer.echo(f"entries\t{data.entries}")
        typer.echo(f"reads\t{data.reads}")
        typer.echo(f"rows_read\t{data.rows_read}")


# --- return flow --------------------------------------------------------------------------


@flow_app.command("enable", help=bi("启用或修改目录条目的数据回流"))
def enable(
    dataset: str = typer.Argument(..., help=bi("目录条目的资源代码或编号")),
    field: str = typer.Option(..., help=bi("区县字段")),
    map_: list[str] = typer.Option(
        [], "--map", help=bi("区县代码=取值（可多次；不填：按默认对应）")
    ),
    as_user: str = typer.Option("", "--as", help=bi(AS_HELP)),
) -> None:
    with cli_session() as session:
        entry = _dataset(session, dataset)
        if map_:
            pairs = [m.split("=", 1) for m in map_]
            if any(len(p) != 2 for p in pairs):
                raise ValidationFailed.single("map", BAD_MAP)
            value_map = {code.strip(): value.strip() for code, value in pairs}
        else:
            districts = return_flow.districts_of(session, entry)
            value_map = return_flow.default_value_map(entry, field, districts)
        data = parse(ReturnFlowSet, {"field_name": field, "value_map": value_map})
        _flow, issued, revoked = return_flow.set_return_flow(
            session, _actor(session, as_user), entry.id, data
        )
        typer.echo(say(DONE_FLOW, issued=issued, revoked=revoked))


@flow_app.command("disable", help=bi("停用目录条目的数据回流（撤销其授权）"))
def disable(
    dataset: str = typer.Argument(..., help=bi("目录条目的资源代码或编号")),
    as_user: str = typer.Option("", "--as", help=bi(AS_HELP)),
) -> None:
    with cli_session() as session:
        entry = _dataset(session, dataset)
        revoked = return_flow.disable_return_flow(session, _actor(session, as_user), entry.id)
        typer.echo(say(DONE_FLOW, issued=0, revoked=revoked))


@flow_app.command("sync", help=bi("为新设立的机构补发回流授权"))
def sync() -> None:
    with cli_session() as session:
        issued, revoked = return_flow.sync_return_flows(session, CLI_ACTOR)
        typer.echo(say(DONE_FLOW, issued=issued, revoked=revoked))


# --- reassessment -------------------------------------------------------------------------


@reassess_app.command("due", help=bi("列出将到期和已逾期的复核"))
def due() -> None:
    with cli_session() as session:
        for row in reassess.list_plans(session, CLI_ACTOR, due_only=True):
            typer.echo(
                f"{row.dataset.code}\t{row.dataset.title}\t{row.next_due_on.isoformat()}\t"
                f"{row.state}"
            )


@reassess_app.command("record", help=bi("登记复核结果（数据提供单位）"))
def record(
    dataset: str = typer.Argument(..., help=bi("目录条目的资源代码或编号")),
    convert: bool = typer.Option(False, "--convert/--keep", help=bi("转为无条件共享或维持")),
    reason: str = typer.Option(..., help=bi(REASON_HELP)),
    as_user: str = typer.Option("", "--as", help=bi(AS_HELP)),
) -> None:
    with cli_session() as session:
        actor = _actor(session, as_user, required=True)
        outcome = AssessmentOutcome.CONVERT if convert else AssessmentOutcome.KEEP
        done = reassess.record_assessment(
            session,
            actor,
            _dataset(session, dataset).id,
            AssessmentCreate(outcome=outcome, reason=reason),
        )
        typer.echo(say(DONE_ASSESS, due=done.next_due_on.isoformat()))
