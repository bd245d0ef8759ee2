"""Pages of the data API: how to call it, with the reader's own entries and example URLs
(数据接口), and the bureau's fingerprint tracing (指纹追溯). Thin: one query, one render."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from gongshu.dataapi import queries
from gongshu.dataapi.params import PURPOSE_HEADER
from gongshu.errors import NotFound, PermissionDenied, ValidationFailed
from gongshu.i18n import N_, translate
from gongshu.share import rules
from gongshu.web.deps import ActorDep, SessionDep, SettingsDep
from gongshu.web.templating import render

router = APIRouter(include_in_schema=False)

BASIS_LABELS = {
    "provider": N_("本单位数据"),
    "grant": N_("共享授权"),
    "bureau": N_("主管部门"),
}
EXAMPLE_PURPOSE = N_("数据核验")


def entry_links(base: str, code: str) -> dict[str, str]:
    """The calls a help page shows for one entry (the purpose in the query)."""
    root = f"{base}/api/v1/data/{code}"
    purpose = "_purpose=" + quote(translate(EXAMPLE_PURPOSE))
    return {
        "describe": root,
        "rows": f"{root}/rows?_limit=10&{purpose}",
        "count": f"{root}/count?{purpose}",
        "csv": f"{root}/export.csv?{purpose}",
        "xlsx": f"{root}/export.xlsx?{purpose}",
    }


@router.get("/data-api", response_class=HTMLResponse)
def help_page(
    request: Request, session: SessionDep, actor: ActorDep, settings: SettingsDep
) -> Response:
    entries = queries.readable_entries(session, actor)
    base = str(request.base_url).rstrip("/")
    rows: list[dict[str, Any]] = [
        {
            "entry": e,
            "basis": translate(BASIS_LABELS[e.basis]),
            "links": entry_links(base, e.dataset.code),
        }
        for e in entries
    ]
    example = rows[0]["links"]["rows"] if rows else f"{base}/api/v1/data/{{code}}/rows?_limit=10"
    return render(
        request,
        "dataapi/help.html",
        {
            "rows": rows,
            "example": example,
            "purpose_header": PURPOSE_HEADER,
            "rate": settings.data_api_rate_per_minute,
            "burst": settings.data_api_burst,
            "xlsx_max": settings.data_api_xlsx_max_rows,
            "may_trace": queries.may_trace(actor),
        },
    )


@router.get("/data-api/fingerprints", response_class=HTMLResponse)
def fingerprint_page(
    request: Request, session: SessionDep, actor: ActorDep, fp: str = ""
) -> Response:
    if not queries.may_trace(actor):
        raise PermissionDenied(queries.MSG_FINGERPRINT_DENIED)
    trace = None
    error = ""
    status = 200
    if fp.strip():
        try:
            trace = queries.trace_fingerprint(session, actor, fp)
        except (NotFound, ValidationFailed) as exc:
            # Shown on the page beside the form, so the investigator can correct the value.
            error, status = exc.localized(), exc.status_code
    return render(
        request,
        "dataapi/fingerprint.html",
        {
            "fp": fp.strip(),
            "trace": trace,
            "error": error,
            "api": "/api/v1/data/fingerprints/" + quote(fp.strip()) if fp.strip() else "",
            "grant_kind_label": rules.grant_kind_label,
            "grant_status_label": rules.grant_status_label,
        },
        status_code=status,
    )
