"""Pages of data governance: 一数一源 (sources, issues) and corrections (queue, ticket, form)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from gongshu.audit import service as audit
from gongshu.auth.actor import Actor
from gongshu.catalog import service as catalog
from gongshu.catalog.queries import agency_choices
from gongshu.errors import GongshuError, PermissionDenied, ValidationFailed
from gongshu.gate import service as gate
from gongshu.gate.policy import may_read
from gongshu.governance import consistency, corrections, queries, sources
from gongshu.governance.consistency import value_text
from gongshu.governance.models import CollectionKind, DataItem, IssueStatus, KeyKind
from gongshu.governance.schemas import (
    BindingSet,
    CollectionCreate,
    CopyCreate,
    CorrectionAnswer,
    CorrectionClose,
    CorrectionCreate,
    CorrectionFilter,
    IssueFilter,
    ItemCreate,
)
from gongshu.i18n import N_, translate
from gongshu.store.versions import current_version
from gongshu.validation import parse
from gongshu.web.deps import ActorDep, CsrfDep, SessionDep
from gongshu.web.templating import render
from gongshu.workdays.service import remaining_for

router = APIRouter(include_in_schema=False)

ISSUE_STATUS_LABELS = {IssueStatus.OPEN: N_("未解决"), IssueStatus.RESOLVED: N_("已解决")}
RESOLUTION_LABELS = {
    "agreed": N_("已一致"),
    "gone": N_("记录已不存在"),
    "rebound": N_("权威数据源已更换"),
    "unbound": N_("权威数据源已解除"),
    "unlinked": N_("副本已取消关联"),
}
KIND_LABELS = {CollectionKind.BASE: N_("基础库"), CollectionKind.THEME: N_("主题库")}
ORIGIN_LABELS = {"manual": N_("人工关联"), "suggested": N_("按名称推荐")}
SKIP_LABELS = {
    "no_data": N_("尚无数据"),
    "no_key": N_("缺少关联标识字段"),
    "no_field": N_("数据中没有该字段"),
}
M_CHECKED = N_("比对完成：新发现 {opened} 处，重新出现 {reopened} 处，已解决 {resolved} 处")


def _t(labels: dict[Any, str], value: Any) -> str:
    return translate(labels.get(value, str(value)))


def _form(raw: Any, names: tuple[str, ...]) -> dict[str, str]:
    return {n: str(raw.get(n, "")).strip() for n in names}


# --- 一数一源 ---------------------------------------------------------------------------


def _sources_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    errors: dict[str, list[str]] | None = None,
    error_item: int | None = None,
    message: str = "",
    status_code: int = 200,
) -> Response:
    session.expire_all()
    collections = sources.list_collections(session, actor)
    items = sources.list_items(session, actor)
    manage = sources.may_manage(actor)
    suggestions = (
        {i.id: sources.suggest_copies(session, actor, i.id) for i in items if i.binding}
        if manage
        else {}
    )
    by_collection: dict[int, list[DataItem]] = {}
    for item in items:
        by_collection.setdefault(item.collection_id, []).append(item)
    return render(
        request,
        "governance/sources.html",
        {
            "collections": collections,
            "by_collection": by_collection,
            "counts": sources.open_issue_counts(session, [i.id for i in items]),
            "suggestions": suggestions,
            "may_manage": manage,
            "errors": errors or {},
            "error_item": error_item,
            "messages": [{"kind": "ok", "text": message}] if message else [],
            "key_kinds": [(k.value, sources.key_kind_label(k)) for k in KeyKind],
            "key_kind_label": sources.key_kind_label,
            "kind_label": lambda k: _t(KIND_LABELS, k),
            "origin_label": lambda o: _t(ORIGIN_LABELS, str(o)),
        },
        status_code=status_code,
    )


@router.get("/governance/sources", response_class=HTMLResponse)
def sources_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return _sources_page(request, session, actor)


def _after(
    request: Request, session: Session, actor: Actor, item_id: int | None, exc: ValidationFailed
) -> Response:
    return _sources_page(
        request, session, actor, errors=exc.localized_errors(), error_item=item_id, status_code=422
    )


@router.post("/governance/collections", response_class=HTMLResponse, dependencies=[CsrfDep])
async def collection_create(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    form = _form(await request.form(), ("code", "name", "description"))
    try:
        sources.create_collection(session, actor, parse(CollectionCreate, form))
    except ValidationFailed as exc:
        return _after(request, session, actor, None, exc)
    return RedirectResponse("/governance/sources", status_code=303)


@router.post("/governance/items", response_class=HTMLResponse, dependencies=[CsrfDep])
async def item_create(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    form = _form(await request.form(), ("collection_id", "name", "key_kind", "description"))
    try:
        item = sources.create_item(session, actor, parse(ItemCreate, form))
    except ValidationFailed as exc:
        return _after(request, session, actor, None, exc)
    return RedirectResponse(f"/governance/sources#item-{item.id}", status_code=303)


def _dataset_ref(form: dict[str, str]) -> dict[str, Any]:
    ref = form.pop("dataset", "")
    if ref.isdigit():
        return {**form, "dataset_id": ref}
    return {**form, "code": ref} if ref else form


@router.post(
    "/governance/items/{item_id}/source", response_class=HTMLResponse, dependencies=[CsrfDep]
)
async def item_bind(
    request: Request, session: SessionDep, actor: ActorDep, item_id: int
) -> Response:
    raw = await request.form()
    form = _form(raw, ("dataset", "field_name"))
    data = {**_dataset_ref(form), "replace": bool(raw.get("replace"))}
    try:
        sources.bind_source(session, actor, item_id, parse(BindingSet, data))
    except ValidationFailed as exc:
        return _after(request, session, actor, item_id, exc)
    return RedirectResponse(f"/governance/sources#item-{item_id}", status_code=303)


@router.post(
    "/governance/items/{item_id}/source/delete",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
)
async def item_unbind(session: SessionDep, actor: ActorDep, item_id: int) -> Response:
    sources.unbind_source(session, actor, item_id)
    return RedirectResponse(f"/governance/sources#item-{item_id}", status_code=303)


@router.post(
    "/governance/items/{item_id}/copies", response_class=HTMLResponse, dependencies=[CsrfDep]
)
async def item_link(
    request: Request, session: SessionDep, actor: ActorDep, item_id: int
) -> Response:
    form = _form(await request.form(), ("dataset", "field_name", "origin"))
    if not form["origin"]:
        form.pop("origin")
    try:
        sources.link_copy(session, actor, item_id, parse(CopyCreate, _dataset_ref(form)))
    except ValidationFailed as exc:
        return _after(request, session, actor, item_id, exc)
    return RedirectResponse(f"/governance/sources#item-{item_id}", status_code=303)


@router.post(
    "/governance/items/{item_id}/copies/{copy_id}/delete",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
)
async def item_unlink(session: SessionDep, actor: ActorDep, item_id: int, copy_id: int) -> Response:
    sources.unlink_copy(session, actor, item_id, copy_id)
    return RedirectResponse(f"/governance/sources#item-{item_id}", status_code=303)


@router.post("/governance/checks", response_class=HTMLResponse, dependencies=[CsrfDep])
async def check_now(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    form = _form(await request.form(), ("dataset_id", "item_id"))
    dataset_id = int(form["dataset_id"]) if form["dataset_id"].isdigit() else None
    item_id = int(form["item_id"]) if form["item_id"].isdigit() else None
    report = consistency.check_dataset(session, actor, dataset_id=dataset_id, item_id=item_id)
    message = translate(
        M_CHECKED, opened=report.opened, reopened=report.reopened, resolved=report.resolved
    )
    return _issues_page(request, session, actor, message=message, item_id=item_id)


# --- issues ------------------------------------------------------------------------------


def _issue_filters(request: Request) -> tuple[IssueFilter, dict[str, list[str]]]:
    raw = {k: v for k, v in request.query_params.items() if k in IssueFilter.model_fields and v}
    if request.query_params.get("status") == "all":
        raw.pop("status", None)
        raw_status: dict[str, Any] = {"status": None}
    else:
        raw_status = {}
    try:
        return parse(IssueFilter, raw).model_copy(update=raw_status), {}
    except ValidationFailed as exc:
        return IssueFilter(), exc.errors


def _issues_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    message: str = "",
    item_id: int | None = None,
) -> Response:
    filters, errors = _issue_filters(request)
    if item_id is not None:
        filters = filters.model_copy(update={"item_id": item_id})
    value = request.query_params.get("page", "")
    page = int(value) if value.isdigit() and len(value) < 7 else 1
    result = queries.list_issues(session, actor, filters, page)
    active = {
        k: (v.value if hasattr(v, "value") else v)
        for k, v in filters.model_dump().items()
        if v is not None
    }
    if filters.status is None:
        active["status"] = "all"
    query = urlencode(active)
    return render(
        request,
        "governance/issues.html",
        {
            "result": result,
            "filters": active,
            "errors": errors,
            "agencies": agency_choices(session),
            "items": sources.list_items(session, actor),
            "page_base": f"/governance/issues?{query}&" if query else "/governance/issues?",
            "status_label": lambda s: _t(ISSUE_STATUS_LABELS, s),
            "resolution_label": lambda r: _t(RESOLUTION_LABELS, r) if r else "",
            "messages": [{"kind": "ok", "text": message}] if message else [],
            "may_manage": sources.may_manage(actor),
        },
    )


@router.get("/governance/issues", response_class=HTMLResponse)
def issues_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return _issues_page(request, session, actor)


# --- corrections -------------------------------------------------------------------------


@router.get("/governance/corrections", response_class=HTMLResponse)
def corrections_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    raw = {
        k: v for k, v in request.query_params.items() if k in CorrectionFilter.model_fields and v
    }
    try:
        filters = parse(CorrectionFilter, raw)
    except ValidationFailed:
        filters = CorrectionFilter()
    entries = corrections.list_corrections(session, actor, filters)
    return render(
        request,
        "governance/corrections.html",
        {
            "entries": entries,
            "filters": filters,
            "status_label": corrections.status_label,
        },
    )


def _ticket_page(
    request: Request,
    session: Session,
    actor: Actor,
    objection_id: int,
    *,
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    objection = corrections.get_correction(session, actor, objection_id)
    deadline = corrections.open_deadline_of(session, objection)
    remaining = None
    if deadline is not None and deadline.closed_at is None:
        remaining = remaining_for(session, [deadline])[deadline.id]
    return render(
        request,
        "governance/correction.html",
        {
            "o": objection,
            "deadline": deadline,
            "remaining": remaining,
            "may_answer": corrections.may_answer(actor, objection),
            "is_open": objection.status in corrections.OPEN_OBJECTION_STATUSES,
            "version_url": corrections.version_url(objection),
            "history": audit.history(session, corrections.OBJECT_TYPE, objection.id),
            "status_label": corrections.status_label,
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get("/governance/corrections/{objection_id}", response_class=HTMLResponse)
def correction_page(
    request: Request, session: SessionDep, actor: ActorDep, objection_id: int
) -> Response:
    return _ticket_page(request, session, actor, objection_id)


@router.post(
    "/governance/corrections/{objection_id}/answer",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
)
async def correction_answer(
    request: Request, session: SessionDep, actor: ActorDep, objection_id: int
) -> Response:
    form = _form(await request.form(), ("decision", "reason"))
    try:
        data = parse(CorrectionAnswer, form)
        corrections.answer_correction(session, actor, objection_id, data)
    except ValidationFailed as exc:
        return _ticket_page(
            request, session, actor, objection_id, errors=exc.localized_errors(), status_code=422
        )
    return RedirectResponse(f"/governance/corrections/{objection_id}", status_code=303)


@router.post(
    "/governance/corrections/{objection_id}/close",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
)
async def correction_close(
    request: Request, session: SessionDep, actor: ActorDep, objection_id: int
) -> Response:
    form = _form(await request.form(), ("version",))
    try:
        data = parse(CorrectionClose, form)
        corrections.close_with_version(session, actor, objection_id, data.version)
    except ValidationFailed as exc:
        return _ticket_page(
            request, session, actor, objection_id, errors=exc.localized_errors(), status_code=422
        )
    return RedirectResponse(f"/governance/corrections/{objection_id}", status_code=303)


FORM_FIELDS = ("key_value", "field_name", "seen_value", "proposed_value", "reason", "evidence")


def _correction_form(
    request: Request,
    session: Session,
    actor: Actor,
    dataset_id: int,
    form: dict[str, str],
    *,
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    dataset = catalog.get_dataset(session, actor, dataset_id)
    if not may_read(session, actor, dataset):
        raise PermissionDenied(corrections.M_MAY_NOT_READ)
    version = current_version(session, dataset.id)
    columns = [
        (str(c["name"]), str(c.get("label") or c["name"]))
        for c in (version.schema if version else [])
        if not c.get("key")
    ]
    key_label = next(
        (
            str(c.get("label") or c["name"])
            for c in (version.schema if version else [])
            if c.get("key")
        ),
        "",
    )
    return render(
        request,
        "governance/correction_form.html",
        {
            "dataset": dataset,
            "version": version,
            "columns": columns,
            "key_label": key_label,
            "form": form,
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get("/catalog/{dataset_id}/corrections/new", response_class=HTMLResponse)
def correction_new(
    request: Request, session: SessionDep, actor: ActorDep, dataset_id: int
) -> Response:
    """The form, prefilled from the data page's link (``?key=…&field=…``) with the value the
    reader sees now (read through the gate)."""
    key = request.query_params.get("key", "").strip()[:200]
    field = request.query_params.get("field", "").strip()[:64]
    form = dict.fromkeys(FORM_FIELDS, "")
    form.update(key_value=key, field_name=field)
    dataset = catalog.get_dataset(session, actor, dataset_id)
    version = current_version(session, dataset.id) if may_read(session, actor, dataset) else None
    if version is not None and key and field in version.field_names:
        key_field = next((str(c["name"]) for c in version.schema if c.get("key")), None)
        if key_field is not None:
            try:
                rows = gate.lookup(
                    session, actor, dataset, key_field, [key], purpose="correction", version=version
                )
            except GongshuError:
                rows = []
            if rows and field in rows[0]:
                form["seen_value"] = value_text(rows[0][field])
    return _correction_form(request, session, actor, dataset_id, form)


@router.post(
    "/catalog/{dataset_id}/corrections/new", response_class=HTMLResponse, dependencies=[CsrfDep]
)
async def correction_create(
    request: Request, session: SessionDep, actor: ActorDep, dataset_id: int
) -> Response:
    form = _form(await request.form(), FORM_FIELDS)
    data: dict[str, Any] = {"dataset_id": dataset_id, **form}
    if not data["seen_value"]:
        data.pop("seen_value")
    try:
        objection = corrections.create_correction(session, actor, parse(CorrectionCreate, data))
    except ValidationFailed as exc:
        return _correction_form(
            request,
            session,
            actor,
            dataset_id,
            form,
            errors=exc.localized_errors(),
            status_code=422,
        )
    return RedirectResponse(f"/governance/corrections/{objection.id}", status_code=303)
