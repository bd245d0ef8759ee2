"""Bulk compiling from an XLSX template: the page, the template download and the JSON API."""

from __future__ import annotations

import base64
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from gongshu.auth.actor import Actor
from gongshu.auth.permissions import Perm, require
from gongshu.catalog import importer, service
from gongshu.catalog.importer import XLSX_MEDIA_TYPE, ImportRefused, ImportReport
from gongshu.errors import PermissionDenied
from gongshu.i18n import N_, translate
from gongshu.settings import get_settings
from gongshu.web.deps import ActorDep, CsrfDep, SessionDep
from gongshu.web.templating import render

router = APIRouter(include_in_schema=False)
api_router = APIRouter(tags=["catalog import"])

NO_FILE = N_("请选择要导入的 Excel 文件")
TEMPLATE_NAME = "catalog-template.xlsx"
ANNOTATED_NAME = "catalog-import-errors.xlsx"


def _require_importer(actor: Actor) -> Actor:
    require(actor, Perm.CATALOG_EDIT_OWN)
    if actor.agency_id is None:
        raise PermissionDenied(service.NO_AGENCY)
    return actor


async def read_upload(upload: UploadFile) -> bytes:
    """The uploaded bytes, read no further than one byte past the size limit."""
    return await upload.read(get_settings().import_max_bytes + 1)


def _xlsx_response(data: bytes, name: str) -> Response:
    return Response(
        data,
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# ---------------------------------------------------------------------------------------
# Pages


@router.get("/catalog/import", response_class=HTMLResponse)
def import_form(request: Request, actor: ActorDep) -> Response:
    _require_importer(actor)
    return render(request, "catalog/import/form.html", {"errors": {}, "valid_only": False})


@router.get("/catalog/import/template")
def import_template(actor: ActorDep) -> Response:
    return _xlsx_response(importer.build_template(), TEMPLATE_NAME)


@router.post("/catalog/import", response_class=HTMLResponse, dependencies=[CsrfDep])
async def import_upload(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    file: Annotated[UploadFile | None, File()] = None,
    valid_only_box: Annotated[str, Form(alias="valid_only")] = "",
) -> Response:
    # The upload is a parameter (not read from request.form()) so that FastAPI closes it.
    _require_importer(actor)
    valid_only = valid_only_box in ("1", "on", "true")
    filename = (file.filename or "") if file is not None else ""
    data = await read_upload(file) if file is not None else b""
    if not data:
        errors = {"file": [translate(NO_FILE)]}
        return render(
            request,
            "catalog/import/form.html",
            {"errors": errors, "valid_only": valid_only},
            status_code=422,
        )
    try:
        report = importer.import_catalog(
            session, actor, data, valid_rows_only=valid_only, filename=filename
        )
    except ImportRefused as exc:
        return render(
            request,
            "catalog/import/form.html",
            {"errors": exc.localized_errors(), "valid_only": valid_only},
            status_code=422,
        )
    annotated = (
        "data:" + XLSX_MEDIA_TYPE + ";base64," + base64.b64encode(report.annotated).decode("ascii")
        if report.annotated
        else ""
    )
    return render(
        request,
        "catalog/import/result.html",
        {
            "report": report,
            "annotated": annotated,
            "annotated_name": ANNOTATED_NAME,
            "filename": filename,
        },
        status_code=200 if report.saved or report.ok else 422,
    )


# ---------------------------------------------------------------------------------------
# JSON API (mounted under /api/v1)


class ImportErrorRead(BaseModel):
    sheet: str
    row: int
    column: str
    header: str
    message: str


class ImportReportRead(BaseModel):
    """What an import found and did; nothing is saved when ``saved`` is false."""

    saved: bool
    valid_only: bool
    entries: int
    fields: int
    valid: int
    invalid: int
    created: list[str]
    errors: list[ImportErrorRead]


def report_read(report: ImportReport) -> ImportReportRead:
    return ImportReportRead(
        saved=report.saved,
        valid_only=report.valid_only,
        entries=report.entries,
        fields=report.fields,
        valid=report.valid,
        invalid=report.invalid,
        created=report.created,
        errors=[ImportErrorRead(**e.__dict__) for e in report.errors],
    )


@api_router.get(
    "/catalog/import/template",
    summary="The XLSX template for bulk compiling",
    response_class=Response,
    responses={200: {"content": {XLSX_MEDIA_TYPE: {}}, "description": "The template"}},
)
def api_template(actor: ActorDep) -> Response:
    return _xlsx_response(importer.build_template(), TEMPLATE_NAME)


@api_router.post(
    "/catalog/import",
    response_model=ImportReportRead,
    summary="Import catalog entries from a filled-in XLSX template",
    responses={
        200: {
            "content": {"application/json": {}, XLSX_MEDIA_TYPE: {}},
            "description": "The report (JSON), or with report=xlsx the annotated workbook",
        },
        422: {"description": "The file was refused (size, zip bomb, not XLSX)"},
    },
)
async def api_import(
    session: SessionDep,
    actor: ActorDep,
    file: Annotated[UploadFile, File(description="the filled-in template (.xlsx)")],
    valid_only: Annotated[bool, Query(description="import the valid rows only")] = False,
    report: Annotated[
        Literal["json", "xlsx"], Query(description="json, or xlsx for the annotated workbook")
    ] = "json",
) -> Response | ImportReportRead:
    """All row errors come at once (sheet, row, column, reason). Without ``valid_only``
    nothing is saved when any row is rejected; ``saved`` says what happened.
    """
    _require_importer(actor)
    data = await read_upload(file)
    result = importer.import_catalog(
        session, actor, data, valid_rows_only=valid_only, filename=file.filename or ""
    )
    if report == "xlsx" and result.annotated is not None:
        return _xlsx_response(result.annotated, ANNOTATED_NAME)
    return report_read(result)
