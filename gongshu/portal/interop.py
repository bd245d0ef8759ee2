"""Routes for machines: the CKAN Action API, DCAT-AP exports and Data Package descriptors.

- ``GET|POST /api/3/action/{name}`` and ``/api/action/{name}``: CKAN's envelope
  (``help``, ``success``, ``result`` or ``error`` with ``__type``) and status codes;
- ``GET /catalog.ttl|.jsonld|.rdf``: the public catalog in DCAT-AP 3;
- ``GET /dataset/{ref}.ttl|.jsonld|.rdf``: one public entry (``ref``: id, code or slug);
- ``GET /dataset/{ref}/datapackage.json``: its Frictionless Data Package descriptor.

None of these is in the OpenAPI document (``/api/v1/openapi.json`` describes the platform's
own API; these follow outside specifications, documented in docs/ckan-api.md and
docs/dcat.md). Readers without credentials act as ``openness.public_actor``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from gongshu.auth import service as auth_service
from gongshu.auth.actor import Actor
from gongshu.errors import (
    GongshuError,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from gongshu.i18n import N_, current_language, translate
from gongshu.portal import ckan, datapackage, dcat, naming
from gongshu.portal.ckan_schemas import SearchQueryFailed
from gongshu.portal.openness import public_actor
from gongshu.web.deps import SessionDep, get_optional_actor

MSG_BAD_KEY = N_("API 密钥无效、已过期或已吊销")
MSG_BAD_JSON = N_("请求体不是有效的 JSON 对象")
MSG_NO_ENTRY = N_("数据集不存在或未开放")
MSG_BAD_FORMAT = N_("不支持的格式“{fmt}”")
CKAN_KEY_HEADER = "x-ckan-api-key"


class BadRequest(GongshuError):
    """A request CKAN refuses before any action runs (400 "Bad request")."""

    status_code = 400
    code = "bad_request"


def _ckan_error(exc: Exception) -> tuple[int, dict[str, Any]]:
    """CKAN's status code and ``error`` object for an exception."""
    lang = current_language.get()
    if isinstance(exc, RequestValidationError):
        return 409, {"__type": "Validation Error", "message": str(exc.errors())[:500]}
    assert isinstance(exc, GongshuError)
    message = exc.localized(lang)
    if isinstance(exc, ckan.UnknownAction | BadRequest):
        return 400, {"__type": "Bad Request", "message": f"Bad request - {message}"}
    if isinstance(exc, NotFound):
        return 404, {"__type": "Not Found Error", "message": f"Not found: {message}"}
    if isinstance(exc, PermissionDenied):
        return 403, {"__type": "Authorization Error", "message": f"Access denied: {message}"}
    if exc.status_code == 429:  # a key's daily quota (gongshu.opening.quota) or rate
        return 429, {"__type": "Rate Limit Error", "message": message}
    if isinstance(exc, SearchQueryFailed):
        return 400, {
            "__type": "Search Query Error",
            "message": f"Search Query is invalid: {message}",
        }
    error: dict[str, Any] = {"__type": "Validation Error", "message": message}
    if isinstance(exc, ValidationFailed):
        for field, messages in exc.errors.items():
            error[field] = [translate(m, lang, **exc.params) for m in messages]
    return 409, error


