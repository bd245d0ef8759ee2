"""``datastore_search``: rows of an open dataset, read through the gate.

Every read goes through ``gongshu.gate.service`` with the caller as reader (an API key's
owner, a signed-in user, or the anonymous ``public_actor``), so grants, masking, quotas and
the audit entry are the gate's; a refusal is the gate's own (recorded as ``data.denied``)
and comes back as CKAN's ``Authorization Error``.

The gate pages with keyset cursors; CKAN clients page with ``offset``. An offset is
reached by walking keyset pages that carry only the row number (``_row``), at most
``MAX_OFFSET`` rows deep (each step is a gated read of its own, recorded with its row
count). Deeper pages: narrow the rows with ``filters``, or use the data API's cursors.

``q`` as text matches rows any of whose text cells contains it (case-insensitively), after
masking, so masked values never match on their clear text; it scans at most ``MAX_SCAN``
rows (after ``filters``). ``q`` as a dict ``{field: text}`` becomes ``contains`` filters
that the gate applies (and refuses on fields the reader sees masked).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.catalog.models import Dataset
from gongshu.errors import PermissionDenied, ValidationFailed
from gongshu.gate import service as gate
from gongshu.gate.filters import Filter
from gongshu.i18n import N_, translate
from gongshu.masking import Technique
from gongshu.portal.ckan import action, find_resource
from gongshu.portal.ckan_schemas import Params, invalid
from gongshu.portalstats.collector import record as record_use
from gongshu.store.models import DatasetVersion
from gongshu.store.serving import ROW_COLUMN

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000  # the gate's largest page
MAX_OFFSET = 100_000
MAX_SCAN = 200_000
SCAN_PAGE = 5_000
ID_FIELD = "_id"
PURPOSE = N_("开放数据接口（CKAN datastore_search）")

MSG_OFFSET = N_("offset 最大为 {limit}；更深的分页请用 filters 缩小范围，或改用数据接口的游标分页")
MSG_SCAN = N_("按 q 全文检索最多检索 {limit} 行，当前筛选后有 {rows} 行；请先用 filters 缩小范围")
MSG_FIELD = N_("数据中没有字段“{field}”")
MSG_SORT = N_("排序写作“字段 asc”或“字段 desc”，多个用逗号分隔")
MSG_ID_SORT = N_("_id 只能升序排序")
MSG_FILTER_VALUE = N_("筛选值只能是文本、数字、布尔值或它们的数组")
MSG_RECORDS_FORMAT = N_("records_format 只支持 objects 和 lists")
MSG_DISTINCT = N_("不支持 distinct")

#: Gongshu field types → DataStore column types.
TYPES = {
    "string": "text",
    "text": "text",
    "integer": "int",
    "decimal": "numeric",
    "date": "date",
    "datetime": "timestamp",
    "boolean": "bool",
}


def _json_value(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return str(value)  # every digit kept (a float would round large or long decimals)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _filters(params: Params, schema_names: set[str]) -> list[Filter]:
    out: list[Filter] = []
    for name, value in params.mapping("filters").items():
        if name not in schema_names:
            raise ValidationFailed(MSG_FIELD, {"filters": [MSG_FIELD]}, field=name[:100])
        if isinstance(value, list):
            if not value or not all(isinstance(v, str | int | float | bool) for v in value):
                raise invalid("filters", MSG_FILTER_VALUE)
            out.append(Filter(name, "in", tuple(value)))
        elif isinstance(value, str | int | float | bool):
            out.append(Filter(name, "eq", value))
        else:
            raise invalid("filters", MSG_FILTER_VALUE)
    query = params.json_value("q")
    if isinstance(query, dict):
        for name, text in query.items():
            if str(name) not in schema_names:
                raise ValidationFailed(MSG_FIELD, {"q": [MSG_FIELD]}, field=str(name)[:100])
            if str(text).strip():
                out.append(Filter(str(name), "contains", str(text).strip()))
    return out


def _sort(params: Params, schema_names: set[str]) -> list[str]:
    value = params.json_value("sort")
    items = value if isinstance(value, list) else str(value or "").split(",")
    out: list[str] = []
    for item in items:
        parts = str(item).split()
        if not parts:
            continue
        name = parts[0].strip('"')
        direction = parts[1].lower() if len(parts) > 1 else "asc"
        if len(parts) > 2 or direction not in ("asc", "desc"):
            raise invalid("sort", MSG_SORT)
        if name == ID_FIELD:
            if direction == "desc":
                raise invalid("sort", MSG_ID_SORT)
            continue  # stored order is row order
        if name not in schema_names:
            raise ValidationFailed(MSG_FIELD, {"sort": [MSG_FIELD]}, field=name[:100])
        out.append(("-" if direction == "desc" else "") + name)
    return out


def _visible_names(
    session: Session, actor: Actor, dataset: Dataset, version: DatasetVersion
) -> list[str]:
    """The fields the reader sees; a reader the gate refuses gets its refusal recorded by
    the gate itself (a count, which reads no row) before the error leaves."""
    try:
        scope = gate.check_read(session, actor, dataset)
    except PermissionDenied:
        gate.count(session, actor, dataset, purpose=translate(PURPOSE, "zh"), version=version)
        raise
    scope = scope.for_schema(version.schema)
    return [n for n in version.field_names if scope.allows(n)]


def _pages(
    session: Session,
    actor: Actor,
    dataset: Dataset,
    version: DatasetVersion,
    purpose: str,
    *,
    columns: list[str],
    filters: Sequence[Filter],
    order_by: Sequence[str],
    after: str | None,
    size: int,
) -> Iterator[tuple[list[dict[str, Any]], dict[str, Technique], str | None]]:
    cursor = after
    while True:
        page = gate.read_page(
            session,
            actor,
            dataset,
            version=version,
            purpose=purpose,
            columns=columns,
            filters=filters,
            order_by=order_by,
            after=cursor,
            limit=size,
        )
        yield page.rows, dict(page.masks), page.next_cursor
        cursor = page.next_cursor
        if cursor is None:
            return


def _skip(
    session: Session,
    actor: Actor,
    dataset: Dataset,
    version: DatasetVersion,
    purpose: str,
    filters: Sequence[Filter],
    order_by: Sequence[str],
    offset: int,
) -> tuple[str | None, bool]:
    """The cursor after the first ``offset`` rows (and whether rows remain after it)."""
    skipped, cursor = 0, None
    while skipped < offset:
        rows, _masks, cursor = next(
            _pages(
                session,
                actor,
                dataset,
                version,
                purpose,
                columns=[ROW_COLUMN],
                filters=filters,
                order_by=order_by,
                after=cursor,
                size=min(MAX_LIMIT, offset - skipped),
            )
        )
        skipped += len(rows)
        if cursor is None:
            return None, False
    return cursor, True


def _matches(row: dict[str, Any], needle: str) -> bool:
    return any(
        isinstance(v, str) and needle in v.casefold() for k, v in row.items() if k != ROW_COLUMN
    )


def _record(row: dict[str, Any], names: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {ID_FIELD: row.get(ROW_COLUMN)}
    out.update((n, _json_value(row.get(n))) for n in names)
    return out


def _links(params: Params, offset: int, limit: int) -> dict[str, str]:
    base = "/api/3/action/datastore_search"
    kept: dict[str, str] = {}
    for key, value in params.data.items():
        if key in ("offset",) or value is None:
            continue
        kept[key] = (
            json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)
        )
    start = f"{base}?{urlencode(kept)}"
    return {"start": start, "next": f"{base}?{urlencode({**kept, 'offset': offset + limit})}"}


@action
def datastore_search(session: Session, actor: Actor, params: Params) -> dict[str, Any]:
    """Rows of an open dataset's resource (``resource_id``): ``filters`` (a dict of
    field → value or list of values), ``q`` (text, or a dict field → text), ``fields``,
    ``sort`` ("field asc, other desc"), ``limit`` (at most 10000), ``offset`` (at most
    100000), ``include_total``, ``records_format`` (objects or lists). Read through the
    gate: what the caller may read, masked as the gate decides, and audited."""
    dataset, version, _fmt = find_resource(
        session, params.required("resource_id", "id"), conditional=True
    )
    if params.has("distinct") and params.boolean("distinct", False):
        raise invalid("distinct", MSG_DISTINCT)
    records_format = params.text("records_format", "objects") or "objects"
    if records_format not in ("objects", "lists"):
        raise invalid("records_format", MSG_RECORDS_FORMAT)
    limit = params.integer("limit", DEFAULT_LIMIT, maximum=MAX_LIMIT)
    offset = params.integer("offset", 0)
    if offset > MAX_OFFSET:
        raise ValidationFailed(MSG_OFFSET, {"offset": [MSG_OFFSET]}, limit=MAX_OFFSET)
    include_total = params.boolean("include_total", True)
    purpose = params.text("purpose").strip()[:200] or translate(PURPOSE, "zh")
    schema_names = set(version.field_names)
    filters = _filters(params, schema_names)
    order_by = _sort(params, schema_names)
    visible = _visible_names(session, actor, dataset, version)
    wanted = [f for f in params.string_list("fields") if f != ID_FIELD]
    for name in wanted:
        if name not in schema_names:
            raise ValidationFailed(MSG_FIELD, {"fields": [MSG_FIELD]}, field=name[:100])
    names = wanted or visible
    columns = [*names, ROW_COLUMN]
    text_q = params.json_value("q")
    needle = text_q.strip().casefold() if isinstance(text_q, str) else ""

    total: int | None = None
    masks: dict[str, Technique] = {}
    rows: list[dict[str, Any]] = []
    if needle:
        available = gate.count(
            session, actor, dataset, purpose=purpose, filters=filters, version=version
        ).rows
        if available > MAX_SCAN:
            raise ValidationFailed(MSG_SCAN, {"q": [MSG_SCAN]}, limit=MAX_SCAN, rows=available)
        seen = 0
        for found, page_masks, _cursor in _pages(
            session,
            actor,
            dataset,
            version,
            purpose,
            columns=columns,
            filters=filters,
            order_by=order_by,
            after=None,
            size=SCAN_PAGE,
        ):
            masks = page_masks
            for row in found:
                if _matches(row, needle):
                    if offset <= seen < offset + limit:
                        rows.append(row)
                    seen += 1
            if not include_total and seen >= offset + limit:
                break
        total = seen if include_total else None
    else:
        if include_total:
            total = gate.count(
                session, actor, dataset, purpose=purpose, filters=filters, version=version
            ).rows
        cursor, more = (None, True)
        if offset:
            cursor, more = _skip(
                session, actor, dataset, version, purpose, filters, order_by, offset
            )
        if more and limit:
            rows, masks, _next = next(
                _pages(
                    session,
                    actor,
                    dataset,
                    version,
                    purpose,
                    columns=columns,
                    filters=filters,
                    order_by=order_by,
                    after=cursor,
                    size=limit,
                )
            )

    types = {str(f["name"]): str(f["type"]) for f in version.schema}
    labels = {str(f["name"]): str(f.get("label") or "") for f in version.schema}
    fields: list[dict[str, Any]] = [{"id": ID_FIELD, "type": "int"}]
    for name in names:
        info: dict[str, Any] = {"label": labels.get(name, ""), "type_override": ""}
        if name in masks:
            info["masked"] = str(masks[name])
        field_type = "text" if name in masks else TYPES.get(types.get(name, ""), "text")
        fields.append({"id": name, "type": field_type, "info": info})
    record_use("api_call", dataset.id, dataset.agency_id)
    records: list[Any] = [_record(r, names) for r in rows]
    if records_format == "lists":
        records = [[rec[ID_FIELD], *(rec[n] for n in names)] for rec in records]
    out: dict[str, Any] = {
        "resource_id": params.required("resource_id", "id"),
        "fields": fields,
        "records": records,
        "records_format": records_format,
        "limit": limit,
        "offset": offset,
        "include_total": include_total,
        "_links": _links(params, offset, limit),
    }
    if filters:
        out["filters"] = params.mapping("filters")
    if params.has("q"):
        out["q"] = params.json_value("q")
    if order_by:
        out["sort"] = ", ".join(
            f"{o.lstrip('-')} {'desc' if o.startswith('-') else 'asc'}" for o in order_by
        )
    if total is not None:
        out["total"] = total
        out["total_was_estimated"] = False
    return out


__all__ = ["MAX_LIMIT", "MAX_OFFSET", "MAX_SCAN", "datastore_search"]
