"""Pages of verification: the services (list, configure) and a check by hand."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.errors import ValidationFailed
from gongshu.validation import parse
from gongshu.verification import service
from gongshu.verification.models import VerificationService
from gongshu.verification.schemas import CheckIn, ServiceCreate, ServiceUpdate
from gongshu.web.deps import ActorDep, CsrfDep, SessionDep, SettingsDep
from gongshu.web.templating import render

router = APIRouter(include_in_schema=False)

FORM_FIELDS = (
    "code",
    "name",
    "description",
    "dataset_code",
    "key_field",
    "fields",
    "valid_until_field",
    "status_field",
    "status_values",
)
FLAGS = ("reveal_existence", "open_to_all", "active")


_SEPARATORS = re.compile(r"[,\uff0c\u3001\s]+")  # ASCII comma, full-width comma, 、, spaces


def _split(text: str) -> list[str]:
    return [p for p in _SEPARATORS.split(text) if p]


def _form_values(raw: Any) -> dict[str, Any]:
    values: dict[str, Any] = {n: str(raw.get(n, "")).strip() for n in FORM_FIELDS}
    for flag in FLAGS:
        values[flag] = raw.get(flag) in ("1", "on", "true")
    return values


def _as_data(values: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in values.items() if k not in ("fields", "status_values")}
    data["fields"] = _split(values["fields"])
    data["status_values"] = _split(values["status_values"])
    if not data.get("dataset_code"):
        data.pop("dataset_code", None)
    return data


def _values_of(s: VerificationService) -> dict[str, Any]:
    return {
        "code": s.code,
        "name": s.name,
        "description": s.description,
        "dataset_code": s.dataset.code,
        "key_field": s.key_field,
        "fields": ", ".join(str(f) for f in s.fields),
        "valid_until_field": s.valid_until_field or "",
        "status_field": s.status_field or "",
        "status_values": ", ".join(str(v) for v in s.status_values),
        "reveal_existence": s.reveal_existence,
        "open_to_all": s.open_to_all,
        "active": s.active,
    }


def _list_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "verification/list.html",
        {
            "services": service.list_services(session, actor),
            "may_manage": service.may_manage(actor),
            "values": values or {"active": True},
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get("/verification", response_class=HTMLResponse)
def services_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return _list_page(request, session, actor)


@router.post("/verification", response_class=HTMLResponse, dependencies=[CsrfDep])
async def service_create(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    values = _form_values(await request.form())
    try:
        created = service.create_service(session, actor, parse(ServiceCreate, _as_data(values)))
    except ValidationFailed as exc:
        errors = exc.localized_errors() or {"code": [exc.localized()]}
        return _list_page(request, session, actor, values=values, errors=errors, status_code=422)
    return RedirectResponse(f"/verification/{created.code}", status_code=303)


def _detail_page(
    request: Request,
    session: Session,
    actor: Actor,
    svc: VerificationService,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
    check: dict[str, str] | None = None,
    answer: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    labels = {f.name: f.label for f in svc.dataset.fields}
    return render(
        request,
        "verification/detail.html",
        {
            "svc": svc,
            "labels": labels,
            "may_manage": service.may_manage(actor, svc.dataset),
            "may_use": service.may_use(session, actor, svc),
            "values": values or _values_of(svc),
            "errors": errors or {},
            "check": check or {},
            "answer": answer,
            "saved": request.query_params.get("saved") == "1",
        },
        status_code=status_code,
    )


@router.get("/verification/{code}", response_class=HTMLResponse)
def service_page(request: Request, session: SessionDep, actor: ActorDep, code: str) -> Response:
    return _detail_page(request, session, actor, service.get_service(session, actor, code))


@router.post("/verification/{code}/edit", response_class=HTMLResponse, dependencies=[CsrfDep])
async def service_edit(
    request: Request, session: SessionDep, actor: ActorDep, code: str
) -> Response:
    svc = service.get_service(session, actor, code)
    values = _form_values(await request.form())
    try:
        service.update_service(session, actor, code, parse(ServiceUpdate, _as_data(values)))
    except ValidationFailed as exc:
        session.rollback()
        return _detail_page(
            request,
            session,
            actor,
            svc,
            values={**values, "code": svc.code, "dataset_code": svc.dataset.code},
            errors=exc.localized_errors(),
            status_code=422,
        )
    return RedirectResponse(f"/verification/{code}?saved=1", status_code=303)


@router.post("/verification/{code}/check", response_class=HTMLResponse, dependencies=[CsrfDep])
async def service_check(
    request: Request, session: SessionDep, actor: ActorDep, settings: SettingsDep, code: str
) -> Response:
    svc = service.get_service(session, actor, code)
    raw = await request.form()
    check = {"key": str(raw.get("key", "")).strip(), "purpose": str(raw.get("purpose", ""))}
    claims: dict[str, str] = {}
    for name in svc.fields:
        value = str(raw.get(f"claim_{name}", "")).strip()
        check[f"claim_{name}"] = value
        if value:
            claims[str(name)] = value
    try:
        item = parse(CheckIn, {"key": check["key"], "claims": claims})
        _svc, result = service.check(
            session, actor, code, [item], purpose=check["purpose"], settings=settings
        )
    except ValidationFailed as exc:
        errors = exc.localized_errors() or {"key": [exc.localized()]}
        return _detail_page(
            request, session, actor, svc, check=check, errors=errors, status_code=422
        )
    return _detail_page(
        request, session, actor, svc, check=check, answer=result.outcomes[0].as_dict()
    )
