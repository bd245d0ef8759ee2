"""Pages of public accounts and conditional opening: ``/register``, ``/dataset/{slug}/apply``,
``/applications`` and ``/applications/{id}`` (details, agreement, decision, usage reports,
revocation). Public users see them in the portal's frame, civil servants in the
platform's."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from gongshu.auth import service as auth_service
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.errors import Conflict, NotFound, ValidationFailed
from gongshu.i18n import N_, translate
from gongshu.opening import accounts, agreement, queries, service
from gongshu.opening.models import AccountKind, ApplicationStatus, OpenApplication, ReportStatus
from gongshu.opening.quota import calls_by_key
from gongshu.opening.schemas import (
    AgreementAccept,
    ApplicationIn,
    DecisionIn,
    RegistrationIn,
    UsageReportIn,
)
from gongshu.orgs.models import Agency
from gongshu.portal import naming
from gongshu.portal.openness import PUBLIC_USER_ID
from gongshu.validation import parse
from gongshu.web.deps import (
    SESSION_COOKIE,
    ActorDep,
    CsrfDep,
    OptionalActorDep,
    SessionDep,
    SettingsDep,
)
from gongshu.web.templating import render, render_hook
from gongshu.workdays.calendar import local_today

router = APIRouter(include_in_schema=False)

PORTAL_BASE = "portal/base.html"
PLATFORM_BASE = "base.html"

FLASH: dict[str, str] = {
    "created": N_("申请已保存，请阅读并确认开放协议后提交"),
    "accepted": N_("已确认协议并提交申请，请等待数据提供单位答复"),
    "approve": N_("已同意该开放申请"),
    "refuse": N_("已答复不予同意"),
    "withdrawn": N_("申请已撤回"),
    "revoked": N_("开放授权已终止"),
    "reported": N_("利用情况已报送"),
    "registered": N_("注册成功，欢迎使用公共数据开放网"),
}


def is_portal_user(actor: Actor | None) -> bool:
    """A signed-in member of the public (role ``public`` only, no agency)."""
    return (
        actor is not None
        and actor.user_id not in (None, PUBLIC_USER_ID)
        and actor.agency_id is None
        and actor.roles == frozenset({Role.PUBLIC})
    )


@render_hook
def _portal_frame(request: Request, context: dict[str, Any]) -> None:
    """Public users see shared pages (the account page) in the portal's frame."""
    actor = context.get("actor")
    portal = is_portal_user(actor)
    context.setdefault("portal_user", portal)
    session = getattr(request.state, "db", None)
    # Only the account page lists keys, and it renders inside its request's transaction;
    # an error page renders after the session has ended, and must not start another.
    if (
        portal
        and isinstance(actor, Actor)
        and session is not None
        and "api_keys" in context
        and session.in_transaction()
    ):
        context.setdefault("key_calls", key_usage(session, actor))


async def _form(request: Request) -> FormData:
    return await request.form()


FormDep = Annotated[FormData, Depends(_form)]


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _flash(msg: str | None) -> list[dict[str, str]]:
    if msg and msg in FLASH:
        return [{"kind": "ok", "text": translate(FLASH[msg])}]
    return []


def _base(actor: Actor | None) -> str:
    return PORTAL_BASE if actor is None or is_portal_user(actor) else PLATFORM_BASE


def _error_page(
    exc: ValidationFailed | Conflict,
) -> dict[str, Any]:
    errors = exc.localized_errors() if isinstance(exc, ValidationFailed) else {}
    return {"errors": errors, "messages": [{"kind": "error", "text": exc.localized()}]}


# --- registration ---------------------------------------------------------------------------


def _register_page(
    request: Request, form: dict[str, Any], status_code: int = 200, **extra: Any
) -> Response:
    context: dict[str, Any] = {"form": form, "errors": {}, "kinds": list(AccountKind)}
    context.update(extra)
    return render(request, "opening/register.html", context, status_code=status_code)


@router.get("/register", response_class=HTMLResponse)
def register_form(request: Request, actor: OptionalActorDep) -> Response:
    if actor is not None:
        return _see_other("/account")
    return _register_page(request, {"kind": AccountKind.INDIVIDUAL.value})


