"""Pages of aggregation: a dataset's data (preview and quality), uploads, ingestions,
versions with diff and rollback, and the trace of one row."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gongshu.catalog import service as catalog
from gongshu.errors import GongshuError, NotFound, PermissionDenied, ValidationFailed
from gongshu.gate import service as gate
from gongshu.ingest import history, service
from gongshu.ingest.api import issue_reads
from gongshu.ingest.models import Ingestion, IngestMode, IngestStatus, InvalidPolicy
from gongshu.ingest.readers import ReadOptions
from gongshu.store.versions import current_version
from gongshu.web.deps import ActorDep, CsrfDep, SessionDep
from gongshu.web.templating import render

router = APIRouter(include_in_schema=False)

ENCODINGS = ("", "utf-8", "gb18030", "gbk")
DELIMITERS = {"": "", ",": ",", "\\t": "\t", ";": ";", "|": "|"}


def _may_read(session: Any, actor: Any, dataset: Any) -> bool:
    try:
        gate.check_clear(session, actor, dataset)
    except PermissionDenied:
        return False
    return True


@router.get("/catalog/{dataset_id}/data", response_class=HTMLResponse)
def data_page(request: Request, session: SessionDep, actor: ActorDep, dataset_id: int) -> Response:
    dataset = catalog.get_dataset(session, actor, dataset_id)
    may_read = _may_read(session, actor, dataset)
    current = current_version(session, dataset.id) if may_read else None
    page = None
    if current is not None:
        page = gate.read_page(
            session,
            actor,
            dataset,
            version=current,
            purpose="page.preview",
            after=request.query_params.get("after") or None,
            limit=20,
        )
    return render(
        request,
        "data/overview.html",
        {
            "dataset": dataset,
            "may_read": may_read,
            "may_ingest": _may_ingest(actor, dataset),
            "current": current,
            "page": page,
            "columns": [c for c in (current.schema if current else [])],
            "key_field": next((c["name"] for c in current.schema if c.get("key")), None)
            if current
            else None,
            "ingestions": service.ingestions(session, dataset.id, limit=10) if may_read else [],
        },
    )


def _may_ingest(actor: Any, dataset: Any) -> bool:
    try:
        service.check_may_ingest(actor, dataset)
    except PermissionDenied:
        return False
    return dataset.state in service.INGESTIBLE_STATES


def _upload_context(session: Any, dataset: Any) -> dict[str, Any]:
    return {
        "dataset": dataset,
        "profile": service.profile_of(session, dataset.id),
        "modes": list(IngestMode),
        "policies": list(InvalidPolicy),
        "encodings": ENCODINGS,
        "delimiters": list(DELIMITERS),
        "has_key": any(f.is_key for f in dataset.fields),
    }


@router.get("/catalog/{dataset_id}/data/upload", response_class=HTMLResponse)
def upload_form(
    request: Request, session: SessionDep, actor: ActorDep, dataset_id: int
) -> Response:
    dataset = catalog.get_dataset(session, actor, dataset_id)
    service.check_may_ingest(actor, dataset)
    context = _upload_context(session, dataset)
    session.commit()  # a new profile row, if this is the first visit
    return render(request, "data/upload.html", {**context, "errors": {}, "values": {}})


@router.post(
    "/catalog/{dataset_id}/data/upload", response_class=HTMLResponse, dependencies=[CsrfDep]
)
def upload(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    dataset_id: int,
    file: Annotated[UploadFile | None, File()] = None,
    mode: Annotated[str, Form()] = "replace",
    snapshot: Annotated[str, Form()] = "",
    on_invalid: Annotated[str, Form()] = "",
    encoding: Annotated[str, Form()] = "",
    delimiter: Annotated[str, Form()] = "",
    sheet: Annotated[str, Form()] = "",
    header_row: Annotated[str, Form()] = "1",
) -> Response:
    dataset = catalog.get_dataset(session, actor, dataset_id)
    values = {
        "mode": mode,
        "snapshot": snapshot,
        "on_invalid": on_invalid,
        "encoding": encoding,
        "delimiter": delimiter,
        "sheet": sheet,
        "header_row": header_row,
    }
    try:
        if file is None or not file.filename:
            raise ValidationFailed.single("file", service.MSG_CHOOSE_FILE)
        if not header_row.isdigit() or not 1 <= int(header_row) <= 1000:
            raise ValidationFailed.single("header_row", service.MSG_BAD_HEADER_ROW)
        ingestion = service.submit_upload(
            session,
            actor,
            dataset,
            file.file,
            name=file.filename,
            mode=IngestMode(mode)
            if mode in IngestMode.__members__.values()
            else IngestMode.REPLACE,
            snapshot=snapshot == "on",
            on_invalid=InvalidPolicy(on_invalid)
            if on_invalid in {p.value for p in InvalidPolicy}
            else None,
            options=ReadOptions(
                encoding=encoding if encoding in ENCODINGS and encoding else None,
                delimiter=DELIMITERS.get(delimiter) or None,
                sheet=sheet.strip() or None,
                header_row=int(header_row),
            ),
        )
    except ValidationFailed as exc:
        context = _upload_context(session, dataset)
        errors = exc.localized_errors() or {"__all__": [exc.localized()]}
        return render(
            request,
            "data/upload.html",
            {**context, "errors": errors, "values": values},
            status_code=422,
        )
    return RedirectResponse(f"/catalog/{dataset.id}/ingestions/{ingestion.id}", status_code=303)


@router.post(
    "/catalog/{dataset_id}/data/settings", response_class=HTMLResponse, dependencies=[CsrfDep]
)
async def save_settings(
    request: Request, session: SessionDep, actor: ActorDep, dataset_id: int
) -> Response:
    """The entry's invalid-row policy and the column each field is read from."""
    form = await request.form()
    dataset = catalog.get_dataset(session, actor, dataset_id)
    policy = str(form.get("on_invalid", ""))
    mapping = {
        f.name: str(form.get(f"map_{f.name}", "")).strip()
        for f in dataset.fields
        if f"map_{f.name}" in form
    }
    service.set_profile(
        session,
        actor,
        dataset,
        on_invalid=InvalidPolicy(policy) if policy in {p.value for p in InvalidPolicy} else None,
        mapping=mapping,
    )
    return RedirectResponse(f"/catalog/{dataset.id}/data/upload?saved=1", status_code=303)


