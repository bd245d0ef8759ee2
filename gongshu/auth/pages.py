"""Pages of the auth area: sign-in, one's own account, and account management."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import segno
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from gongshu.auth import queries, service
from gongshu.auth.actor import Actor
from gongshu.auth.enrollment import TOTP_ENROLL_PATH
from gongshu.auth.models import Role, User
from gongshu.auth.permissions import BUREAU_GRANTABLE, Perm, can
from gongshu.auth.schemas import ApiKeyCreate, PasswordChange, UserCreate, UserUpdate
from gongshu.db import utcnow
from gongshu.errors import AuthenticationFailed, PermissionDenied, ValidationFailed
from gongshu.i18n import N_, translate
from gongshu.orgs.models import Agency, Region
from gongshu.validation import parse
from gongshu.web.deps import (
    SESSION_COOKIE,
    ActorDep,
    CsrfDep,
    OptionalActorDep,
    SessionDep,
    SettingsDep,
)
from gongshu.web.templating import render

router = APIRouter(include_in_schema=False)

FLASH: dict[str, str] = {
    "password": N_("密码已修改"),
    "totp_on": N_("动态验证码已启用"),
    "totp_off": N_("动态验证码已停用"),
    "key_revoked": N_("API 密钥已吊销"),
    "created": N_("账户已创建"),
    "saved": N_("已保存"),
    "roles": N_("角色已更新"),
    "unlocked": N_("账户已解锁"),
    "totp_reset": N_("动态验证码已重置，用户下次登录时可重新设置"),
    "password_reset": N_("密码已重置，该用户的登录会话均已结束"),
}

ACTIONS: dict[str, str] = {
    "user.create": N_("创建账户"),
    "user.update": N_("修改账户"),
    "user.set_roles": N_("调整角色"),
    "user.password_change": N_("修改密码"),
    "user.password_reset": N_("重置密码"),
    "user.unlock": N_("解除锁定"),
    "user.totp_begin": N_("开始设置动态验证码"),
    "user.totp_enable": N_("启用动态验证码"),
    "user.totp_disable": N_("停用动态验证码"),
    "user.totp_reset": N_("重置动态验证码"),
    "auth.login": N_("登录"),
    "auth.login_failed": N_("登录失败"),
    "auth.locked": N_("账户锁定"),
    "auth.logout": N_("退出登录"),
}


async def _form(request: Request) -> FormData:
    return await request.form()


FormDep = Annotated[FormData, Depends(_form)]


def _flash(msg: str | None) -> list[dict[str, str]]:
    if msg and msg in FLASH:
        return [{"kind": "ok", "text": translate(FLASH[msg])}]
    return []


def _safe_next(target: str | None) -> str:
    """Only local paths: never another site (``//host``, ``/\\host``, ``https://…``)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if any(c in target for c in "\r\n\\"):
        return "/"
    return target


def _ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _opt_int(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# --- sign in and out -------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, actor: OptionalActorDep, next: str = "/") -> Response:
    if actor is not None:
        return _see_other(_safe_next(next))
    return render(request, "auth/login.html", {"next": _safe_next(next), "form": {}})


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, session: SessionDep, settings: SettingsDep, form: FormDep) -> Response:
    username = str(form.get("username", "")).strip()
    password = str(form.get("password", ""))
    totp = str(form.get("totp", "")).strip()
    target = _safe_next(str(form.get("next", "/")))
    context: dict[str, Any] = {"next": target, "form": {"username": username}}
    if not username or not password:
        errors: dict[str, list[str]] = {}
        if not username:
            errors["username"] = [translate(N_("请输入用户名"))]
        if not password:
            errors["password"] = [translate(N_("请输入密码"))]
        context.update(error=translate(N_("请输入用户名和密码")), errors=errors)
        return render(request, "auth/login.html", context, status_code=422)
    try:
        user = service.authenticate(
            session, settings, username, password, totp or None, _ip(request)
        )
    except AuthenticationFailed as exc:
        context.update(
            error=exc.localized(),
            need_totp=exc.message in (service.MSG_TOTP_MISSING, service.MSG_TOTP_WRONG),
        )
        return render(request, "auth/login.html", context, status_code=401)
    token, _login = service.start_session(
        session, user, _ip(request), request.headers.get("user-agent", "")
    )
    actor = service.actor_for_user(user)
    response = _see_other(TOTP_ENROLL_PATH if actor.needs_totp_enrollment else target)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.base_url.startswith("https://"),
        path="/",
    )
    return response


