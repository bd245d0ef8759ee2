"""Request dependencies: the database session and who is asking.

Routes stay short by taking ``SessionDep`` and ``ActorDep``/``OptionalActorDep``; every
check of what the actor may do happens in the services.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from gongshu.auth import service as auth_service
from gongshu.auth.actor import Actor
from gongshu.auth.enrollment import enforce_totp_enrollment
from gongshu.errors import NotAuthenticated, PermissionDenied
from gongshu.settings import Settings

SESSION_COOKIE = "gongshu_session"
API_KEY_HEADER = "x-api-key"


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.session_factory() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_db)]


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def get_optional_actor(request: Request, session: SessionDep) -> Actor | None:
    """The signed-in user (session cookie), bearer token holder, or API key owner."""
    if hasattr(request.state, "actor"):
        return request.state.actor  # type: ignore[no-any-return]
    request_id = getattr(request.state, "request_id", "")
    actor: Actor | None = None
    authorization = request.headers.get("authorization", "")
    api_key = request.headers.get(API_KEY_HEADER, "")
    if authorization.lower().startswith("bearer "):
        credential = authorization[7:].strip()
        if credential.startswith(auth_service.API_KEY_PREFIX):
            api_key = credential
        else:
            actor = auth_service.actor_for_access_token(session, credential)
            if actor is None:
                raise NotAuthenticated("访问令牌无效或已过期")
    if api_key and actor is None:
        actor = auth_service.actor_for_api_key(session, api_key)
        if actor is None:
            raise NotAuthenticated("API 密钥无效、已过期或已吊销")
    if actor is None and (token := request.cookies.get(SESSION_COOKIE)):
        found = auth_service.actor_for_session_token(session, token)
        if found is not None:
            actor, request.state.csrf_token = found
    if actor is not None:
        actor = actor.with_request(request_id, _client_ip(request))
    enforce_totp_enrollment(request.url.path, actor)
    request.state.actor = actor
    request.state.db = session  # the request's session, for render hooks (header counts)
    return actor


OptionalActorDep = Annotated[Actor | None, Depends(get_optional_actor)]


def get_actor(actor: OptionalActorDep) -> Actor:
    if actor is None:
        raise NotAuthenticated("请先登录")
    return actor


ActorDep = Annotated[Actor, Depends(get_actor)]


async def verify_csrf(request: Request, actor: OptionalActorDep) -> None:
    """Form posts from signed-in pages must carry the session's CSRF token."""
    expected = getattr(request.state, "csrf_token", "")
    if not expected:
        return  # anonymous forms (login) are protected by SameSite cookies
    form = await request.form()
    sent = str(form.get("csrf_token", ""))
    if not hmac.compare_digest(sent, expected):
        raise PermissionDenied("表单已过期，请刷新页面后重试")


CsrfDep = Depends(verify_csrf)
