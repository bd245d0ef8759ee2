"""A Frictionless Data Package descriptor (``datapackage.json``) per open entry.

One tabular resource: the entry's rows as CSV, at the data API's export address (the file
the portal's download will serve). Its Table Schema comes from the live version's columns
(names, order and types: what the file holds) and the catalog's fields (labels,
descriptions, and the rules ingestion enforces):

========================  =============================================
catalog                   Table Schema
========================  =============================================
string, text              ``string`` (``maxLength`` from the length)
integer                   ``integer``
decimal                   ``number``
date / datetime           ``date`` / ``datetime``
boolean                   ``boolean``
required                  ``constraints.required``
choices                   ``constraints.enum`` (typed)
min / max value           ``constraints.minimum`` / ``maximum``
pattern                   ``constraints.pattern``
key fields                ``primaryKey``
========================  =============================================

A field with a sensitivity other than ``none`` may reach a reader masked (``370102****``)
or not at all, so its value constraints are left out (``required`` stays): the descriptor
must hold for every reader's file. The CSV export is UTF-8 with a byte-order mark and ends
with one ``#gongshu-fingerprint=…`` line, hence ``encoding`` and the dialect's
``commentChar``.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from sqlalchemy.orm import Session

from gongshu.catalog.models import Dataset, Field, Sensitivity
from gongshu.errors import NotFound
from gongshu.i18n import N_
from gongshu.portal import naming
from gongshu.portal.ckan import iso, live_versions
from gongshu.portal.openness import rows_are_open
from gongshu.settings import get_settings
from gongshu.store.models import DatasetVersion

MSG_NO_PACKAGE = N_("该数据集没有可下载的数据")

TYPES = {
    "string": "string",
    "text": "string",
    "integer": "integer",
    "decimal": "number",
    "date": "date",
    "datetime": "datetime",
    "boolean": "boolean",
}


def _typed(field_type: str, text: str) -> Any:
    """A rule's value (stored as text) in the JSON type the Table Schema field takes."""
    if field_type == "integer":
        return int(text)
    if field_type == "number":
        number = decimal.Decimal(text)
        return int(number) if number == number.to_integral_value() else float(number)
    if field_type == "boolean":
        return text.strip().lower() in ("true", "1", "yes")
    if field_type == "date":
        return dt.date.fromisoformat(text.strip()).isoformat()
    return text


def _constraints(field_type: str, field: Field | None, required: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if required:
        out["required"] = True
    if field is None or field.sensitivity is not Sensitivity.NONE:
        return out
    try:
        if field.choices:
            out["enum"] = [_typed(field_type, str(c)) for c in field.choices]
        if field.min_value not in (None, ""):
            out["minimum"] = _typed(field_type, str(field.min_value))
        if field.max_value not in (None, ""):
            out["maximum"] = _typed(field_type, str(field.max_value))
    except (ValueError, decimal.InvalidOperation):
        pass  # a rule the catalog accepted for another type: leave it out rather than lie
    if field.pattern and field_type == "string":
        out["pattern"] = field.pattern
    if field.length and field_type == "string":
        out["maxLength"] = field.length
    return out


def table_schema(dataset: Dataset, version: DatasetVersion) -> dict[str, Any]:
    """The Table Schema of the live version's columns."""
    by_name = {f.name: f for f in dataset.fields}
    fields: list[dict[str, Any]] = []
    keys: list[str] = []
    for column in version.schema:
        name = str(column["name"])
        field = by_name.get(name)
        field_type = TYPES.get(str(column["type"]), "string")
        is_key = bool(column.get("key")) or bool(field and field.is_key)
        if is_key:
            keys.append(name)
        out: dict[str, Any] = {
            "name": name,
            "title": str(column.get("label") or (field.label if field else name)),
            "type": field_type,
        }
        if field is not None and field.description:
            out["description"] = field.description
        constraints = _constraints(field_type, field, is_key or bool(field and field.required))
        if constraints:
            out["constraints"] = constraints
        fields.append(out)
    schema: dict[str, Any] = {"fields": fields, "missingValues": [""]}
    if keys:
        schema["primaryKey"] = keys
    return schema


def descriptor(session: Session, dataset: Dataset) -> dict[str, Any]:
    """The entry's Data Package descriptor (404 unless its rows are open and exist)."""
    version = live_versions(session, [dataset.id]).get(dataset.id)
    if version is None or not rows_are_open(dataset):
        raise NotFound(MSG_NO_PACKAGE)
    settings = get_settings()
    slug = naming.dataset_slug(dataset.code)
    agency = dataset.agency
    return {
        "profile": "tabular-data-package",
        "name": slug,
        "id": naming.dataset_url(dataset),
        "title": dataset.title,
        "description": dataset.description,
        "homepage": naming.dataset_url(dataset),
        "created": iso(version.published_at),
        "keywords": [str(t) for t in dataset.tags or [] if str(t).strip()],
        "licenses": [
            {
                "name": settings.open_license_id,
                "path": settings.open_license_url,
                "title": settings.open_license_title,
            }
        ],
        "sources": [{"title": agency.name, "path": naming.agency_url(agency)}],
        "contributors": [{"title": agency.name, "role": "publisher"}],
        "resources": [
            {
                "name": slug,
                "path": naming.export_url(dataset, "csv"),
                "profile": "tabular-data-resource",
                "title": dataset.title,
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "dialect": {"delimiter": ",", "header": True, "commentChar": "#"},
                "schema": table_schema(dataset, version),
            }
        ],
        "gongshu": {
            "code": dataset.code,
            "version": version.number,
            "rows": version.row_count,
            "published_at": iso(version.published_at),
        },
    }


__all__ = ["descriptor", "table_schema"]
