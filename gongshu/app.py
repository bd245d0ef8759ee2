"""The web application: pages under ``/``, the JSON API under ``/api/v1``."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from gongshu import __version__
from gongshu.db import make_engine, make_session_factory
from gongshu.errors import GongshuError, NotAuthenticated, ValidationFailed
from gongshu.i18n import current_language, pick_language
from gongshu.ingest.service import recover as recover_ingestions
from gongshu.portalstats.collector import install_flusher
from gongshu.settings import Settings, get_settings
from gongshu.store.versions import sweep_on_start
from gongshu.validation import errors_from_pydantic
from gongshu.web.templating import render

LANG_COOKIE = "gongshu_lang"
STATIC_DIR = Path(__file__).parent / "web" / "static"

API_DESCRIPTION = """
The JSON API of Gongshu, the public data management platform.

Authenticate with a bearer token from `POST /api/v1/auth/token`, or with an API key in the
`X-API-Key` header (or as `Authorization: Bearer gsk_…`). Errors come as
`{"error": {"code", "message", "errors"}}`; messages follow `Accept-Language` (zh, en).
"""


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application for the given settings (default: from the environment)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="Gongshu",
        version=__version__,
        description=API_DESCRIPTION,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    engine = make_engine(settings)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.router.on_startup.append(lambda: sweep_on_start(settings, app.state.session_factory))
    app.router.on_shutdown.append(engine.dispose)
    app.router.on_startup.append(lambda: recover_ingestions(settings, app.state.session_factory))
    if settings.embedded_worker:
        _embed_worker(app, settings)
    install_flusher(app, settings)  # portal statistics: counts reach the database

    @app.middleware("http")
    async def request_context(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request.state.request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        query_lang = request.query_params.get("lang")
        if _is_api(request):
            lang = pick_language(request.headers.get("accept-language"), settings.default_language)
        else:
            lang = pick_language(
                query_lang, request.cookies.get(LANG_COOKIE), settings.default_language
            )
        token = current_language.set(lang)
        try:
            response = await call_next(request)
        finally:
            current_language.reset(token)
        response.headers["X-Request-ID"] = request.state.request_id
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if query_lang in ("zh", "en"):
            response.set_cookie(
                LANG_COOKIE, query_lang, max_age=365 * 86400, samesite="lax", httponly=True
            )
        return response

    @app.exception_handler(GongshuError)
    async def domain_error(request: Request, exc: GongshuError) -> Response:
        lang = current_language.get()
        message = exc.localized(lang)
        errors = exc.localized_errors() if isinstance(exc, ValidationFailed) else {}
        if _is_api(request):
            headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
            body = {"error": {"code": exc.code, "message": message, "errors": errors}}
            return JSONResponse(body, status_code=exc.status_code, headers=headers)
        if isinstance(exc, NotAuthenticated):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        return render(
            request,
            "error.html",
            {"status": exc.status_code, "message": message, "errors": errors},
            status_code=exc.status_code,
        )

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> Response:
        failure = errors_from_pydantic(exc.errors())
        return await domain_error(request, failure)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _include_routers(app)
    return app


def _embed_worker(app: FastAPI, settings: Settings) -> None:
    from gongshu.jobs.worker import start_embedded_worker

    def start() -> None:
        app.state.stop_worker = start_embedded_worker(settings, app.state.session_factory)

    def stop() -> None:
        halt = getattr(app.state, "stop_worker", None)
        if halt is not None:
            halt()

    app.router.on_startup.append(start)
    app.router.on_shutdown.append(stop)


def _include_routers(app: FastAPI) -> None:
    """Mount every area's API under /api/v1 and its pages at the root, in this order."""
    from gongshu.audit import api as audit_api
    from gongshu.audit import pages as audit_pages
    from gongshu.auth import api as auth_api
    from gongshu.auth import pages as auth_pages
    from gongshu.catalog import api as catalog_api
    from gongshu.catalog import duty_list_pages as catalog_duty_list_pages
    from gongshu.catalog import import_pages as catalog_import_pages
    from gongshu.catalog import list_pages as catalog_list_pages
    from gongshu.catalog import pages as catalog_pages
    from gongshu.catalog import workflow_api, workflow_pages
    from gongshu.dataapi import api as dataapi_api
    from gongshu.dataapi import pages as dataapi_pages
    from gongshu.feedback import api as feedback_api
    from gongshu.feedback import pages as feedback_pages
    from gongshu.gate import api as gate_api
    from gongshu.gate import pages as gate_pages
    from gongshu.governance import api as governance_api
    from gongshu.governance import pages as governance_pages
    from gongshu.ingest import api as ingest_api
    from gongshu.ingest import pages as ingest_pages
    from gongshu.ingest import pull_api as ingest_pull_api
    from gongshu.ingest import pull_pages as ingest_pull_pages
    from gongshu.notices import api as notices_api
    from gongshu.notices import pages as notices_pages
    from gongshu.opening import api as opening_api
    from gongshu.opening import pages as opening_pages
    from gongshu.orgs import api as orgs_api
    from gongshu.orgs import pages as orgs_pages
    from gongshu.portal import downloads as portal_downloads
    from gongshu.portal import interop as portal_interop
    from gongshu.portal import pages as portal_pages
    from gongshu.portalstats import api as portalstats_api
    from gongshu.portalstats import pages as portalstats_pages
    from gongshu.profiles import api as profiles_api
    from gongshu.profiles import pages as profiles_pages
    from gongshu.quality import api as quality_api
    from gongshu.quality import pages as quality_pages
    from gongshu.seal import api as seal_api
    from gongshu.seal import pages as seal_pages
    from gongshu.search import api as search_api
    from gongshu.search import pages as search_pages
    from gongshu.share import admin_pages as share_admin_pages
    from gongshu.share import api as share_api
    from gongshu.share import pages as share_pages
    from gongshu.systems import api as systems_api
    from gongshu.systems import pages as systems_pages
    from gongshu.verification import api as verification_api
    from gongshu.verification import pages as verification_pages
    from gongshu.web import pages as web_pages
    from gongshu.workdays import api as workdays_api
    from gongshu.workdays import pages as workdays_pages

    api_modules = [auth_api, orgs_api, catalog_api, audit_api, workdays_api, notices_api]
    api_modules.append(systems_api)
    api_modules.append(workflow_api)
    api_modules.append(search_api)
    api_modules.append(ingest_api)
    api_modules.append(ingest_pull_api)
    api_modules.append(quality_api)
    api_modules.append(governance_api)
    api_modules.append(share_api)
    api_modules.append(gate_api)  # /masking/rules
    api_modules.extend([seal_api, verification_api, profiles_api])
    api_modules.append(dataapi_api)
    api_modules.append(portalstats_api)  # /portal/stats, /portal/open-list
    api_modules.append(opening_api)
    api_modules.append(feedback_api)  # /feedback/…, /demands, /reuses
    page_modules = [
        web_pages,
        portal_interop,  # /api/3/action/*, /catalog.ttl, /dataset/{ref}.ttl before portal pages
        auth_pages,
        orgs_pages,
        # Fixed paths such as /catalog/export come before /catalog/{dataset_id}.
        catalog_list_pages,
        catalog_duty_list_pages,
        catalog_import_pages,
        workflow_pages,  # /catalog/review and /catalog/changes before /catalog/{dataset_id}
        ingest_pages,
        ingest_pull_pages,  # /catalog/{dataset_id}/pull
        quality_pages,
        governance_pages,  # /catalog/{dataset_id}/corrections/new
        catalog_pages,
        systems_pages,
        audit_pages,
        gate_pages,  # /admin/masking
        workdays_pages,
        notices_pages,
        search_pages,
        share_pages,
        share_admin_pages,
        seal_pages,
        verification_pages,
        profiles_pages,
        dataapi_pages,
        portalstats_pages,  # /stats, /open-list, /feeds/…, /subscriptions
        opening_pages,  # /register, /dataset/{slug}/apply, /applications
        feedback_pages,  # /dataset/{slug}/feedback…, /demands, /reuses, /appeals, /moderation
        portal_downloads,  # /dataset/{slug}/download.* before /dataset/{slug}
        portal_pages,
    ]
    for module in api_modules:
        app.include_router(module.router, prefix="/api/v1")
    for api_router in (catalog_duty_list_pages.api_router, catalog_import_pages.api_router):
        app.include_router(api_router, prefix="/api/v1")
    for module in page_modules:
        app.include_router(module.router)
