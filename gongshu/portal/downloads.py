"""Downloads of an open entry's rows from its portal page, without login:
``/dataset/{slug}/download.{csv,xlsx,json,parquet}`` and ``/dataset/{slug}/download.csv.zip``.

The same export as the data API's (``gongshu.dataapi.delivery``): the gate decides, masks,
counts the quota and records the export (``data.read`` with ``operation: export``), and the
completed file's digest is recorded (``data.export_digest``). The reader is the visitor:
``public_actor`` when anonymous (rows of unconditional entries only), the signed-in user
otherwise (their grants apply). Attribution (source agency, entry code, version, acquisition
date, licence) goes where the format has room: XLSX metadata sheet, JSON ``attribution``
object, Parquet key-value metadata, and for CSV the response headers and the ZIP bundle's
``datapackage.json`` — never a line inside the CSV.

Anonymous visitors are rate-limited per IP address, signed-in readers per user, with the
data API's limiter and limits (``GONGSHU_DATA_API_RATE_PER_MINUTE``, ``…_BURST``).
"""

from __future__ import annotations

from enum import StrEnum

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.catalog.models import Dataset
from gongshu.dataapi import bundle, delivery, exports
from gongshu.dataapi.api import limiter_of
from gongshu.i18n import N_, current_language, translate
from gongshu.portal import public
from gongshu.portal.openness import is_anonymous, rows_are_open
from gongshu.portal.pages import find_entry, reader_of
from gongshu.settings import Settings
from gongshu.web.deps import OptionalActorDep, SessionDep, SettingsDep

router = APIRouter(include_in_schema=False)

DOWNLOAD_PURPOSE = N_("开放数据下载")
OPEN_NOTE = N_(
    "本文件下载自公共数据开放网。使用时请注明来源机构、数据名称、资源代码、版本、获取日期，"
    "并遵守许可协议。"
)
MSG_TOO_MANY = N_("下载过于频繁，请 {seconds} 秒后再试")


class DownloadFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    JSON = "json"
    PARQUET = "parquet"


def _limited(request: Request, reader: Actor, settings: Settings) -> Response | None:
    """A 429 answer when the visitor's bucket is empty (per IP when anonymous)."""
    caller = f"ip:{reader.ip}" if is_anonymous(reader) else f"user:{reader.user_id}"
    decision = limiter_of(request.app).take(
        caller, settings.data_api_rate_per_minute, settings.data_api_burst
    )
    if decision.allowed:
        return None
    text = translate(MSG_TOO_MANY, current_language.get()).format(seconds=decision.retry_after)
    return Response(
        text,
        status_code=429,
        media_type="text/plain; charset=utf-8",
        headers={"Retry-After": str(decision.retry_after)},
    )


def _start(
    session: Session, reader: Actor, settings: Settings, dataset: Dataset, fmt: str
) -> delivery.Export:
    return delivery.start_export(
        session,
        reader,
        settings,
        dataset,
        fmt=fmt,
        purpose=translate(DOWNLOAD_PURPOSE, "zh"),
        note=OPEN_NOTE if rows_are_open(dataset) else None,
    )


# The bundle first: ``download.{fmt}`` would otherwise take ``csv.zip`` as its format.
@router.get("/dataset/{slug}/download.csv.zip")
def download_bundle(
    request: Request,
    session: SessionDep,
    actor: OptionalActorDep,
    settings: SettingsDep,
    slug: str,
) -> Response:
    dataset = find_entry(session, slug)
    reader = reader_of(request, actor)
    if (refused := _limited(request, reader, settings)) is not None:
        return refused
    export = _start(session, reader, settings, dataset, delivery.BUNDLE_FORMAT)
    body, name = delivery.bundle_body(session, reader, export, settings)
    public.record_stat("download", dataset)
    return StreamingResponse(
        body, media_type=bundle.MEDIA_TYPE, headers=delivery.export_headers(export, name)
    )


@router.get("/dataset/{slug}/download.{fmt}")
def download(
    request: Request,
    session: SessionDep,
    actor: OptionalActorDep,
    settings: SettingsDep,
    slug: str,
    fmt: DownloadFormat,
) -> Response:
    dataset = find_entry(session, slug)
    reader = reader_of(request, actor)
    if (refused := _limited(request, reader, settings)) is not None:
        return refused
    export = _start(session, reader, settings, dataset, fmt.value)
    body, name = delivery.file_body(session, reader, export, fmt.value)
    public.record_stat("download", dataset)
    return StreamingResponse(
        body,
        media_type=exports.MEDIA_TYPES[fmt.value],
        headers=delivery.export_headers(export, name),
    )
