"""Pages of the sharing workflow for the bureau and the providers' reassessments: emergencies
(应急: declare, report, end early), the return flow (回流: per-entry settings, sync) and
reassessment (复核: due dates, the provider's outcome). The services check permissions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from gongshu.auth.actor import Actor
from gongshu.catalog.models import Dataset, DatasetState
from gongshu.catalog.service import get_dataset
from gongshu.errors import ValidationFailed
from gongshu.i18n import N_, translate
from gongshu.orgs.models import Agency, Region
from gongshu.share import emergency, reassess, return_flow, rules
from gongshu.share.models import AssessmentOutcome, EmergencyStatus
from gongshu.share.pages import base_context
from gongshu.share.schemas import AssessmentCreate, EmergencyCreate, EmergencyEnd, ReturnFlowSet
from gongshu.validation import parse
from gongshu.web.deps import ActorDep, CsrfDep, SessionDep
from gongshu.web.templating import render

router = APIRouter(include_in_schema=False)

M_DECLARED = N_("应急状态已宣布，应急共享授权已生效")
M_ENDED = N_("应急状态已结束，应急共享授权已撤销")
M_FLOW_SAVED = N_("数据回流已启用：新授权 {issued} 项，撤销 {revoked} 项")
M_FLOW_DISABLED = N_("数据回流已停用，回流授权已撤销")
M_SYNCED = N_("回流授权已同步：新授权 {issued} 项，撤销 {revoked} 项")
M_ASSESSED = N_("复核结果已登记")
M_CONVERT_PENDING = N_(
    "复核结果已登记，已提出转为无条件共享的目录变更申请，待市级大数据主管部门同意"
)


def _text(form: FormData, name: str) -> str:
    return str(form.get(name, "")).strip()


def _ids(form: FormData, name: str) -> list[str]:
    return [str(v) for v in form.getlist(name) if str(v).strip().isdigit()]


def _flash(text: str) -> list[dict[str, str]]:
    return [{"kind": "ok", "text": text}] if text else []


# --- emergencies -----------------------------------------------------------------------------


def _emergencies_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    page = request.query_params.get("page", "")
    result = emergency.list_emergencies(
        session, actor, page=int(page) if page.isdigit() and len(page) < 7 else 1
    )
    may_declare = rules.city_bureau(actor)
    choices_needed = may_declare
    return render(
        request,
        "share/emergencies.html",
        {
            **base_context(actor, "/share/emergencies"),
            "result": result,
            "may_declare": may_declare,
            "entries": _published(session) if choices_needed else [],
            "agencies": _agencies(session) if choices_needed else [],
            "values": values or {},
            "errors": errors or {},
            "messages": _flash(
                translate(M_DECLARED) if request.query_params.get("done") == "declared" else ""
            ),
            "status_label": lambda s: translate(rules.EMERGENCY_STATUS_LABELS[EmergencyStatus(s)]),
        },
        status_code=status_code,
    )


def _published(session: Session) -> list[Dataset]:
    stmt = select(Dataset).where(Dataset.state == DatasetState.PUBLISHED).order_by(Dataset.code)
    return list(session.scalars(stmt))


def _agencies(session: Session) -> list[Agency]:
    stmt = select(Agency).where(Agency.is_active.is_(True)).order_by(Agency.region_id, Agency.id)
    return list(session.scalars(stmt))


@router.get("/share/emergencies", response_class=HTMLResponse)
def emergencies_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return _emergencies_page(request, session, actor)


@router.post("/share/emergencies", response_class=HTMLResponse, dependencies=[CsrfDep])
async def emergency_declare(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    form = await request.form()
    values: dict[str, Any] = {
        "name": _text(form, "name"),
        "reason": _text(form, "reason"),
        "dataset_ids": _ids(form, "dataset_ids"),
        "agency_ids": _ids(form, "agency_ids"),
        "include_not_shared": bool(form.get("include_not_shared")),
        "in_clear": bool(form.get("in_clear")),
        "ends_at": _text(form, "ends_at"),
    }
    try:
        declared = emergency.declare_emergency(session, actor, parse(EmergencyCreate, values))
    except ValidationFailed as exc:
        return _emergencies_page(
            request,
            session,
            actor,
            values=values,
            errors=exc.localized_errors() or {"__all__": [exc.localized()]},
            status_code=422,
        )
    return RedirectResponse(f"/share/emergencies/{declared.id}?done=declared", status_code=303)


def _emergency_page(
    request: Request,
    session: Session,
    actor: Actor,
    emergency_id: int,
    *,
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    session.expire_all()
    data = emergency.report(session, actor, emergency_id)
    e = data.emergency
    done = request.query_params.get("done", "")
    message = {"declared": M_DECLARED, "ended": M_ENDED}.get(done)
    titles = emergency.titles_of(session, [int(i) for i in e.dataset_ids])
    skipped_titles = emergency.titles_of(session, [int(item[0]) for item in e.skipped])
    return render(
        request,
        "share/emergency.html",
        {
            **base_context(actor, "/share/emergencies"),
            "report": data,
            "e": e,
            "entry_titles": titles,
            "skipped": emergency.skipped_labels(e, skipped_titles),
            "may_end": rules.city_bureau(actor) and e.status is EmergencyStatus.ACTIVE,
            "errors": errors or {},
            "messages": _flash(translate(message) if message else ""),
            "status_label": lambda s: translate(rules.EMERGENCY_STATUS_LABELS[EmergencyStatus(s)]),
        },
        status_code=status_code,
    )


@router.get("/share/emergencies/{emergency_id}", response_class=HTMLResponse)
def emergency_page(
    request: Request, session: SessionDep, actor: ActorDep, emergency_id: int
) -> Response:
    return _emergency_page(request, session, actor, emergency_id)


@router.post(
    "/share/emergencies/{emergency_id}/end", response_class=HTMLResponse, dependencies=[CsrfDep]
)
async def emergency_end(
    request: Request, session: SessionDep, actor: ActorDep, emergency_id: int
) -> Response:
    form = await request.form()
    lock = _text(form, "lock_version")
    data = {
        "reason": _text(form, "reason"),
        "lock_version": int(lock) if lock.isdigit() and len(lock) < 10 else None,
    }
    try:
        emergency.end_emergency(session, actor, emergency_id, parse(EmergencyEnd, data))
    except ValidationFailed as exc:
        return _emergency_page(
            request, session, actor, emergency_id, errors=exc.localized_errors(), status_code=422
        )
    return RedirectResponse(f"/share/emergencies/{emergency_id}?done=ended", status_code=303)


# --- return flow -----------------------------------------------------------------------------


def _candidates(session: Session) -> list[tuple[Dataset, list[str]]]:
    """Published city-level entries with a field that looks like a region field."""
    city = rules.city_region_id(session)
    if city is None:
        return []
    stmt = (
        select(Dataset)
        .where(Dataset.state == DatasetState.PUBLISHED, Dataset.region_id == city)
        .order_by(Dataset.code)
    )
    districts = list(session.scalars(select(Region).where(Region.parent_id == city)))
    out: list[tuple[Dataset, list[str]]] = []
    for dataset in session.scalars(stmt):
        names = return_flow.region_fields(dataset, districts)
        if names:
            out.append((dataset, names))
    return out


@router.get("/share/return-flows", response_class=HTMLResponse)
def flows_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    flows = return_flow.list_flows(session, actor)
    configured = {row.dataset.id for row in flows}
    done = request.query_params.get("done", "")
    message = ""
    if done == "synced":
        message = translate(
            M_SYNCED,
            issued=request.query_params.get("issued", "0"),
            revoked=request.query_params.get("revoked", "0"),
        )
    elif done == "disabled":
        message = translate(M_FLOW_DISABLED)
    return render(
        request,
        "share/return_flows.html",
        {
            **base_context(actor, "/share/return-flows"),
            "flows": flows,
            "candidates": [c for c in _candidates(session) if c[0].id not in configured],
            "may_manage": rules.city_bureau(actor),
            "messages": _flash(message),
        },
    )


def _flow_page(
    request: Request,
    session: Session,
    actor: Actor,
    dataset_id: int,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    return_flow.list_flows(session, actor)  # the same permission as the list
    dataset = get_dataset(session, actor, dataset_id)
    districts = return_flow.districts_of(session, dataset)
    flow = return_flow.get_flow(session, dataset.id)
    suggested = return_flow.region_fields(dataset, districts)
    asked = request.query_params.get("field", "")
    if asked not in {f.name for f in dataset.fields}:
        asked = ""
    field_name = (
        (values or {}).get("field_name")
        or asked
        or (flow.field_name if flow else (suggested[0] if suggested else ""))
    )
    value_map = (values or {}).get("value_map") or (
        {str(k): str(v) for k, v in flow.value_map.items()}
        if flow and flow.field_name == field_name
        else return_flow.default_value_map(dataset, field_name, districts)
    )
    seen: list[str] = []
    if request.query_params.get("values") == "1" and field_name:
        seen = return_flow.field_values(session, dataset, field_name)
    done = request.query_params.get("done", "")
    message = ""
    if done == "saved":
        message = translate(
            M_FLOW_SAVED,
            issued=request.query_params.get("issued", "0"),
            revoked=request.query_params.get("revoked", "0"),
        )
    return render(
        request,
        "share/return_flow.html",
        {
            **base_context(actor, "/share/return-flows"),
            "dataset": dataset,
            "flow": flow,
            "districts": districts,
            "field_name": field_name,
            "value_map": value_map,
            "suggested": suggested,
            "seen": seen,
            "may_manage": rules.city_bureau(actor),
            "errors": errors or {},
            "messages": _flash(message),
        },
        status_code=status_code,
    )


@router.get("/share/return-flows/{dataset_id}", response_class=HTMLResponse)
def flow_page(request: Request, session: SessionDep, actor: ActorDep, dataset_id: int) -> Response:
    return _flow_page(request, session, actor, dataset_id)


# Before /share/return-flows/{dataset_id}: "sync" is not an entry id.
@router.post("/share/return-flows/sync", response_class=HTMLResponse, dependencies=[CsrfDep])
async def flows_sync(session: SessionDep, actor: ActorDep) -> Response:
    issued, revoked = return_flow.sync_return_flows(session, actor)
    return RedirectResponse(
        f"/share/return-flows?done=synced&issued={issued}&revoked={revoked}", status_code=303
    )


@router.post(
    "/share/return-flows/{dataset_id}", response_class=HTMLResponse, dependencies=[CsrfDep]
)
async def flow_save(
    request: Request, session: SessionDep, actor: ActorDep, dataset_id: int
) -> Response:
    form = await request.form()
    value_map = {
        str(k)[len("value_") :]: str(v).strip()
        for k, v in form.items()
        if str(k).startswith("value_")
    }
    values = {"field_name": _text(form, "field_name"), "value_map": value_map}
    try:
        _flow, issued, revoked = return_flow.set_return_flow(
            session, actor, dataset_id, parse(ReturnFlowSet, values)
        )
    except ValidationFailed as exc:
        return _flow_page(
            request,
            session,
            actor,
            dataset_id,
            values=values,
            errors=exc.localized_errors(),
            status_code=422,
        )
    return RedirectResponse(
        f"/share/return-flows/{dataset_id}?done=saved&issued={issued}&revoked={revoked}",
        status_code=303,
    )


@router.post(
    "/share/return-flows/{dataset_id}/disable",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
)
async def flow_disable(session: SessionDep, actor: ActorDep, dataset_id: int) -> Response:
    return_flow.disable_return_flow(session, actor, dataset_id)
    return RedirectResponse("/share/return-flows?done=disabled", status_code=303)


# --- reassessment ------------------------------------------------------------------------------


@router.get("/share/reassessments", response_class=HTMLResponse)
def plans_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    due_only = request.query_params.get("due") == "1"
    return render(
        request,
        "share/reassessments.html",
        {
            **base_context(actor, "/share/reassessments"),
            "rows": reassess.list_plans(session, actor, due_only=due_only),
            "due_only": due_only,
        },
    )


def _plan_page(
    request: Request,
    session: Session,
    actor: Actor,
    dataset_id: int,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    session.expire_all()
    dataset = get_dataset(session, actor, dataset_id)
    plan = reassess.plan_of(session, dataset)
    done = request.query_params.get("done", "")
    message = {"keep": M_ASSESSED, "convert": M_CONVERT_PENDING}.get(done)
    return render(
        request,
        "share/reassessment.html",
        {
            **base_context(actor, "/share/reassessments"),
            "dataset": dataset,
            "plan": plan,
            "history": reassess.history(session, actor, dataset.id),
            "may_record": reassess.may_record(actor, dataset)
            and dataset.share_type.value == "conditional"
            and dataset.state is DatasetState.PUBLISHED,
            "outcomes": [(o.value, translate(rules.OUTCOME_LABELS[o])) for o in AssessmentOutcome],
            "outcome_label": lambda o: translate(rules.OUTCOME_LABELS[AssessmentOutcome(o)]),
            "values": values or {},
            "errors": errors or {},
            "messages": _flash(translate(message) if message else ""),
        },
        status_code=status_code,
    )


@router.get("/share/reassessments/{dataset_id}", response_class=HTMLResponse)
def plan_page(request: Request, session: SessionDep, actor: ActorDep, dataset_id: int) -> Response:
    return _plan_page(request, session, actor, dataset_id)


@router.post(
    "/share/reassessments/{dataset_id}", response_class=HTMLResponse, dependencies=[CsrfDep]
)
async def plan_record(
    request: Request, session: SessionDep, actor: ActorDep, dataset_id: int
) -> Response:
    form = await request.form()
    values = {"outcome": _text(form, "outcome"), "reason": _text(form, "reason")}
    try:
        assessment = reassess.record_assessment(
            session, actor, dataset_id, parse(AssessmentCreate, values)
        )
    except ValidationFailed as exc:
        return _plan_page(
            request,
            session,
            actor,
            dataset_id,
            values=values,
            errors=exc.localized_errors() or {"__all__": [exc.localized()]},
            status_code=422,
        )
    return RedirectResponse(
        f"/share/reassessments/{dataset_id}?done={assessment.outcome.value}", status_code=303
    )