@router.post("/logout", dependencies=[CsrfDep])
def logout(request: Request, session: SessionDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        service.end_session(session, token)
    response = _see_other("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- one's own account ----------------------------------------------------------------------


def _account_context(session: Session, actor: Actor) -> dict[str, Any]:
    user = service.get_user(session, actor.user_id or 0)
    agencies: list[Agency] = []
    if actor.has(Role.AGENCY_OFFICER) and user.agency is not None:
        agencies = [user.agency]
    return {
        "user": user,
        "api_keys": service.list_api_keys(session, actor),
        "key_agencies": agencies,
        "errors": {},
        "key_form": {},
    }


def _account(
    request: Request,
    session: Session,
    actor: Actor,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    context = _account_context(session, actor)
    context.update(extra)
    return render(request, "auth/account.html", context, status_code=status_code)


@router.get("/account", response_class=HTMLResponse)
def account(
    request: Request, session: SessionDep, actor: ActorDep, msg: str | None = None
) -> Response:
    return _account(request, session, actor, messages=_flash(msg))


@router.post("/account/password", response_class=HTMLResponse, dependencies=[CsrfDep])
def account_password(
    request: Request, session: SessionDep, actor: ActorDep, form: FormDep
) -> Response:
    try:
        if str(form.get("new_password", "")) != str(form.get("confirm_password", "")):
            raise ValidationFailed.single(
                "confirm_password", translate(N_("两次输入的新密码不一致"))
            )
        data = parse(PasswordChange, dict(form))
        service.change_password(session, actor, data)
    except ValidationFailed as exc:
        return _account(
            request,
            session,
            actor,
            status_code=422,
            errors=exc.localized_errors(),
            messages=[{"kind": "error", "text": exc.localized()}],
        )
    return _see_other("/account?msg=password")


@router.post("/account/api-keys", response_class=HTMLResponse, dependencies=[CsrfDep])
def account_key_create(
    request: Request, session: SessionDep, actor: ActorDep, form: FormDep
) -> Response:
    values = {
        "name": str(form.get("name", "")).strip(),
        "owner_agency_id": _opt_int(form.get("owner_agency_id")),
        "expires_at": (str(form.get("expires_on", "")).strip() or None),
    }
    if values["expires_at"]:
        values["expires_at"] = f"{values['expires_at']}T23:59:59+08:00"
    try:
        data = parse(ApiKeyCreate, values)
        key, secret = service.create_api_key(session, actor, data)
    except ValidationFailed as exc:
        return _account(
            request,
            session,
            actor,
            status_code=422,
            errors=exc.localized_errors(),
            key_form=dict(form),
            messages=[{"kind": "error", "text": exc.localized()}],
        )
    return _account(request, session, actor, new_key=secret, new_key_row=key)


@router.post("/account/api-keys/{key_id}/revoke", dependencies=[CsrfDep])
def account_key_revoke(key_id: int, session: SessionDep, actor: ActorDep) -> Response:
    service.revoke_api_key(session, actor, key_id)
    return _see_other("/account?msg=key_revoked")


def _totp_page(
    request: Request, session: Session, actor: Actor, status_code: int = 200, **extra: Any
) -> Response:
    user = service.get_user(session, actor.user_id or 0)
    pending = service.pending_totp(user)
    qr = None
    if pending is not None:
        # segno draws the SVG itself from the URI: only path data, no user text.
        qr = Markup(segno.make(pending.uri, error="m").svg_inline(scale=4))  # noqa: S704
    context: dict[str, Any] = {"user": user, "pending": pending, "qr_svg": qr, "errors": {}}
    context.update(extra)
    return render(request, "auth/totp.html", context, status_code=status_code)


@router.get(TOTP_ENROLL_PATH, response_class=HTMLResponse)
def totp_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return _totp_page(request, session, actor)


@router.post(TOTP_ENROLL_PATH + "/begin", dependencies=[CsrfDep])
def totp_begin(session: SessionDep, actor: ActorDep) -> Response:
    service.begin_totp_enrollment(session, actor)
    return _see_other(TOTP_ENROLL_PATH)


@router.post(TOTP_ENROLL_PATH + "/confirm", response_class=HTMLResponse, dependencies=[CsrfDep])
def totp_confirm(request: Request, session: SessionDep, actor: ActorDep, form: FormDep) -> Response:
    try:
        service.confirm_totp(session, actor, str(form.get("code", "")))
    except ValidationFailed as exc:
        return _totp_page(request, session, actor, 422, errors=exc.localized_errors())
    return _see_other("/account?msg=totp_on")


@router.post(TOTP_ENROLL_PATH + "/disable", response_class=HTMLResponse, dependencies=[CsrfDep])
def totp_disable(request: Request, session: SessionDep, actor: ActorDep, form: FormDep) -> Response:
    try:
        service.disable_totp(session, actor, str(form.get("code", "")))
    except ValidationFailed as exc:
        return _totp_page(request, session, actor, 422, errors=exc.localized_errors())
    return _see_other("/account?msg=totp_off")


# --- managing accounts ------------------------------------------------------------------------


def _grantable(actor: Actor) -> list[Role]:
    if actor.is_system or can(actor, Perm.ROLE_ASSIGN):
        return list(Role)
    return [r for r in Role if r in BUREAU_GRANTABLE]


def _places(session: Session, actor: Actor) -> dict[str, Any]:
    """Agencies and regions to choose from (a district admin sees its own district only)."""
    agencies = select(Agency).where(Agency.is_active.is_(True)).order_by(Agency.name)
    regions = select(Region).order_by(Region.code)
    if not actor.is_system and not actor.city_scope and actor.region_id is not None:
        agencies = agencies.where(Agency.region_id == actor.region_id)
        regions = regions.where(Region.id == actor.region_id)
    return {
        "agencies": list(session.scalars(agencies)),
        "regions": list(session.scalars(regions)),
    }


@router.get("/users", response_class=HTMLResponse)
def users(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    q: str = "",
    role: str = "",
    agency_id: str = "",
    region_id: str = "",
    page: int = 1,
) -> Response:
    role_value = Role(role) if role in {r.value for r in Role} else None
    result = queries.list_users(
        session,
        actor,
        q=q[:100],
        role=role_value,
        agency_id=_opt_int(agency_id),
        region_id=_opt_int(region_id),
        page=page,
    )
    filters = {"q": q, "role": role, "agency_id": agency_id, "region_id": region_id}
    base = "/users?" + urlencode({k: v for k, v in filters.items() if v})
    return render(
        request,
        "auth/users.html",
        {
            "result": result,
            "filters": filters,
            "pager_base": base if base.endswith("?") else base + "&",
            "roles": list(Role),
            "can_create": actor.is_system or can(actor, Perm.USER_MANAGE),
            "now": utcnow(),
            **_places(session, actor),
        },
    )


def _user_form(
    request: Request,
    session: Session,
    actor: Actor,
    form: dict[str, Any],
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
    message: str = "",
) -> Response:
    context: dict[str, Any] = {
        "form": form,
        "errors": errors or {},
        "grantable": _grantable(actor),
        "messages": [{"kind": "error", "text": message}] if message else [],
        **_places(session, actor),
    }
    return render(request, "auth/user_new.html", context, status_code=status_code)


@router.get("/users/new", response_class=HTMLResponse)
def user_new(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    if not can(actor, Perm.USER_MANAGE):
        raise PermissionDenied(N_("没有创建用户的权限"))
    return _user_form(request, session, actor, {"roles": []})


@router.post("/users/new", response_class=HTMLResponse, dependencies=[CsrfDep])
def user_create(request: Request, session: SessionDep, actor: ActorDep, form: FormDep) -> Response:
    values: dict[str, Any] = {
        "username": str(form.get("username", "")).strip(),
        "display_name": str(form.get("display_name", "")).strip(),
        "password": str(form.get("password", "")),
        "email": str(form.get("email", "")).strip(),
        "phone": str(form.get("phone", "")).strip(),
        "agency_id": _opt_int(form.get("agency_id")),
        "region_id": _opt_int(form.get("region_id")),
        "roles": [str(r) for r in form.getlist("roles")],
    }
    try:
        user = service.create_user(session, actor, parse(UserCreate, values))
    except ValidationFailed as exc:
        shown = {k: v for k, v in values.items() if k != "password"}
        return _user_form(
            request, session, actor, shown, exc.localized_errors(), 422, exc.localized()
        )
    return _see_other(f"/users/{user.id}?msg=created")


@router.get("/users/{user_id}", response_class=HTMLResponse)
def user_detail(
    request: Request, session: SessionDep, actor: ActorDep, user_id: int, msg: str | None = None
) -> Response:
    user = queries.user_for(session, actor, user_id)
    entries = queries.user_history(session, actor, user_id)
    return render(
        request,
        "auth/user_detail.html",
        {
            "user": user,
            "entries": list(reversed(entries)),
            "actions": ACTIONS,
            "locked": _is_locked(user),
            "can_edit": _can_edit(actor, user),
            "messages": _flash(msg),
        },
    )


def _is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > utcnow()


def _can_edit(actor: Actor, user: User) -> bool:
    return (
        service.can_manage_user(actor, user)
        or can(actor, Perm.ROLE_ASSIGN)
        or can(actor, Perm.ACCOUNT_SECURITY)
    )


def _edit_page(
    request: Request,
    session: Session,
    actor: Actor,
    user: User,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    context: dict[str, Any] = {
        "user": user,
        "form": {
            "display_name": user.display_name,
            "email": user.email,
            "phone": user.phone,
            "agency_id": user.agency_id or "",
            "region_id": user.region_id or "",
            "is_active": user.is_active,
        },
        "errors": {},
        "role_errors": {},
        "grantable": _grantable(actor),
        "locked": _is_locked(user),
        "can_manage": service.can_manage_user(actor, user),
        "can_roles": actor.is_system
        or can(actor, Perm.ROLE_ASSIGN)
        or service.can_manage_user(actor, user),
        "is_self": actor.user_id == user.id,
        **_places(session, actor),
    }
    context.update(extra)
    return render(request, "auth/user_edit.html", context, status_code=status_code)


@router.get("/users/{user_id}/edit", response_class=HTMLResponse)
def user_edit(request: Request, session: SessionDep, actor: ActorDep, user_id: int) -> Response:
    user = queries.user_for(session, actor, user_id)
    if not _can_edit(actor, user):
        raise PermissionDenied(N_("没有管理该用户的权限"))
    return _edit_page(request, session, actor, user)


@router.post("/users/{user_id}/edit", response_class=HTMLResponse, dependencies=[CsrfDep])
def user_update(
    request: Request, session: SessionDep, actor: ActorDep, user_id: int, form: FormDep
) -> Response:
    user = queries.user_for(session, actor, user_id)
    values: dict[str, Any] = {
        "display_name": str(form.get("display_name", "")).strip(),
        "email": str(form.get("email", "")).strip(),
        "phone": str(form.get("phone", "")).strip(),
        "agency_id": _opt_int(form.get("agency_id")),
        "region_id": _opt_int(form.get("region_id")),
        "is_active": form.get("is_active") == "1",
    }
    try:
        service.update_user(session, actor, user_id, parse(UserUpdate, values))
    except ValidationFailed as exc:
        return _edit_page(
            request,
            session,
            actor,
            user,
            422,
            form=values,
            errors=exc.localized_errors(),
            messages=[{"kind": "error", "text": exc.localized()}],
        )
    return _see_other(f"/users/{user_id}?msg=saved")


@router.post("/users/{user_id}/roles", response_class=HTMLResponse, dependencies=[CsrfDep])
def user_roles(
    request: Request, session: SessionDep, actor: ActorDep, user_id: int, form: FormDep
) -> Response:
    user = queries.user_for(session, actor, user_id)
    valid = {r.value for r in Role}
    roles = [Role(str(r)) for r in form.getlist("roles") if str(r) in valid]
    try:
        service.set_roles(session, actor, user_id, roles)
    except ValidationFailed as exc:
        return _edit_page(
            request,
            session,
            actor,
            user,
            422,
            role_errors=exc.localized_errors(),
            messages=[{"kind": "error", "text": exc.localized()}],
        )
    return _see_other(f"/users/{user_id}?msg=roles")


@router.post("/users/{user_id}/unlock", dependencies=[CsrfDep])
def user_unlock(session: SessionDep, actor: ActorDep, user_id: int) -> Response:
    service.unlock_user(session, actor, user_id)
    return _see_other(f"/users/{user_id}?msg=unlocked")


@router.post("/users/{user_id}/reset-totp", dependencies=[CsrfDep])
def user_reset_totp(session: SessionDep, actor: ActorDep, user_id: int) -> Response:
    service.reset_totp(session, actor, user_id)
    return _see_other(f"/users/{user_id}?msg=totp_reset")


@router.post("/users/{user_id}/password", response_class=HTMLResponse, dependencies=[CsrfDep])
def user_reset_password(
    request: Request, session: SessionDep, actor: ActorDep, user_id: int, form: FormDep
) -> Response:
    user = queries.user_for(session, actor, user_id)
    try:
        service.reset_password(session, actor, user_id, str(form.get("new_password", "")))
    except ValidationFailed as exc:
        errors = exc.localized_errors()
        errors["reset_password"] = errors.pop("new_password", [exc.localized()])
        return _edit_page(
            request,
            session,
            actor,
            user,
            422,
            errors=errors,
            messages=[{"kind": "error", "text": exc.localized()}],
        )
    return _see_other(f"/users/{user_id}?msg=password_reset")
