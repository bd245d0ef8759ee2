"""The JSON API of accounts, tokens and API keys (mounted under ``/api/v1``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status

from gongshu.auth import queries, service
from gongshu.auth.models import ApiKey, Role
from gongshu.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    HistoryEntryRead,
    RolesUpdate,
    TokenRequest,
    TokenResponse,
    UserCreate,
    UserPage,
    UserRead,
    UserUpdate,
)
from gongshu.web.deps import ActorDep, SessionDep, SettingsDep

router = APIRouter(tags=["accounts"])


class _Error:
    """Documented error responses: ``{"error": {"code", "message", "errors"}}``."""

    def __init__(self, description: str) -> None:
        self.description = description

    def spec(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "content": {
                "application/json": {
                    "example": {"error": {"code": "…", "message": "…", "errors": {}}}
                }
            },
        }


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    texts = {
        401: "not signed in, or wrong credentials",
        403: "not allowed for this account",
        404: "no such object",
        409: "conflicting state",
        422: "invalid input, with messages per field",
    }
    return {code: _Error(texts[code]).spec() for code in codes}


def _key_read(key: ApiKey) -> ApiKeyRead:
    return ApiKeyRead.model_validate(key)


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


@router.post(
    "/auth/token",
    response_model=TokenResponse,
    summary="Exchange username and password for a bearer token",
    description="Returns a short-lived HS256 JWT to send as `Authorization: Bearer …`. "
    "Accounts with a second factor must send `totp`. Repeated failures lock the account.",
    responses=_errors(401, 422),
)
def token(
    data: TokenRequest, session: SessionDep, settings: SettingsDep, request: Request
) -> TokenResponse:
    return service.issue_access_token(session, settings, data, ip=_client_ip(request))


@router.get(
    "/me",
    response_model=UserRead,
    summary="The signed-in account",
    responses=_errors(401),
)
def me(session: SessionDep, actor: ActorDep) -> UserRead:
    return queries.user_read(service.get_user(session, actor.user_id or 0))


@router.get(
    "/users",
    response_model=UserPage,
    summary="List accounts",
    description="Accounts the caller may see: all for security and audit staff, the region's "
    "for bureau admins, the agency's for data officers.",
    responses=_errors(401, 403, 422),
)
def list_users(
    session: SessionDep,
    actor: ActorDep,
    q: Annotated[str, Query(max_length=100, description="username, name or e-mail")] = "",
    role: Role | None = None,
    agency_id: int | None = None,
    region_id: int | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=queries.MAX_PER_PAGE)] = 20,
) -> UserPage:
    result = queries.list_users(
        session,
        actor,
        q=q,
        role=role,
        agency_id=agency_id,
        region_id=region_id,
        page=page,
        per_page=per_page,
    )
    return UserPage(
        items=[queries.user_read(u) for u in result.items],
        total=result.total,
        page=result.page,
        per_page=result.per_page,
    )


@router.post(
    "/users",
    response_model=UserRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create an account",
    description="Needs user.manage. Administrative roles need the security admin; a district "
    "bureau admin creates accounts of its own district only.",
    responses=_errors(401, 403, 422),
)
def create_user(data: UserCreate, session: SessionDep, actor: ActorDep) -> UserRead:
    return queries.user_read(service.create_user(session, actor, data))


@router.get(
    "/users/{user_id}",
    response_model=UserRead,
    summary="One account",
    responses=_errors(401, 403, 404),
)
def get_user(user_id: int, session: SessionDep, actor: ActorDep) -> UserRead:
    return queries.user_read(queries.user_for(session, actor, user_id))


@router.patch(
    "/users/{user_id}",
    response_model=UserRead,
    summary="Edit an account (profile, agency, region, active)",
    responses=_errors(401, 403, 404, 422),
)
def update_user(user_id: int, data: UserUpdate, session: SessionDep, actor: ActorDep) -> UserRead:
    return queries.user_read(service.update_user(session, actor, user_id, data))


@router.put(
    "/users/{user_id}/roles",
    response_model=UserRead,
    summary="Replace an account's roles",
    description="Separation of duties: at most one of system/security/audit admin, and that "
    "one alone. Administrative roles are granted only by the security admin.",
    responses=_errors(401, 403, 404, 422),
)
def set_roles(user_id: int, data: RolesUpdate, session: SessionDep, actor: ActorDep) -> UserRead:
    return queries.user_read(service.set_roles(session, actor, user_id, data.roles))


@router.post(
    "/users/{user_id}/unlock",
    response_model=UserRead,
    summary="Lift a lock-out after repeated failed sign-ins",
    responses=_errors(401, 403, 404),
)
def unlock_user(user_id: int, session: SessionDep, actor: ActorDep) -> UserRead:
    return queries.user_read(service.unlock_user(session, actor, user_id))


@router.get(
    "/users/{user_id}/history",
    response_model=list[HistoryEntryRead],
    summary="An account's history (its entries in the audit chain)",
    responses=_errors(401, 403, 404),
)
def user_history(user_id: int, session: SessionDep, actor: ActorDep) -> list[HistoryEntryRead]:
    entries = queries.user_history(session, actor, user_id)
    return [HistoryEntryRead.model_validate(e) for e in entries]


@router.get(
    "/api-keys",
    response_model=list[ApiKeyRead],
    summary="List API keys",
    description="The caller's keys and its agency's keys (every key for the security admin). "
    "The keys themselves are never shown again.",
    responses=_errors(401),
)
def list_api_keys(session: SessionDep, actor: ActorDep) -> list[ApiKeyRead]:
    return [_key_read(k) for k in service.list_api_keys(session, actor)]


@router.post(
    "/api-keys",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key (the key is in this response only)",
    description="Send the key as `X-API-Key: gsk_…` or `Authorization: Bearer gsk_…`. Set "
    "`owner_agency_id` to issue it to an agency's information system.",
    responses=_errors(401, 403, 422),
)
def create_api_key(data: ApiKeyCreate, session: SessionDep, actor: ActorDep) -> ApiKeyCreated:
    key, secret = service.create_api_key(session, actor, data)
    return ApiKeyCreated(**_key_read(key).model_dump(), key=secret)


@router.delete(
    "/api-keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Revoke an API key",
    responses=_errors(401, 404),
)
def revoke_api_key(key_id: int, session: SessionDep, actor: ActorDep) -> Response:
    service.revoke_api_key(session, actor, key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