class CkanRoute(APIRoute):
    """A route whose errors come back in CKAN's envelope, never the platform's."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except (GongshuError, RequestValidationError) as exc:
                status, error = _ckan_error(exc)
                name = request.path_params.get("name", "")
                body = {"help": _help(request, str(name)), "success": False, "error": error}
                return JSONResponse(body, status_code=status)

        return route


def _help(request: Request, name: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/api/3/action/help_show?name={name}"


def ckan_actor(request: Request, session: SessionDep) -> Actor:
    """Who calls: a CKAN-style API key (``Authorization: <key>`` or ``X-CKAN-API-Key``),
    the platform's own credentials (bearer token, ``X-API-Key``, session), or — with none
    of them — the anonymous public reader."""
    authorization = request.headers.get("authorization", "").strip()
    key = request.headers.get(CKAN_KEY_HEADER, "").strip()
    if not key and authorization and not authorization.lower().startswith("bearer "):
        key = authorization
    request_id = getattr(request.state, "request_id", "")
    ip = request.client.host if request.client else ""
    if key:
        actor = auth_service.actor_for_api_key(session, key)
        if actor is None:
            raise NotAuthenticated(MSG_BAD_KEY)
        return actor.with_request(request_id, ip)
    found = get_optional_actor(request, session)
    return found if found is not None else public_actor(request_id, ip)


CkanActor = Annotated[Actor, Depends(ckan_actor)]


async def action_data(request: Request) -> dict[str, Any]:
    """The action's parameters: the query string, and a POST's JSON (or form) body."""
    data: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key in data:
            data[key] = [*(data[key] if isinstance(data[key], list) else [data[key]]), value]
        else:
            data[key] = value
    if request.method != "POST":
        return data
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        data.update({k: v for k, v in form.items() if isinstance(v, str)})
        return data
    raw = await request.body()
    if raw.strip():
        try:
            body = json.loads(raw)
        except ValueError:
            raise BadRequest(MSG_BAD_JSON) from None
        if not isinstance(body, dict):
            raise BadRequest(MSG_BAD_JSON)
        data.update(body)
    return data


ActionData = Annotated[dict[str, Any], Depends(action_data)]

ckan_router = APIRouter(route_class=CkanRoute, include_in_schema=False)


def _run(
    request: Request, session: Session, actor: Actor, name: str, data: dict[str, Any]
) -> Response:
    result = ckan.run(session, actor, name, data)
    body = {"help": _help(request, name), "success": True, "result": result}
    return JSONResponse(body)


@ckan_router.api_route("/api/3/action/{name}", methods=["GET", "POST"])
def ckan_action_v3(
    request: Request, session: SessionDep, actor: CkanActor, data: ActionData, name: str
) -> Response:
    return _run(request, session, actor, name, data)


@ckan_router.api_route("/api/action/{name}", methods=["GET", "POST"])
def ckan_action(
    request: Request, session: SessionDep, actor: CkanActor, data: ActionData, name: str
) -> Response:
    return _run(request, session, actor, name, data)


# --- DCAT-AP and Data Packages ----------------------------------------------------------------

linked_router = APIRouter(include_in_schema=False)


def _rdf(graph_bytes: bytes, fmt: str) -> Response:
    return Response(graph_bytes, media_type=dcat.MEDIA_TYPES[fmt])


def _format(fmt: str) -> str:
    if fmt not in dcat.FORMATS:
        raise NotFound(MSG_BAD_FORMAT, fmt=fmt[:20])
    return fmt


@linked_router.get("/catalog.{fmt}")
def catalog_rdf(session: SessionDep, fmt: str) -> Response:
    fmt = _format(fmt)
    return _rdf(dcat.serialize(dcat.catalog_graph(session), fmt), fmt)


def _entry(session: Session, ref: str) -> Any:
    dataset = naming.find_public(session, ref)
    if dataset is None:
        raise NotFound(MSG_NO_ENTRY)
    return dataset


@linked_router.get("/dataset/{ref:path}/datapackage.json")
def dataset_datapackage(session: SessionDep, ref: str) -> Response:
    descriptor = datapackage.descriptor(session, _entry(session, ref))
    return JSONResponse(descriptor, media_type="application/json")


def _dataset_route(fmt: str) -> Callable[[Session, str], Response]:
    def dataset_rdf(session: SessionDep, ref: str) -> Response:
        graph = dcat.dataset_graph(session, _entry(session, ref))
        return _rdf(dcat.serialize(graph, fmt), fmt)

    dataset_rdf.__name__ = f"dataset_{fmt}"
    return dataset_rdf


for _fmt in dcat.FORMATS:
    linked_router.add_api_route(
        f"/dataset/{{ref:path}}.{_fmt}", _dataset_route(_fmt), methods=["GET"]
    )

router = APIRouter()
router.include_router(ckan_router)
router.include_router(linked_router)

__all__ = ["ckan_actor", "public_actor", "router"]
