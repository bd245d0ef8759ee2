"""Pages of the sharing workflow for public bodies: my requests (我的共享申请), the request
form, one request with its decision forms, requests waiting for my decision (待我审核), the
bureau's objections (异议仲裁), and grant lists (我的授权 …) with revoke. Every page is
server-rendered and works without JavaScript; the services check every permission.

Also the emergency banner shown on every page (a render hook) and the "申请共享" button of
an entry's page (the ``share_may_request`` template global).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from gongshu.audit import service as audit
from gongshu.auth.actor import Actor
from gongshu.auth.permissions import Perm, can
from gongshu.catalog.models import ShareType
from gongshu.catalog.service import get_dataset
from gongshu.errors import NotFound, ValidationFailed
from gongshu.i18n import N_, translate
from gongshu.share import emergency, issuing, queries, requests, rules
from gongshu.share.models import GrantKind, RequestStatus
from gongshu.share.schemas import (
    ArbitrationDecision,
    GrantDecision,
    ObjectionCreate,
    Refusal,
    ShareRequestCreate,
)
from gongshu.validation import parse
from gongshu.web.deps import ActorDep, CsrfDep, SessionDep
from gongshu.web.templating import env, render, render_hook
from gongshu.workdays.calendar import TZ, local_today

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)

BOXES: dict[str, tuple[str, str]] = {
    "mine": (N_("我的共享申请"), "/share/requests"),
    "incoming": (N_("待我审核"), "/share/inbox"),
    "arbitration": (N_("异议仲裁"), "/share/arbitration"),
}
SCOPES: dict[str, str] = {
    "mine": N_("我的授权"),
    "provided": N_("本单位数据的授权"),
    "all": N_("全部授权"),
}
M_GRANTED = N_("已同意该共享申请")
M_DENIED = N_("已答复不予同意")
M_OBJECTED = N_("已提出异议，等待大数据主管部门仲裁")
M_ARBITRATED = N_("仲裁结果已登记")
M_REVOKED = N_("授权已撤销")
M_CREATED = N_("共享申请已提交")
M_NO_PAGE = N_("页面不存在")
STEP_LABELS = {
    "decision": N_("答复期限"),
    "objection": N_("异议期限"),
    "arbitration": N_("仲裁期限"),
}


# --- what every page shows -------------------------------------------------------------------


@render_hook
def emergency_banner(request: Request, ctx: dict[str, Any]) -> None:
    """Put the emergencies in force in every page (one query on the request's session)."""
    session: Session | None = getattr(request.state, "db", None)
    if session is None:
        return
    began = not session.in_transaction()
    try:
        found = emergency.active_emergencies(session)
        if began:
            # The rollback below expires them: the template reading one would begin a new
            # transaction (on SQLite, BEGIN IMMEDIATE: the write lock) that nobody ends.
            for e in found:
                session.expunge(e)
        ctx["active_emergencies"] = found
    except SQLAlchemyError:
        log.debug("emergency banner skipped", exc_info=True)
    finally:
        if began:
            session.rollback()  # give back the connection this read borrowed


env.globals["share_may_request"] = rules.may_request


# --- helpers ----------------------------------------------------------------------------------


def _text(form: FormData, name: str) -> str:
    return str(form.get(name, "")).strip()


def _date(form: FormData, name: str) -> str | None:
    value = _text(form, name)
    return value or None


def _list(form: FormData, name: str) -> list[str]:
    return [str(v) for v in form.getlist(name) if str(v).strip()]


def _int(value: str | None, default: int = 1) -> int:
    text = (value or "").strip()
    return int(text) if text.isdigit() and 0 < len(text) < 7 and int(text) > 0 else default


def _lock(form: FormData) -> int | None:
    value = _text(form, "lock_version")
    return int(value) if value.isdigit() and len(value) < 10 else None


def _nav(actor: Actor | None) -> list[tuple[str, str]]:
    """The tabs of the sharing pages this actor may use."""
    tabs: list[tuple[str, str]] = []
    if actor is None:
        return tabs
    if actor.agency_id is not None and can(actor, Perm.DATA_USE):
        tabs += [("/share/requests", N_("我的共享申请")), ("/share/grants", N_("我的授权"))]
    if actor.agency_id is not None and can(actor, Perm.CATALOG_EDIT_OWN):
        tabs += [
            ("/share/inbox", N_("待我审核")),
            ("/share/grants?scope=provided", N_("本单位数据的授权")),
            ("/share/reassessments", N_("复核")),
        ]
    if can(actor, Perm.CATALOG_REVIEW) or rules.is_platform(actor):
        tabs += [
            ("/share/arbitration", N_("异议仲裁")),
            ("/share/grants?scope=all", N_("全部授权")),
            ("/share/emergencies", N_("应急")),
            ("/share/return-flows", N_("回流")),
            ("/share/reassessments", N_("复核")),
        ]
    if can(actor, Perm.AUDIT_READ):
        tabs.append(("/share/emergencies", N_("应急")))
    unique: dict[str, str] = {}
    for path, title in tabs:
        unique.setdefault(path, title)
    return list(unique.items())


def until_text(moment: dt.datetime | None) -> str:
    """A grant's end as people say it: a date-only end runs to "24:00" of its last day."""
    if moment is None:
        return ""
    local = moment.astimezone(TZ)
    if local.time() == dt.time():
        return (local.date() - dt.timedelta(days=1)).isoformat() + " 24:00"
    return local.strftime("%Y-%m-%d %H:%M")


def base_context(actor: Actor | None, current: str) -> dict[str, Any]:
    return {
        "share_tabs": _nav(actor),
        "share_current": current,
        "status_label": rules.request_status_label,
        "status_kind": lambda s: rules.REQUEST_STATUS_KINDS.get(RequestStatus(s), ""),
        "kind_label": lambda k: translate(rules.REQUEST_KIND_LABELS.get(k, str(k))),
        "grant_kind_label": rules.grant_kind_label,
        "grant_status_label": rules.grant_status_label,
        "grant_status_kind": lambda s: rules.GRANT_STATUS_KINDS.get(s, ""),
        "step_labels": STEP_LABELS,
        "until": until_text,
    }


@router.get("/share", response_class=HTMLResponse)
def share_home(actor: ActorDep) -> Response:
    """The first tab the actor may use."""
    tabs = _nav(actor)
    return RedirectResponse(tabs[0][0] if tabs else "/share/grants", status_code=303)


# --- request lists --------------------------------------------------------------------------


def _list_page(request: Request, session: Session, actor: Actor, box: str) -> Response:
    params = request.query_params
    raw_status = params.get("status", "")
    status = RequestStatus(raw_status) if raw_status in set(RequestStatus) else None
    result = queries.list_requests(
        session, actor, box=box, status=status, page=_int(params.get("page"))
    )
    title, path = BOXES[box]
    return render(
        request,
        "share/requests.html",
        {
            **base_context(actor, path),
            "title": title,
            "box": box,
            "result": result,
            "deadlines": queries.open_deadline_views(session, result.items),
            "row_actions": {
                r.id: queries.available_actions(session, actor, r) for r in result.items
            },
            "status": raw_status if status else "",
            "statuses": list(RequestStatus),
            "pager_base": f"{path}?" + (f"status={raw_status}&" if status else ""),
        },
    )


@router.get("/share/requests", response_class=HTMLResponse)
def my_requests(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return _list_page(request, session, actor, "mine")


@router.get("/share/inbox", response_class=HTMLResponse)
def inbox(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return _list_page(request, session, actor, "incoming")


@router.get("/share/arbitration", response_class=HTMLResponse)
def arbitration(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return _list_page(request, session, actor, "arbitration")


# --- the request form -------------------------------------------------------------------------


def _form_page(
    request: Request,
    session: Session,
    actor: Actor,
    dataset_id: int,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    dataset = get_dataset(session, actor, dataset_id)
    refusal = rules.request_refusal(actor, dataset)
    conditional = dataset.share_type is ShareType.CONDITIONAL
    default_end = (local_today() + dt.timedelta(days=365)).isoformat() if conditional else None
    return render(
        request,
        "share/request_form.html",
        {
            **base_context(actor, "/share/requests"),
            "dataset": dataset,
            "conditional": conditional,
            "field_labels": {f.name: f.label for f in dataset.fields},
            "refusal": translate(refusal, basis=dataset.legal_basis or "—") if refusal else "",
            "values": values
            or {"fields": [f.name for f in dataset.fields], "ends_on": default_end},
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get("/share/requests/new", response_class=HTMLResponse)
def request_form(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return _form_page(request, session, actor, _int(request.query_params.get("dataset"), 0))


@router.post("/share/requests", response_class=HTMLResponse, dependencies=[CsrfDep])
async def request_create(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    form = await request.form()
    values: dict[str, Any] = {
        "dataset_id": _text(form, "dataset_id"),
        "purpose": _text(form, "purpose"),
        "scenario": _text(form, "scenario"),
        "legal_basis": _text(form, "legal_basis"),
        "fields": _list(form, "fields"),
        "starts_on": _date(form, "starts_on"),
        "ends_on": _date(form, "ends_on"),
    }
    dataset_id = _int(values["dataset_id"], 0)
    try:
        created = requests.create_request(session, actor, parse(ShareRequestCreate, values))
    except ValidationFailed as exc:
        return _form_page(
            request,
            session,
            actor,
            dataset_id,
            values=values,
            errors=exc.localized_errors() or {"__all__": [exc.localized()]},
            status_code=422,
        )
    return RedirectResponse(f"/share/requests/{created.id}?done=created", status_code=303)


# --- one request --------------------------------------------------------------------------


DONE = {
    "created": M_CREATED,
    "grant": M_GRANTED,
    "deny": M_DENIED,
    "object": M_OBJECTED,
    "arbitrate": M_ARBITRATED,
    "revoke": M_REVOKED,
}


def _detail_page(
    request: Request,
    session: Session,
    actor: Actor,
    request_id: int,
    *,
    errors: dict[str, list[str]] | None = None,
    failed: str = "",
    status_code: int = 200,
) -> Response:
    session.expire_all()
    share = queries.get_request(session, actor, request_id)
    views = queries.open_deadline_views(session, [share])
    done = request.query_params.get("done", "")
    messages = [{"kind": "ok", "text": translate(DONE[done])}] if done in DONE else []
    grant = None
    if share.grant_id is not None:
        grant = issuing.get_grant_row(session, actor, share.grant_id)
    fields = {f.name: f.label for f in share.dataset.fields}
    requested = share.fields if share.fields is not None else list(fields)
    return render(
        request,
        "share/request_detail.html",
        {
            **base_context(actor, ""),
            "r": share,
            "deadline": views.get(share.id),
            "actions": queries.available_actions(session, actor, share),
            "grant": grant,
            "field_labels": fields,
            "requested": requested,
            "objection_due": queries.window_due(session, share),
            "history": audit.history(session, queries.OBJECT_TYPE, share.id),
            "errors": errors or {},
            "failed": failed,
            "messages": messages,
            "arbitration_label": _arbitration_label,
        },
        status_code=status_code,
    )


def _arbitration_label(outcome: str) -> str:
    return translate(rules.ARBITRATION_LABELS.get(outcome, outcome))


@router.get("/share/requests/{request_id}", response_class=HTMLResponse)
def request_detail(
    request: Request, session: SessionDep, actor: ActorDep, request_id: int
) -> Response:
    return _detail_page(request, session, actor, request_id)


async def _act(
    request: Request,
    session: Session,
    actor: Actor,
    request_id: int,
    action: str,
) -> Response:
    form = await request.form()
    lock = _lock(form)
    try:
        if action == queries.GRANT:
            data = parse(
                GrantDecision,
                {
                    "lock_version": lock,
                    "fields": _list(form, "fields") or None,
                    "clear_fields": _list(form, "clear_fields"),
                    "ends_on": _date(form, "ends_on"),
                    "reason": _text(form, "reason"),
                },
            )
            requests.grant_request(session, actor, request_id, data)
        elif action == queries.DENY:
            refusal = parse(Refusal, {"lock_version": lock, "reason": _text(form, "reason")})
            requests.deny_request(session, actor, request_id, refusal)
        elif action == queries.OBJECT:
            objection = parse(
                ObjectionCreate, {"lock_version": lock, "reason": _text(form, "reason")}
            )
            requests.object_request(session, actor, request_id, objection)
        elif action == queries.ARBITRATE:
            decision = parse(
                ArbitrationDecision,
                {
                    "lock_version": lock,
                    "grant": _text(form, "outcome") == "grant",
                    "reason": _text(form, "reason"),
                    "fields": _list(form, "fields") or None,
                    "clear_fields": _list(form, "clear_fields"),
                    "ends_on": _date(form, "ends_on"),
                },
            )
            requests.arbitrate_request(session, actor, request_id, decision)
        else:
            requests.revoke_request(session, actor, request_id, _text(form, "reason"))
    except ValidationFailed as exc:
        return _detail_page(
            request,
            session,
            actor,
            request_id,
            errors=exc.localized_errors() or {"__all__": [exc.localized()]},
            failed=action,
            status_code=422,
        )
    return RedirectResponse(f"/share/requests/{request_id}?done={action}", status_code=303)


@router.post(
    "/share/requests/{request_id}/{action}", response_class=HTMLResponse, dependencies=[CsrfDep]
)
async def request_action(
    request: Request, session: SessionDep, actor: ActorDep, request_id: int, action: str
) -> Response:
    if action not in queries.ACTIONS:
        raise NotFound(M_NO_PAGE)
    return await _act(request, session, actor, request_id, action)


# --- grants -----------------------------------------------------------------------------------


@router.get("/share/grants", response_class=HTMLResponse)
def grants_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    params = request.query_params
    scope = params.get("scope", "mine")
    if scope not in SCOPES:
        scope = "mine"
    raw_kind = params.get("kind", "")
    kind = GrantKind(raw_kind) if raw_kind in set(GrantKind) else None
    active_only = params.get("all") != "1"
    raw_emergency = params.get("emergency", "")
    emergency_id = (
        int(raw_emergency) if raw_emergency.isdigit() and len(raw_emergency) < 10 else None
    )
    result = issuing.list_grants(
        session,
        actor,
        scope=scope,
        kind=kind,
        emergency_id=emergency_id,
        active_only=active_only,
        page=_int(params.get("page")),
    )
    path = "/share/grants" + ("" if scope == "mine" else f"?scope={scope}")
    query = (
        f"scope={scope}&"
        + (f"kind={raw_kind}&" if kind else "")
        + ("all=1&" if not active_only else "")
    )
    done = params.get("done", "")
    return render(
        request,
        "share/grants.html",
        {
            **base_context(actor, path),
            "title": SCOPES[scope],
            "scope": scope,
            "kind": raw_kind if kind else "",
            "kinds": list(GrantKind),
            "active_only": active_only,
            "result": result,
            "may_revoke": lambda row: issuing.may_revoke(actor, row.grant, row.dataset),
            "sees_fingerprint": lambda row: (
                rules.decides(actor, row.dataset.agency_id) or rules.arbitrates(actor, row.dataset)
            ),
            "pager_base": f"/share/grants?{query}",
            "filter_base": f"/share/grants?scope={scope}&",
            "messages": [{"kind": "ok", "text": translate(M_REVOKED)}] if done == "revoke" else [],
        },
    )


@router.post("/share/grants/{grant_id}/revoke", response_class=HTMLResponse, dependencies=[CsrfDep])
async def grant_revoke(
    request: Request, session: SessionDep, actor: ActorDep, grant_id: int
) -> Response:
    form = await request.form()
    back = _text(form, "back")
    if not back.startswith("/share/") or back.startswith("//"):
        back = "/share/grants"
    # A missing reason comes back as the error page with the field's message (422).
    issuing.revoke_grant(session, actor, grant_id, _text(form, "reason"))
    sep = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{sep}done=revoke", status_code=303)
