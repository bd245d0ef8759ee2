"""Pages of the data API: how to call it, with the reader's own entries and example URLs
(数据接口), and the bureau's tracing of fingerprints and leaked files (指纹追溯). Thin: one
query, one render."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from gongshu.dataapi import queries, tracing
from gongshu.dataapi.params import PURPOSE_HEADER
from gongshu.errors import NotFound, PermissionDenied, ValidationFailed
from gongshu.i18n import N_, translate
from gongshu.share import rules
from gongshu.web.deps import ActorDep, CsrfDep, SessionDep, SettingsDep
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
        "bundle": f"{root}/export.csv.zip?{purpose}",
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


def _trace_page(
    request: Request,
    *,
    fp: str = "",
    trace: queries.FingerprintTrace | None = None,
    error: str = "",
    file_trace: tracing.FileTrace | None = None,
    file_name: str = "",
    file_error: str = "",
    status: int = 200,
) -> Response:
    return render(
        request,
        "dataapi/fingerprint.html",
        {
            "fp": fp,
            "trace": trace,
            "error": error,
            "api": "/api/v1/data/fingerprints/" + quote(fp) if fp else "",
            "file_trace": file_trace,
            "file_name": file_name,
            "file_error": file_error,
            "kind_label": lambda kind: translate(tracing.KINDS.get(kind, tracing.KINDS["unknown"])),
            "grant_kind_label": rules.grant_kind_label,
            "grant_status_label": rules.grant_status_label,
        },
        status_code=status,
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
    return _trace_page(request, fp=fp.strip(), trace=trace, error=error, status=status)


@router.post("/data-api/fingerprints", response_class=HTMLResponse, dependencies=[CsrfDep])
def fingerprint_file_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Trace an uploaded file (a leaked copy) by its digest and embedded fingerprint."""
    if not queries.may_trace(actor):
        raise PermissionDenied(queries.MSG_FINGERPRINT_DENIED)
    if file is None or not file.filename:
        return _trace_page(request, file_error=translate(tracing.MSG_NO_FILE), status=422)
    name = file.filename
    try:
        found = tracing.trace_file(session, actor, file.file)
    except NotFound as exc:
        return _trace_page(request, file_name=name, file_error=exc.localized(), status=404)
    return _trace_page(request, file_name=name, file_trace=found)