@router.post("/register", response_class=HTMLResponse)
def register(
    request: Request, session: SessionDep, settings: SettingsDep, form: FormDep
) -> Response:
    values: dict[str, Any] = {
        k: str(form.get(k, "")).strip()
        for k in ("kind", "username", "real_name", "org_name", "credit_code", "email", "phone")
    }
    values["password"] = str(form.get("password", ""))
    shown = {k: v for k, v in values.items() if k != "password"}
    try:
        if values["password"] != str(form.get("confirm_password", "")):
            raise ValidationFailed.single("confirm_password", translate(N_("两次输入的密码不一致")))
        if form.get("agree") != "1":
            raise ValidationFailed.single("agree", translate(N_("请阅读并同意用户服务条款")))
        user = accounts.register(
            session,
            parse(RegistrationIn, values),
            ip=request.client.host if request.client else "",
        )
    except ValidationFailed as exc:
        return _register_page(request, shown, 422, **_error_page(exc))
    # Signed in at once: the new user lands on the portal.
    token, _login = auth_service.start_session(
        session,
        user,
        request.client.host if request.client else "",
        request.headers.get("user-agent", ""),
    )
    response = _see_other("/?msg=registered")
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.base_url.startswith("https://"),
        path="/",
    )
    return response


# --- applying ---------------------------------------------------------------------------------


def _entry(session: Session, slug: str) -> Any:
    dataset = naming.find_public(session, slug)
    if dataset is None:
        raise NotFound(N_("数据集不存在或未开放"))
    return dataset


def _apply_page(
    request: Request,
    session: Session,
    actor: Actor,
    dataset: Any,
    form: dict[str, Any],
    status_code: int = 200,
    **extra: Any,
) -> Response:
    context: dict[str, Any] = {
        "dataset": dataset,
        "slug": naming.dataset_slug(dataset.code),
        "fields": queries.entry_fields(dataset),
        "form": form,
        "errors": {},
        "may_apply": service.may_apply(actor, dataset),
        "base_template": _base(actor),
        "min_until": (local_today() + dt.timedelta(days=1)).isoformat(),
    }
    context.update(extra)
    return render(request, "opening/apply.html", context, status_code=status_code)


@router.get("/dataset/{slug}/apply", response_class=HTMLResponse)
def apply_form(
    request: Request, session: SessionDep, actor: OptionalActorDep, slug: str
) -> Response:
    dataset = _entry(session, slug)
    if actor is None:
        return _see_other("/login?" + urlencode({"next": f"/dataset/{slug}/apply"}))
    return _apply_page(request, session, actor, dataset, {"fields": []})


@router.post("/dataset/{slug}/apply", response_class=HTMLResponse, dependencies=[CsrfDep])
def apply(
    request: Request, session: SessionDep, actor: ActorDep, form: FormDep, slug: str
) -> Response:
    dataset = _entry(session, slug)
    values: dict[str, Any] = {
        "dataset_id": dataset.id,
        "scenario": str(form.get("scenario", "")),
        "purpose": str(form.get("purpose", "")),
        "fields": [str(f) for f in form.getlist("fields")],
        "security_measures": str(form.get("security_measures", "")),
        "requested_until": str(form.get("requested_until", "")).strip() or None,
        "reporting_committed": form.get("reporting_committed") == "1",
    }
    try:
        created = service.apply(session, actor, parse(ApplicationIn, values))
    except (ValidationFailed, Conflict) as exc:
        return _apply_page(request, session, actor, dataset, values, 422, **_error_page(exc))
    return _see_other(f"/applications/{created.id}?msg=created#agreement")


# --- lists and details ------------------------------------------------------------------------


