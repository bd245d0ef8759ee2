"""JSON API of shared data (数据接口): rows, count, aggregates and exports of one catalog
entry through the gate, the entry's data description, and fingerprint tracing.

Thin by design: each route parses its parameters (``params``), calls one gate function
(``gongshu.gate.service``: the policy, masking, quota and audit entry are all there) and
renders. Every data route is rate-limited per API key or user (``ratelimit``); a refusal
is a 429 with ``Retry-After``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import quote

import pyarrow as pa
from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.routing import APIRoute
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.auth.models import ApiKey
from gongshu.catalog.models import Dataset
from gongshu.dataapi import exports, params, queries
from gongshu.dataapi.ratelimit import Decision, RateLimited, RateLimiter
from gongshu.dataapi.schemas import (
    AggregateRead,
    CountRead,
    DataInfo,
    DataRowsPage,
    DatasetRef,
    FieldInfo,
    FingerprintExport,
    FingerprintGrant,
    FingerprintRead,
)
from gongshu.db import utcnow
from gongshu.errors import ValidationFailed
from gongshu.gate import filters as gate_filters
from gongshu.gate import service as gate
from gongshu.i18n import N_, current_language, translate
from gongshu.masking import Technique
from gongshu.store.models import DatasetVersion
from gongshu.store.serving import ROW_COLUMN
from gongshu.store.versions import current_version
from gongshu.web.deps import ActorDep, SessionDep, SettingsDep

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
DEFAULT_GROUPS = 1000
MAX_GROUPS = 10_000
MSG_XLSX_TOO_BIG = N_(
    "导出 {rows} 行超过 XLSX 文件的上限 {limit} 行，请改用 CSV 或 Parquet 格式，或加筛选条件"
)
MSG_SHAPE_JSON = N_("_shape=ndjson 只适用于 JSON 导出")
EXAMPLE_PURPOSE = N_("数据核验")

FILTER_HELP = (
    "Filters are further query parameters `<field>__<op>=<value>` on fields the reader may "
    "see (datasette style; without `__<op>` the op is `eq`): eq, ne, in (comma list or JSON "
    "array), lt, le, gt, ge, range (`low,high`), prefix, contains (text fields), null, "
    "notnull. Parameters starting with `_` are reserved."
)


class DataRoute(APIRoute):
    """A route that answers a rate-limit refusal with 429 and ``Retry-After``, and tells
    every caller its limit and what is left (``X-RateLimit-*``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except RateLimited as exc:
                body = {
                    "error": {
                        "code": exc.code,
                        "message": exc.localized(current_language.get()),
                        "errors": {},
                    }
                }
                return JSONResponse(
                    body,
                    status_code=exc.status_code,
                    headers={
                        "Retry-After": str(exc.retry_after),
                        "X-RateLimit-Limit": str(exc.limit),
                        "X-RateLimit-Remaining": "0",
                    },
                )
            decision: Decision | None = getattr(request.state, "rate_limit", None)
            if decision is not None and decision.limit:
                response.headers["X-RateLimit-Limit"] = str(decision.limit)
                response.headers["X-RateLimit-Remaining"] = str(decision.remaining)
            return response

        return route


router = APIRouter(prefix="/data", tags=["data"], route_class=DataRoute)


# --- dependencies --------------------------------------------------------------------------


_LIMITER_LOCK = threading.Lock()


def limiter_of(app: FastAPI) -> RateLimiter:
    """The application's rate limiter (one per application, so per server process)."""
    limiter: RateLimiter | None = getattr(app.state, "data_api_limiter", None)
    if limiter is None:
        # Requests run in a thread pool: the first two must not make two limiters.
        with _LIMITER_LOCK:
            limiter = getattr(app.state, "data_api_limiter", None)
            if limiter is None:
                limiter = RateLimiter()
                app.state.data_api_limiter = limiter
    return limiter


def rate_limit(
    request: Request, session: SessionDep, actor: ActorDep, settings: SettingsDep
) -> None:
    """Take one token from the caller's bucket (per API key, else per user), or 429."""
    limiter = limiter_of(request.app)
    per_minute = settings.data_api_rate_per_minute
    if actor.api_key_id is not None:
        caller = f"key:{actor.api_key_id}"

        def load(key_id: int) -> int | None:
            return session.scalar(select(ApiKey.rate_limit_per_minute).where(ApiKey.id == key_id))

        per_minute = limiter.key_limit(actor.api_key_id, load) or per_minute
    elif actor.user_id is not None:
        caller = f"user:{actor.user_id}"
    else:
        caller = f"system:{actor.name}"
    decision = limiter.take(caller, per_minute, settings.data_api_burst)
    request.state.rate_limit = decision
    if not decision.allowed:
        raise RateLimited(decision.retry_after, decision.limit)


Limited = [Depends(rate_limit)]
RefPath = Annotated[
    str,
    Path(description="the catalog entry: its id, or its resource code such as `202001/0001`"),
]
PurposeQuery = Annotated[
    str | None,
    Query(
        alias="_purpose",
        max_length=400,
        description="why the data is read (required here or in `X-Gongshu-Purpose`); recorded",
    ),
]
PurposeHeader = Annotated[
    str | None,
    Header(
        alias="X-Gongshu-Purpose",
        description="the purpose as a header (UTF-8 or percent-encoded)",
    ),
]
VersionQuery = Annotated[
    int | None,
    Query(alias="_version", ge=1, description="a past version's number (default: the live one)"),
]
FieldsQuery = Annotated[
    str | None,
    Query(alias="_fields", max_length=4000, description="fields to return, comma-separated"),
]


def _filters(request: Request) -> list[gate_filters.Filter]:
    return params.filters(request.query_params.multi_items())


def _version(session: Session, dataset: Dataset, number: int | None) -> DatasetVersion | None:
    return queries.version_by_number(session, dataset, number) if number is not None else None


def _ref(dataset: Dataset) -> dict[str, Any]:
    return {"id": dataset.id, "code": dataset.code, "title": dataset.title}


def _field_infos(
    version: DatasetVersion, names: Sequence[str], masks: Mapping[str, Technique]
) -> list[dict[str, Any]]:
    by_name = {str(f["name"]): f for f in version.schema}
    out = []
    for name in names:
        spec = by_name.get(name)
        masked = masks.get(name, Technique.CLEAR) is not Technique.CLEAR
        out.append(
            {
                "name": name,
                "label": str(spec.get("label") or name) if spec else name,
                "type": "string" if masked or spec is None else str(spec["type"]),
                "masked": masked,
            }
        )
    return out


def _visible_names(
    session: Session, actor: Actor, dataset: Dataset, version: DatasetVersion
) -> tuple[list[str], dict[str, Technique]]:
    """The fields the reader's widest scope shows (for pages without rows)."""
    scope = gate.check_read(session, actor, dataset).for_schema(version.schema)
    names = [n for n in version.field_names if scope.allows(n)]
    return names, dict(scope.masks)


def _json(body: Any, status_code: int = 200) -> Response:
    return Response(exports.dumps(body).encode("utf-8"), status_code, media_type="application/json")


# --- routes ---------------------------------------------------------------------------------


@router.get(
    "/fingerprints/{fingerprint}",
    response_model=FingerprintRead,
    summary="Trace a fingerprint to its grant, body and exports",
    description=(
        "Which grant, body (agency) and exports produced a file carrying this fingerprint "
        "(from the file's last CSV line, JSON field, XLSX properties or Parquet metadata). "
        "Bureau admins (a district admin: its district's entries) and auditors."
    ),
)
def trace_fingerprint(session: SessionDep, actor: ActorDep, fingerprint: str) -> FingerprintRead:
    trace = queries.trace_fingerprint(session, actor, fingerprint)
    grant = trace.grant
    return FingerprintRead(
        fingerprint=trace.fingerprint,
        dataset=DatasetRef(**_ref(trace.dataset)) if trace.dataset is not None else None,
        agency_id=trace.agency.id if trace.agency is not None else None,
        agency_name=trace.agency.name if trace.agency is not None else None,
        grant=FingerprintGrant(
            id=grant.id,
            kind=str(grant.kind),
            status=str(grant.status),
            agency_id=grant.agency_id,
            agency_name=trace.agency.name if trace.agency is not None else "",
            purpose=grant.purpose,
            starts_at=grant.starts_at,
            expires_at=grant.expires_at,
        )
        if grant is not None
        else None,
        exports=[
            FingerprintExport(
                audit_seq=e.seq,
                at=e.at,
                actor_id=e.actor_id,
                actor_name=e.actor_name,
                agency_id=e.agency_id,
                operation=str(e.changes.get("operation", "")),
                format=e.changes.get("format"),
                rows=e.changes.get("rows"),
                version=e.changes.get("version"),
                export_id=e.changes.get("export_id"),
                purpose=e.changes.get("purpose"),
                request_id=e.request_id,
            )
            for e in trace.exports
        ],
    )


@router.get(
    "/{ref:path}/rows",
    response_model=DataRowsPage,
    summary="Read a page of rows",
    description=(
        "One page of the entry's rows through the gate (grant scope, masking, audit). "
        "Sort with `_sort=a,-b`; page with the `_after` cursor of the previous page (keyset: "
        "pages never skip or repeat a row); `_limit` 1–10,000 (default 100). " + FILTER_HELP
    ),
    dependencies=Limited,
)
def read_rows(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    ref: RefPath,
    sort: Annotated[
        str | None,
        Query(alias="_sort", max_length=4000, description="sort fields, `-name` descending"),
    ] = None,
    fields: FieldsQuery = None,
    after: Annotated[
        str | None,
        Query(alias="_after", max_length=8000, description="the previous page's `next_cursor`"),
    ] = None,
    limit: Annotated[
        int, Query(alias="_limit", ge=1, le=MAX_LIMIT, description="rows per page")
    ] = DEFAULT_LIMIT,
    purpose: PurposeQuery = None,
    version: VersionQuery = None,
    purpose_header: PurposeHeader = None,
) -> Response:
    dataset = queries.find_dataset(session, actor, ref)
    columns = params.field_list(fields)
    page = gate.read_page(
        session,
        actor,
        dataset,
        version=_version(session, dataset, version),
        purpose=params.purpose(purpose, purpose_header),
        columns=columns,
        filters=_filters(request),
        order_by=params.sort_fields(sort),
        after=after or None,
        limit=limit,
    )
    if page.rows:
        names, masks = list(page.rows[0]), dict(page.masks)
    elif columns is not None:
        names, masks = columns, dict(page.masks)
    else:
        names, masks = _visible_names(session, actor, dataset, page.version)
    next_url = None
    if page.next_cursor is not None:
        next_url = str(
            request.url.remove_query_params("_after").include_query_params(_after=page.next_cursor)
        )
    return _json(
        {
            "dataset": _ref(dataset),
            "version": page.version.number,
            "fields": _field_infos(page.version, names, masks),
            "rows": page.rows,
            "limit": limit,
            "next_cursor": page.next_cursor,
            "next_url": next_url,
        }
    )


@router.get(
    "/{ref:path}/count",
    response_model=CountRead,
    summary="Count rows",
    description="How many rows the filters keep, within the reader's scope. " + FILTER_HELP,
    dependencies=Limited,
)
def count_rows(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    ref: RefPath,
    purpose: PurposeQuery = None,
    version: VersionQuery = None,
    purpose_header: PurposeHeader = None,
) -> CountRead:
    dataset = queries.find_dataset(session, actor, ref)
    counted = gate.count(
        session,
        actor,
        dataset,
        version=_version(session, dataset, version),
        purpose=params.purpose(purpose, purpose_header),
        filters=_filters(request),
    )
    return CountRead(
        dataset=DatasetRef(**_ref(dataset)), version=counted.version.number, count=counted.rows
    )


@router.get(
    "/{ref:path}/aggregate",
    response_model=AggregateRead,
    summary="Grouped counts, sums, averages, minima and maxima",
    description=(
        "`_group=a,b` (none: one group of all rows) and `_measure=count,sum:amount,avg:amount,"
        "min:date,max:date` (default `count`); each group is an object keyed by the group "
        "fields and the measures as written. Groups come sorted by the group fields; "
        "`_limit` caps them (default 1,000, at most 10,000). " + FILTER_HELP
    ),
    dependencies=Limited,
)
def aggregate_rows(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    ref: RefPath,
    group: Annotated[
        str | None, Query(alias="_group", max_length=4000, description="group fields")
    ] = None,
    measure: Annotated[
        str,
        Query(alias="_measure", max_length=4000, description="count, sum:f, avg:f, min:f, max:f"),
    ] = "count",
    limit: Annotated[
        int, Query(alias="_limit", ge=1, le=MAX_GROUPS, description="groups returned at most")
    ] = DEFAULT_GROUPS,
    purpose: PurposeQuery = None,
    version: VersionQuery = None,
    purpose_header: PurposeHeader = None,
) -> Response:
    dataset = queries.find_dataset(session, actor, ref)
    group_by = params.group_fields(group)
    wanted = params.measures(measure)
    result = gate.aggregate(
        session,
        actor,
        dataset,
        version=_version(session, dataset, version),
        purpose=params.purpose(purpose, purpose_header),
        group_by=group_by,
        measures=wanted,
        filters=_filters(request),
        limit=limit,
    )
    measure_columns = result.columns[len(group_by) :]
    labels = [params.measure_label(fn, name) for fn, name in wanted]
    groups = []
    for row in result.rows:
        item = {name: row[name] for name in group_by}
        for label, column in zip(labels, measure_columns, strict=True):
            item[label] = row[column]
        groups.append(item)
    return _json(
        {
            "dataset": _ref(dataset),
            "version": result.version.number,
            "group_by": group_by,
            "measures": labels,
            "groups": groups,
            "truncated": result.truncated,
        }
    )


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    JSON = "json"
    PARQUET = "parquet"


class Shape(StrEnum):
    OBJECTS = "objects"
    NDJSON = "ndjson"


class ColumnTitles(StrEnum):
    NAME = "name"
    LABEL = "label"


def _without_row(
    batches: Iterator[pa.RecordBatch], schema: pa.Schema
) -> tuple[Iterator[pa.RecordBatch], pa.Schema]:
    if ROW_COLUMN not in schema.names:
        return batches, schema
    keep = [n for n in schema.names if n != ROW_COLUMN]

    def dropped() -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield batch.select(keep)

    return dropped(), pa.schema([schema.field(n) for n in keep])


def _file_name(dataset: Dataset, version: int, ext: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", dataset.code).strip("-") or f"dataset-{dataset.id}"
    return f"{stem}-v{version}.{ext}"


@router.get(
    "/{ref:path}/export.{fmt}",
    summary="Export rows as CSV, XLSX, JSON or Parquet (streamed)",
    description=(
        "The rows the filters keep, streamed as a file. CSV is UTF-8 with a BOM; a text "
        "value starting with `=`, `+`, `-`, `@`, tab, CR or `'` gets one leading `'` (drop it "
        "when reading); the last line is `#gongshu-fingerprint=<fp>;rows=<n>`. XLSX writes "
        "every text as text (never a formula), splits into sheets of 1,048,575 rows and is "
        "refused above `GONGSHU_DATA_API_XLSX_MAX_ROWS`. JSON is one object whose `rows` "
        "array streams (`_shape=ndjson`: one row per line, a last `_gongshu` line). Parquet "
        "keeps the types. Every file carries the export's fingerprint (also in "
        "`X-Gongshu-Fingerprint`). " + FILTER_HELP
    ),
    dependencies=Limited,
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "the file",
            "content": {
                "text/csv": {},
                exports.MEDIA_TYPES["xlsx"]: {},
                "application/json": {},
                exports.MEDIA_TYPES["ndjson"]: {},
                exports.MEDIA_TYPES["parquet"]: {},
            },
        }
    },
)
def export_rows(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    settings: SettingsDep,
    ref: RefPath,
    fmt: Annotated[ExportFormat, Path(description="csv, xlsx, json or parquet")],
    fields: FieldsQuery = None,
    shape: Annotated[
        Shape, Query(alias="_shape", description="JSON only: `ndjson` for one row per line")
    ] = Shape.OBJECTS,
    header: Annotated[
        ColumnTitles,
        Query(alias="_header", description="CSV/XLSX column titles: field `name` or `label`"),
    ] = ColumnTitles.NAME,
    purpose: PurposeQuery = None,
    version: VersionQuery = None,
    purpose_header: PurposeHeader = None,
) -> StreamingResponse:
    dataset = queries.find_dataset(session, actor, ref)
    if shape is Shape.NDJSON and fmt is not ExportFormat.JSON:
        raise ValidationFailed.single("_shape", MSG_SHAPE_JSON)
    chosen = _version(session, dataset, version)
    why = params.purpose(purpose, purpose_header)
    columns = params.field_list(fields)
    row_filters = _filters(request)
    if fmt is ExportFormat.XLSX:
        # Counted first (an audited count), so an oversized workbook is refused before any
        # export is recorded or written.
        counted = gate.count(
            session, actor, dataset, version=chosen, purpose=why, filters=row_filters
        )
        if counted.rows > settings.data_api_xlsx_max_rows:
            raise ValidationFailed.single(
                "fmt",
                MSG_XLSX_TOO_BIG.format(rows=counted.rows, limit=settings.data_api_xlsx_max_rows),
            )
    name = "ndjson" if shape is Shape.NDJSON else fmt.value
    result = gate.export(
        session,
        actor,
        dataset,
        purpose=why,
        fmt=name,
        columns=columns,
        filters=row_filters,
        version=chosen,
    )
    batches, schema = result.batches, result.schema
    if columns is None or ROW_COLUMN not in columns:
        batches, schema = _without_row(batches, schema)
    meta = exports.ExportMeta(
        dataset_code=dataset.code,
        dataset_title=dataset.title,
        version=result.version.number,
        fingerprint=result.fingerprint,
        exported_at=utcnow().replace(microsecond=0),
        fields=[
            exports.ExportField(f["name"], f["label"], f["type"])
            for f in _field_infos(result.version, schema.names, result.masks)
        ],
        export_id=result.export_id,
        header=header.value,
    )
    tmp_dir = settings.data_dir / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    body = exports.stream(
        fmt.value,
        batches,
        meta,
        schema=schema,
        ndjson=shape is Shape.NDJSON,
        tmp_dir=tmp_dir,
    )
    file_name = _file_name(dataset, result.version.number, name)
    return StreamingResponse(
        body,
        media_type=exports.MEDIA_TYPES[name],
        headers={
            # ASCII only (the code's other characters become "-"), so every browser keeps it.
            "Content-Disposition": f'attachment; filename="{file_name}"',
            "X-Gongshu-Fingerprint": result.fingerprint,
            "X-Gongshu-Export-Id": result.export_id,
            "X-Gongshu-Version": str(result.version.number),
            "X-Gongshu-Rows": str(result.rows),
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/{ref:path}",
    response_model=DataInfo,
    summary="Describe what the reader may read of an entry",
    description=(
        "The fields the reader sees (and which of them masked), the live version, the filter "
        "operators, measures and export formats, and example URLs. Reads no rows."
    ),
    dependencies=Limited,
)
def describe(request: Request, session: SessionDep, actor: ActorDep, ref: RefPath) -> DataInfo:
    dataset = queries.find_dataset(session, actor, ref)
    scope = gate.check_read(session, actor, dataset)
    live = current_version(session, dataset.id)
    fields: list[dict[str, Any]] = []
    if live is not None:
        scope = scope.for_schema(live.schema)
        names = [n for n in live.field_names if scope.allows(n)]
        fields = _field_infos(live, names, scope.masks)
    base = str(request.base_url).rstrip("/") + f"/api/v1/data/{dataset.code}"
    return DataInfo(
        dataset=DatasetRef(**_ref(dataset)),
        version=live.number if live is not None else None,
        rows=live.row_count if live is not None else None,
        basis=scope.basis,
        fields=[FieldInfo(**f) for f in fields],
        filter_ops=list(gate_filters.OPS),
        measures=list(params.MEASURES),
        export_formats=[f.value for f in ExportFormat],
        links=example_links(base, fields),
    )


def example_links(base: str, fields: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Example URLs for an entry's data (used by the API description and the help page)."""
    purpose = "_purpose=" + quote(translate(EXAMPLE_PURPOSE))
    first = next((f["name"] for f in fields if not f.get("masked")), None)
    links = {
        "rows": f"{base}/rows?_limit=10&{purpose}",
        "count": f"{base}/count?{purpose}",
        "aggregate": f"{base}/aggregate?_measure=count&{purpose}",
        "csv": f"{base}/export.csv?{purpose}",
        "xlsx": f"{base}/export.xlsx?{purpose}",
        "json": f"{base}/export.json?{purpose}",
        "ndjson": f"{base}/export.json?_shape=ndjson&{purpose}",
        "parquet": f"{base}/export.parquet?{purpose}",
    }
    if first is not None:
        links["sorted"] = f"{base}/rows?_sort=-{quote(first)}&_limit=10&{purpose}"
        links["grouped"] = f"{base}/aggregate?_group={quote(first)}&_measure=count&{purpose}"
    return links
