"""Pages of the information-system registry: list with flags, form, detail with links."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.audit import service as audit
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.auth.permissions import in_region_scope
from gongshu.catalog.queries import agency_choices, is_platform
from gongshu.errors import PermissionDenied, ValidationFailed
from gongshu.i18n import translate
from gongshu.orgs.models import Agency
from gongshu.orgs.queries import list_regions
from gongshu.systems import queries, service
from gongshu.systems.models import InformationSystem, SystemStatus
from gongshu.systems.schemas import SystemCreate, SystemFilter, SystemLink, SystemUpdate
from gongshu.validation import parse
from gongshu.web.deps import ActorDep, CsrfDep, SessionDep
from gongshu.web.templating import render

router = APIRouter(include_in_schema=False)

FORM_FIELDS = (
    "name",
    "agency_id",
    "status",
    "project_name",
    "project_number",
    "description",
    "contact",
    "contact_phone",
)


def _status_options() -> list[tuple[str, str]]:
    return [(s.value, queries.status_label(s)) for s in SystemStatus]


def _filters_from(request: Request) -> tuple[SystemFilter, dict[str, list[str]]]:
    raw: dict[str, Any] = {
        k: v for k, v in request.query_params.items() if k in SystemFilter.model_fields
    }
    try:
        return parse(SystemFilter, raw), {}
    except ValidationFailed as exc:
        return SystemFilter(), exc.errors


def _page_number(request: Request) -> int:
    value = request.query_params.get("page", "")
    return int(value) if value.isdigit() and len(value) < 7 else 1


def _manageable_agencies(session: Session, actor: Actor) -> list[tuple[int, str]]:
    """Agencies the actor may register systems for, as select options."""
    if is_platform(actor) or actor.has(Role.BUREAU_ADMIN):
        agencies = session.scalars(
            select(Agency).where(Agency.is_active.is_(True)).order_by(Agency.name)
        )
        return [
            (a.id, a.name)
            for a in agencies
            if is_platform(actor) or in_region_scope(actor, a.region_id)
        ]
    if actor.agency_id is not None:
        agency = session.get(Agency, actor.agency_id)
        return [(agency.id, agency.name)] if agency and queries.may_manage(actor, agency) else []
    return []


@router.get("/systems", response_class=HTMLResponse)
def system_list(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    filters, errors = _filters_from(request)
    result = queries.list_systems(session, actor, filters, _page_number(request))
    active = filters.active()
    query = urlencode(active)
    return render(
        request,
        "systems/list.html",
        {
            "result": result,
            "filters": active,
            "errors": errors,
            "uncataloged_total": queries.count_uncataloged(session, actor, filters),
            "page_base": f"/systems?{query}&" if query else "/systems?",
            "agencies": agency_choices(session),
            "regions": [(r.id, translate(r.name)) for r in list_regions(session)],
            "statuses": _status_options(),
            "status_label": queries.status_label,
            "may_create": bool(_manageable_agencies(session, actor)),
        },
    )


def _form_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    system: InformationSystem | None,
    form: dict[str, str],
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "systems/form.html",
        {
            "system": system,
            "form": form,
            "errors": errors or {},
            "agencies": [(str(i), n) for i, n in _manageable_agencies(session, actor)],
            "statuses": _status_options(),
        },
        status_code=status_code,
    )


@router.get("/systems/new", response_class=HTMLResponse)
def system_new(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    form = {"status": SystemStatus.RUNNING.value, "agency_id": str(actor.agency_id or "")}
    return _form_page(request, session, actor, system=None, form=form)


@router.post("/systems/new", response_class=HTMLResponse, dependencies=[CsrfDep])
async def system_create(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    raw = await request.form()
    form = {name: str(raw.get(name, "")) for name in FORM_FIELDS}
    data = {k: v for k, v in form.items() if v.strip() or k not in ("agency_id", "status")}
    try:
        system = service.create_system(session, actor, parse(SystemCreate, data))
    except ValidationFailed as exc:
        return _form_page(
            request,
            session,
            actor,
            system=None,
            form=form,
            errors=exc.localized_errors(),
            status_code=422,
        )
    return RedirectResponse(f"/systems/{system.id}", status_code=303)


@router.get("/systems/{system_id}", response_class=HTMLResponse)
def system_detail(
    request: Request, session: SessionDep, actor: ActorDep, system_id: int
) -> Response:
    system = queries.get_system(session, actor, system_id)
    return _detail_page(request, session, actor, system)


def _detail_page(
    request: Request,
    session: Session,
    actor: Actor,
    system: InformationSystem,
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    datasets = queries.linked_datasets(session, actor, system.id)
    count = queries.link_count(session, system.id)
    can_manage = queries.may_manage(actor, system.agency)
    return render(
        request,
        "systems/detail.html",
        {
            "system": system,
            "row": queries.SystemRow(system, count),
            "datasets": datasets,
            "can_manage": can_manage,
            "linkable": queries.linkable_datasets(session, actor, system) if can_manage else [],
            "history": audit.history(session, "information_system", system.id),
            "status_label": queries.status_label,
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get("/systems/{system_id}/edit", response_class=HTMLResponse)
def system_edit(request: Request, session: SessionDep, actor: ActorDep, system_id: int) -> Response:
    system = queries.get_system(session, actor, system_id)
    if not queries.may_manage(actor, system.agency):
        raise PermissionDenied(service.NOT_ALLOWED)
    form = {name: str(getattr(system, name) or "") for name in FORM_FIELDS}
    form["status"] = system.status.value
    return _form_page(request, session, actor, system=system, form=form)


@router.post("/systems/{system_id}/edit", response_class=HTMLResponse, dependencies=[CsrfDep])
async def system_update(
    request: Request, session: SessionDep, actor: ActorDep, system_id: int
) -> Response:
    system = queries.get_system(session, actor, system_id)
    raw = await request.form()
    form = {name: str(raw.get(name, "")) for name in FORM_FIELDS if name != "agency_id"}
    try:
        service.update_system(session, actor, system.id, parse(SystemUpdate, form))
    except ValidationFailed as exc:
        form["agency_id"] = str(system.agency_id)
        return _form_page(
            request,
            session,
            actor,
            system=system,
            form=form,
            errors=exc.localized_errors(),
            status_code=422,
        )
    return RedirectResponse(f"/systems/{system.id}", status_code=303)


@router.post("/systems/{system_id}/links", response_class=HTMLResponse, dependencies=[CsrfDep])
async def system_link(
    request: Request, session: SessionDep, actor: ActorDep, system_id: int
) -> Response:
    raw = await request.form()
    dataset_id = str(raw.get("dataset_id", "")).strip()
    code = str(raw.get("code", "")).strip()
    data: dict[str, Any] = {"dataset_id": dataset_id} if dataset_id.isdigit() else {}
    if code and not data:
        data["code"] = code
    try:
        service.link_dataset(session, actor, system_id, parse(SystemLink, data))
    except ValidationFailed as exc:
        system = queries.get_system(session, actor, system_id)
        return _detail_page(request, session, actor, system, exc.localized_errors(), 422)
    return RedirectResponse(f"/systems/{system_id}", status_code=303)


@router.post(
    "/systems/{system_id}/links/{dataset_id}/delete",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
)
async def system_unlink(
    session: SessionDep, actor: ActorDep, system_id: int, dataset_id: int
) -> Response:
    service.unlink_dataset(session, actor, system_id, dataset_id)
    return RedirectResponse(f"/systems/{system_id}", status_code=303)