@router.get("/catalog/{dataset_id}/ingestions/{ingestion_id}", response_class=HTMLResponse)
def ingestion_page(
    request: Request, session: SessionDep, actor: ActorDep, dataset_id: int, ingestion_id: int
) -> Response:
    dataset = catalog.get_dataset(session, actor, dataset_id)
    gate.check_clear(session, actor, dataset)
    ingestion = session.get(Ingestion, ingestion_id)
    if ingestion is None or ingestion.dataset_id != dataset.id:
        raise NotFound(service.MSG_NO_INGESTION)
    version = history.version_by_id(session, ingestion.version_id) if ingestion.version_id else None
    return render(
        request,
        "data/ingestion.html",
        {
            "dataset": dataset,
            "ingestion": ingestion,
            "version": version,
            "issues": issue_reads(ingestion),
            "running": ingestion.status in (IngestStatus.QUEUED, IngestStatus.RUNNING),
        },
    )


@router.get("/catalog/{dataset_id}/ingestions/{ingestion_id}/rejected.csv")
def rejected_csv(
    session: SessionDep, actor: ActorDep, dataset_id: int, ingestion_id: int
) -> Response:
    dataset = catalog.get_dataset(session, actor, dataset_id)
    ingestion = session.get(Ingestion, ingestion_id)
    if ingestion is None or ingestion.dataset_id != dataset.id:
        raise NotFound(service.MSG_NO_INGESTION)
    return service.rejected_download(session, actor, dataset, ingestion)


@router.get("/catalog/{dataset_id}/versions", response_class=HTMLResponse)
def versions_page(
    request: Request, session: SessionDep, actor: ActorDep, dataset_id: int
) -> Response:
    dataset = catalog.get_dataset(session, actor, dataset_id)
    gate.check_clear(session, actor, dataset)
    versions = history.history(session, dataset.id)
    current = current_version(session, dataset.id)
    return render(
        request,
        "data/versions.html",
        {
            "dataset": dataset,
            "versions": versions,
            "current": current,
            "may_ingest": _may_ingest(actor, dataset),
            "has_key": any(f.is_key for f in dataset.fields),
        },
    )


@router.post(
    "/catalog/{dataset_id}/versions/{number}/rollback",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
)
def rollback(session: SessionDep, actor: ActorDep, dataset_id: int, number: int) -> Response:
    dataset = catalog.get_dataset(session, actor, dataset_id)
    version = history.rollback(session, actor, dataset, number)
    return RedirectResponse(f"/catalog/{dataset.id}/versions/{version.number}", status_code=303)


@router.get("/catalog/{dataset_id}/versions/diff", response_class=HTMLResponse)
def diff_page(request: Request, session: SessionDep, actor: ActorDep, dataset_id: int) -> Response:
    dataset = catalog.get_dataset(session, actor, dataset_id)
    old = request.query_params.get("from", "")
    new = request.query_params.get("to", "")
    if not (old.isdigit() and new.isdigit()):
        raise ValidationFailed(history.MSG_CHOOSE_VERSIONS)
    result = history.diff_read(session, actor, dataset, int(old), int(new))
    labels = {f.name: f.label for f in dataset.fields}
    return render(request, "data/diff.html", {"dataset": dataset, "diff": result, "labels": labels})


@router.get("/catalog/{dataset_id}/versions/{number}", response_class=HTMLResponse)
def version_page(
    request: Request, session: SessionDep, actor: ActorDep, dataset_id: int, number: int
) -> Response:
    dataset = catalog.get_dataset(session, actor, dataset_id)
    gate.check_clear(session, actor, dataset)
    version = history.version_by_number(session, dataset.id, number)
    current = current_version(session, dataset.id)
    return render(
        request,
        "data/version.html",
        {
            "dataset": dataset,
            "version": version,
            "current": current,
            "may_ingest": _may_ingest(actor, dataset),
            "ingestion": history.ingestion_of(session, version),
        },
    )


@router.get("/catalog/{dataset_id}/trace", response_class=HTMLResponse)
def trace_page(request: Request, session: SessionDep, actor: ActorDep, dataset_id: int) -> Response:
    dataset = catalog.get_dataset(session, actor, dataset_id)
    gate.check_clear(session, actor, dataset)
    key = request.query_params.get("key", "").strip()
    found = None
    error = ""
    if key:
        try:
            found = history.trace_read(history.trace(session, actor, dataset, [key]))
        except GongshuError as exc:
            error = exc.localized()
    labels = {f.name: f.label for f in dataset.fields}
    return render(
        request,
        "data/trace.html",
        {"dataset": dataset, "key": key, "trace": found, "error": error, "labels": labels},
    )