@router.get("/applications", response_class=HTMLResponse)
def applications(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    status: str = "",
    agency_id: str = "",
    page: int = 1,
) -> Response:
    wanted = ApplicationStatus(status) if status in set(ApplicationStatus) else None
    agency = int(agency_id) if agency_id.isdigit() else None
    portal = is_portal_user(actor)
    result = queries.list_applications(
        session, actor, status=wanted, agency_id=agency, mine=portal, page=page, per_page=50
    )
    filters = {"status": status, "agency_id": agency_id}
    base = "/applications?" + urlencode({k: v for k, v in filters.items() if v})
    agencies: list[Agency] = []
    if queries.is_bureau(actor):
        agencies = list(
            session.scalars(
                select(Agency)
                .where(Agency.id.in_(select(OpenApplication.provider_agency_id).distinct()))
                .order_by(Agency.name)
            )
        )
    return render(
        request,
        "opening/applications.html",
        {
            "result": result,
            "views": queries.deadline_views(session, result.items),
            "filters": filters,
            "statuses": [(s.value, queries.status_label(s)) for s in ApplicationStatus],
            "agencies": agencies,
            "pager_base": base if base.endswith("?") else base + "&",
            "pages": max(1, -(-result.total // result.per_page)),
            "portal": portal,
            "base_template": _base(actor),
            "status_label": queries.status_label,
            "slug": naming.dataset_slug,
        },
    )


def _detail(
    request: Request,
    session: Session,
    actor: Actor,
    application_id: int,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    application = queries.get_application(session, actor, application_id)
    text = service.agreement_text(session, application)
    views = queries.deadline_views(session, [application])
    labels = dict(queries.entry_fields(application.dataset))
    is_applicant = application.applicant_id == actor.user_id
    context: dict[str, Any] = {
        "a": application,
        "account": accounts.account_of(session, application.applicant_id),
        "agreement_text": text,
        "agreement_sha256": agreement.digest(text),
        "view": views.get(application.id),
        "labels": labels,
        "status_label": queries.status_label(application.status),
        "is_applicant": is_applicant,
        "may_accept": is_applicant and application.status is ApplicationStatus.DRAFT,
        "may_withdraw": is_applicant
        and application.status in (ApplicationStatus.DRAFT, ApplicationStatus.PENDING),
        "may_decide": service.may_decide(actor, application)
        and application.status is ApplicationStatus.PENDING,
        "may_revoke": service.may_revoke(actor, application)
        and application.status is ApplicationStatus.ACTIVE,
        "may_report": is_applicant
        and application.status
        in (ApplicationStatus.ACTIVE, ApplicationStatus.EXPIRED, ApplicationStatus.REVOKED)
        and any(r.status is not ReportStatus.SUBMITTED for r in application.reports),
        "slug": naming.dataset_slug(application.dataset.code),
        "base_template": _base(actor),
        "errors": {},
        "form": {},
    }
    context.update(extra)
    return render(request, "opening/application.html", context, status_code=status_code)


@router.get("/applications/{application_id}", response_class=HTMLResponse)
def application_detail(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    application_id: int,
    msg: str | None = None,
) -> Response:
    return _detail(request, session, actor, application_id, messages=_flash(msg))


def _act(
    request: Request,
    session: Session,
    actor: Actor,
    application_id: int,
    done: str,
    action: Any,
    form: FormData,
) -> Response:
    try:
        action()
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        return _detail(
            request,
            session,
            actor,
            application_id,
            422 if isinstance(exc, ValidationFailed) else 409,
            form=dict(form),
            **_error_page(exc),
        )
    return _see_other(f"/applications/{application_id}?msg={done}")


@router.post(
    "/applications/{application_id}/accept", response_class=HTMLResponse, dependencies=[CsrfDep]
)
def accept(
    request: Request, session: SessionDep, actor: ActorDep, form: FormDep, application_id: int
) -> Response:
    def run() -> None:
        if form.get("agree") != "1":
            raise ValidationFailed.single("agree", translate(N_("请勾选同意开放协议")))
        data = parse(AgreementAccept, {"agreement_sha256": str(form.get("agreement_sha256", ""))})
        service.accept_agreement(session, actor, application_id, data)

    return _act(request, session, actor, application_id, "accepted", run, form)


@router.post(
    "/applications/{application_id}/decide", response_class=HTMLResponse, dependencies=[CsrfDep]
)
def decide(
    request: Request, session: SessionDep, actor: ActorDep, form: FormDep, application_id: int
) -> Response:
    outcome = str(form.get("outcome", ""))

    def run() -> None:
        data = parse(
            DecisionIn,
            {
                "outcome": outcome,
                "reason": str(form.get("reason", "")),
                "fields": [str(f) for f in form.getlist("fields")],
                "until": str(form.get("until", "")).strip() or None,
            },
        )
        service.decide(session, actor, application_id, data)

    return _act(
        request, session, actor, application_id, outcome if outcome else "approve", run, form
    )


@router.post("/applications/{application_id}/withdraw", dependencies=[CsrfDep])
def withdraw(session: SessionDep, actor: ActorDep, application_id: int) -> Response:
    service.withdraw(session, actor, application_id)
    return _see_other(f"/applications/{application_id}?msg=withdrawn")


@router.post(
    "/applications/{application_id}/revoke", response_class=HTMLResponse, dependencies=[CsrfDep]
)
def revoke(
    request: Request, session: SessionDep, actor: ActorDep, form: FormDep, application_id: int
) -> Response:
    return _act(
        request,
        session,
        actor,
        application_id,
        "revoked",
        lambda: service.revoke(session, actor, application_id, str(form.get("reason", ""))),
        form,
    )


@router.post(
    "/applications/{application_id}/reports", response_class=HTMLResponse, dependencies=[CsrfDep]
)
def report(
    request: Request, session: SessionDep, actor: ActorDep, form: FormDep, application_id: int
) -> Response:
    def run() -> None:
        data = parse(UsageReportIn, {"content": str(form.get("content", ""))})
        service.submit_report(session, actor, application_id, data)

    return _act(request, session, actor, application_id, "reported", run, form)


def key_usage(session: Session, actor: Actor) -> dict[int, int]:
    """Today's calls of the actor's keys (the account page shows them beside the quota)."""
    keys = auth_service.list_api_keys(session, actor, include_revoked=False)
    return calls_by_key(session, [k.id for k in keys])


__all__ = ["is_portal_user", "key_usage", "router"]
