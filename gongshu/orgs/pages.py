"""Pages for regions and agencies: lists, the agency form, detail and history."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.auth.permissions import Perm, can, in_region_scope, require
from gongshu.errors import PermissionDenied, ValidationFailed
from gongshu.i18n import N_, translate
from gongshu.labels import label
from gongshu.orgs import queries, service
from gongshu.orgs.models import Agency, AgencyKind, RegionLevel
from gongshu.orgs.schemas import AgencyCreate, AgencyUpdate, RegionCreate
from gongshu.validation import parse
from gongshu.web.deps import ActorDep, CsrfDep, SessionDep
from gongshu.web.templating import render

router = APIRouter(include_in_schema=False)

AGENCY_FORM_FIELDS = (
    "name",
    "short_name",
    "credit_code",
    "region_id",
    "kind",
    "domain",
    "description",
    "address",
    "phone",
)

FIELD_LABELS: dict[str, str] = {
    "code": N_("区划代码"),
    "name": N_("名称"),
    "level": N_("层级"),
    "parent_id": N_("上级区划"),
    "short_name": N_("简称"),
    "credit_code": N_("统一社会信用代码"),
    "region_id": N_("所属区划"),
    "kind": N_("机构类别"),
    "domain": N_("业务领域"),
    "description": N_("职能简介"),
    "address": N_("地址"),
    "phone": N_("联系电话"),
    "chief_data_officer_id": N_("首席数据官"),
    "is_active": N_("状态"),
}

ACTION_LABELS: dict[str, str] = {
    "agency.create": N_("登记机构"),
    "agency.update": N_("修改机构信息"),
    "agency.activate": N_("恢复启用"),
    "agency.deactivate": N_("停用机构"),
    "region.create": N_("新增区划"),
    "region.update": N_("修改区划"),
}

M_NAME_CODE = N_("{name}（{code}）")
M_UNSET = N_("（未指定）")
ACTIVE_LABELS = {True: N_("在用"), False: N_("已停用")}


def _opt_int(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


def _opt_bool(value: Any) -> bool | None:
    return {"1": True, "true": True, "0": False, "false": False}.get(str(value or "").lower())


def _display(names: dict[str, dict[Any, str]], field: str, value: Any) -> str:
    """A value of an audited field as a reader sees it."""
    if value is None or value == "":
        return "—"
    if field in ("region_id", "parent_id"):
        return translate(names["region"].get(value, f"#{value}"))
    if field == "chief_data_officer_id":
        return names["user"].get(value, f"#{value}")
    if field == "is_active":
        return translate(ACTIVE_LABELS[bool(value)])
    if field in ("kind", "level"):
        return label(str(value))
    return str(value)


def _field_label(field: str) -> str:
    return translate(FIELD_LABELS.get(field, field))


def _action_label(action: str) -> str:
    return translate(ACTION_LABELS.get(action, action))


def _scoped_regions(session: Session, actor: Actor) -> list[tuple[str, str]]:
    """Regions the actor may register agencies in, as select options."""
    return [
        (str(r.id), translate(r.name))
        for r in queries.list_regions(session)
        if in_region_scope(actor, r.id)
    ]


def _kind_options() -> list[tuple[str, str]]:
    return [(k.value, label(k)) for k in AgencyKind]


def _form_values(form: Any, names: tuple[str, ...]) -> dict[str, str]:
    return {name: str(form.get(name, "")) for name in names}


# --- regions ------------------------------------------------------------------------------


def _regions_page(
    request: Request,
    session: Session,
    actor: Actor,
    form: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    regions = queries.list_regions(session)
    return render(
        request,
        "orgs/regions.html",
        {
            "regions": regions,
            "counts": queries.region_agency_counts(session),
            "can_manage": can(actor, Perm.REGION_MANAGE),
            "cities": [(str(r.id), translate(r.name)) for r in regions if r.is_city],
            "levels": [(lv.value, label(lv)) for lv in RegionLevel],
            "form": form or {"level": "district"},
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get("/regions", response_class=HTMLResponse)
def regions_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return _regions_page(request, session, actor)


@router.post("/regions", response_class=HTMLResponse, dependencies=[CsrfDep])
async def regions_create(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    require(actor, Perm.REGION_MANAGE)
    form = _form_values(await request.form(), ("code", "name", "level", "parent_id"))
    data: dict[str, Any] = {k: v for k, v in form.items() if v.strip()}
    try:
        service.create_region(session, actor, parse(RegionCreate, data))
    except ValidationFailed as exc:
        return _regions_page(request, session, actor, form, exc.localized_errors(), 422)
    return RedirectResponse("/regions", status_code=303)


# --- agency list --------------------------------------------------------------------------


@router.get("/agencies", response_class=HTMLResponse)
def agency_list(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    params = request.query_params
    kind_value = params.get("kind", "")
    kind = AgencyKind(kind_value) if kind_value in {k.value for k in AgencyKind} else None
    order = params.get("order", "name")
    filters = queries.AgencyFilter(
        q=params.get("q", "")[:100],
        region_id=_opt_int(params.get("region_id")),
        kind=kind,
        domain=params.get("domain", "")[:50],
        active=_opt_bool(params.get("active")),
        order=order if order.lstrip("-") in queries.ORDERINGS else "name",
        page=_opt_int(params.get("page")) or 1,
        per_page=min(_opt_int(params.get("per_page")) or 20, queries.MAX_PER_PAGE),
    )
    result = queries.list_agencies(session, filters)
    keep = {k: v for k, v in params.items() if k not in ("page", "lang") and v}
    base = "/agencies?" + (urlencode(keep) + "&" if keep else "")
    return render(
        request,
        "orgs/agency_list.html",
        {
            "result": result,
            "filters": filters,
            "raw": dict(params),
            "regions": queries.list_regions(session),
            "domains": queries.domains(session),
            "kinds": _kind_options(),
            "pager_base": base,
            "can_manage": can(actor, Perm.AGENCY_MANAGE),
        },
    )


# --- create and edit ----------------------------------------------------------------------


def _agency_form(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    agency: Agency | None,
    form: dict[str, str],
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    officers = queries.agency_users(session, agency.id) if agency else []
    return render(
        request,
        "orgs/agency_form.html",
        {
            "agency": agency,
            "form": form,
            "errors": errors or {},
            "regions": _scoped_regions(session, actor),
            "kinds": _kind_options(),
            "officers": [("", translate(M_UNSET))]
            + [
                (str(u.id), translate(M_NAME_CODE, name=u.display_name, code=u.username))
                for u in officers
            ],
        },
        status_code=status_code,
    )


@router.get("/agencies/new", response_class=HTMLResponse)
def agency_new(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    require(actor, Perm.AGENCY_MANAGE)
    form = {"kind": AgencyKind.GOVERNMENT.value}
    if actor.region_id is not None:
        form["region_id"] = str(actor.region_id)
    return _agency_form(request, session, actor, agency=None, form=form)


@router.post("/agencies/new", response_class=HTMLResponse, dependencies=[CsrfDep])
async def agency_create(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    require(actor, Perm.AGENCY_MANAGE)
    form = _form_values(await request.form(), AGENCY_FORM_FIELDS)
    data: dict[str, Any] = {
        k: v for k, v in form.items() if v.strip() or k not in ("region_id", "kind")
    }
    try:
        agency = service.create_agency(session, actor, parse(AgencyCreate, data))
    except ValidationFailed as exc:
        return _agency_form(
            request,
            session,
            actor,
            agency=None,
            form=form,
            errors=exc.localized_errors(),
            status_code=422,
        )
    return RedirectResponse(f"/agencies/{agency.id}", status_code=303)


def _require_edit(actor: Actor, agency: Agency) -> None:
    require(actor, Perm.AGENCY_MANAGE)
    if not in_region_scope(actor, agency.region_id):
        raise PermissionDenied(service.M_OUT_OF_SCOPE)


@router.get("/agencies/{agency_id}/edit", response_class=HTMLResponse)
def agency_edit(request: Request, session: SessionDep, actor: ActorDep, agency_id: int) -> Response:
    agency = queries.get_agency(session, agency_id)
    _require_edit(actor, agency)
    form = {name: str(getattr(agency, name)) for name in AGENCY_FORM_FIELDS}
    form["chief_data_officer_id"] = str(agency.chief_data_officer_id or "")
    return _agency_form(request, session, actor, agency=agency, form=form)


@router.post("/agencies/{agency_id}/edit", response_class=HTMLResponse, dependencies=[CsrfDep])
async def agency_update(
    request: Request, session: SessionDep, actor: ActorDep, agency_id: int
) -> Response:
    agency = queries.get_agency(session, agency_id)
    _require_edit(actor, agency)
    form = _form_values(await request.form(), (*AGENCY_FORM_FIELDS, "chief_data_officer_id"))
    data: dict[str, Any] = dict(form)
    data["chief_data_officer_id"] = form["chief_data_officer_id"].strip() or None
    try:
        service.update_agency(session, actor, agency.id, parse(AgencyUpdate, data))
    except ValidationFailed as exc:
        agency = queries.get_agency(session, agency_id)
        return _agency_form(
            request,
            session,
            actor,
            agency=agency,
            form=form,
            errors=exc.localized_errors(),
            status_code=422,
        )
    return RedirectResponse(f"/agencies/{agency.id}", status_code=303)


@router.post("/agencies/{agency_id}/active", response_class=HTMLResponse, dependencies=[CsrfDep])
async def agency_set_active(
    request: Request, session: SessionDep, actor: ActorDep, agency_id: int
) -> Response:
    form = await request.form()
    service.set_active(session, actor, agency_id, _opt_bool(form.get("active")) is True)
    return RedirectResponse(f"/agencies/{agency_id}", status_code=303)


# --- detail and history -------------------------------------------------------------------


@router.get("/agencies/{agency_id}", response_class=HTMLResponse)
def agency_detail(
    request: Request, session: SessionDep, actor: ActorDep, agency_id: int
) -> Response:
    agency = queries.get_agency(session, agency_id)
    tab = "history" if request.query_params.get("tab") == "history" else "info"
    context: dict[str, Any] = {
        "agency": agency,
        "tab": tab,
        "can_edit": can(actor, Perm.AGENCY_MANAGE) and in_region_scope(actor, agency.region_id),
        "counts": queries.catalog_counts(session, agency.id),
        "officers": queries.data_officers(session, agency.id),
    }
    if tab == "history":
        items = queries.agency_history(session, agency.id, newest_first=True)
        names = queries.history_names(session, items)
        context.update(
            history=items,
            show=lambda field, value: _display(names, field, value),
            field_label=_field_label,
            action_label=_action_label,
        )
    return render(request, "orgs/agency_detail.html", context)
