"""Frictionless Data Package descriptors (``datapackage.json``): one per open entry, and
one per exported CSV in the data API's bundle.

One tabular resource: the entry's rows as CSV, at the data API's export address (the file
the portal's download will serve). Its Table Schema comes from the live version's columns
(names, order and types: what the file holds) and the catalog's fields (labels,
descriptions, and the rules ingestion enforces):

========================  =============================================
catalog                   Table Schema
========================  =============================================
string, text              ``string`` (the length within ``pattern``)
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
must hold for every reader's file. The CSV export is UTF-8 with a byte-order mark (hence
``encoding``), a header line and the data rows, nothing else. Its CSV-injection guard
writes a text value that starts with ``=``, ``+``, ``-``, ``@``, tab, CR or ``'`` with one
leading ``'``, so text constraints describe the value *as written*: ``enum`` members carry
the apostrophe where the file will, and the length and pattern become one pattern that
accepts a value not starting with one of those characters, or ``'`` + a value that does —
each checked for the catalog's length and pattern.

``export_descriptor`` describes one export file (the data API's CSV bundle): the columns
the reader received (masked ones as text, without constraints), the file's byte count and
SHA-256, and the attribution the open-data rules ask for — source agency, entry code,
version, acquisition date and licence — with the export's fingerprint and id in the
``gongshu`` property.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from gongshu.catalog.models import Dataset, Field, Sensitivity
from gongshu.dataapi.exports import CSV_PREFIXED
from gongshu.errors import NotFound
from gongshu.i18n import N_, translate
from gongshu.portal import naming
from gongshu.portal.ckan import iso, live_versions
from gongshu.portal.openness import rows_are_open
from gongshu.settings import get_settings
from gongshu.store.models import DatasetVersion

MSG_NO_PACKAGE = N_("该数据集没有可下载的数据")
SHARE_LICENCE_NAME = "gongshu-share"
SHARE_LICENCE_TITLE = N_("政务数据共享：仅限授权用途使用，不得向第三方提供或公开")

TYPES = {
    "string": "string",
    "text": "string",
    "integer": "integer",
    "decimal": "number",
    "date": "date",
    "datetime": "datetime",
    "boolean": "boolean",
}
# The first characters the CSV guard prefixes with an apostrophe, as a regex class.
_RISKY = CSV_PREFIXED.pattern.removeprefix("^")


@dataclass(frozen=True)
class FileColumn:
    """One column as an export file writes it: its header, the field it holds, and whether
    the reader received it masked."""

    header: str
    field: str
    masked: bool = False


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
    if field_type == "string":
        _text_as_written(out, field.pattern or None, field.length or None)
    return out


def _guarded(value: Any) -> Any:
    """A text value as the CSV guard writes it."""
    return "'" + value if isinstance(value, str) and re.match(_RISKY, value) else value


def _text_as_written(out: dict[str, Any], pattern: str | None, length: int | None) -> None:
    """Text constraints that hold for the guarded file: ``enum`` members as written, and a
    pattern and length as one pattern — an apostrophe exactly when the value starts with a
    guarded character, then the value (checked for its length and the catalog's pattern)."""
    if "enum" in out:
        # The members already fix the length and the form.
        out["enum"] = [_guarded(v) for v in out["enum"]]
        return
    if pattern is None and length is None:
        return
    parts = [f"(?:'(?={_RISKY})|(?!{_RISKY}))"]
    if length is not None:
        parts.append(f"(?=[\\s\\S]{{0,{length}}}$)")
    parts.append(f"(?:{pattern})" if pattern is not None else "[\\s\\S]*")
    out["pattern"] = "".join(parts)


def _schema_field(
    name: str, column: Mapping[str, Any] | None, field: Field | None, *, masked: bool
) -> tuple[dict[str, Any], bool]:
    """A Table Schema field for one file column, and whether it belongs to the key."""
    is_key = bool(column and column.get("key")) or bool(field and field.is_key)
    # A masked column is text (``370102****``, a pseudonym), whatever the field's type.
    field_type = "string" if masked or column is None else TYPES.get(str(column["type"]), "string")
    label = (column or {}).get("label") or (field.label if field else "")
    out: dict[str, Any] = {"name": name, "title": str(label or name), "type": field_type}
    if field is not None and field.description:
        out["description"] = field.description
    if not masked:
        constraints = _constraints(field_type, field, is_key or bool(field and field.required))
        if constraints:
            out["constraints"] = constraints
    return out, is_key


def table_schema(
    dataset: Dataset, version: DatasetVersion, columns: Sequence[FileColumn] | None = None
) -> dict[str, Any]:
    """The Table Schema of a CSV file of the version: by default every column under its
    name (the portal's download), else the ``columns`` an export wrote. The key is declared
    only when every key column is in the file and in the clear."""
    by_name = {f.name: f for f in dataset.fields}
    specs = {str(c["name"]): c for c in version.schema}
    if columns is None:
        columns = [FileColumn(name, name) for name in specs]
    fields: list[dict[str, Any]] = []
    keys: list[str] = []
    written = {c.field: c for c in columns}
    for column in columns:
        out, is_key = _schema_field(
            column.header, specs.get(column.field), by_name.get(column.field), masked=column.masked
        )
        if is_key:
            keys.append(column.header)
        fields.append(out)
    key_fields = [
        n for n, c in specs.items() if c.get("key") or (n in by_name and by_name[n].is_key)
    ]
    schema: dict[str, Any] = {"fields": fields, "missingValues": [""]}
    if keys and all(k in written and not written[k].masked for k in key_fields):
        schema["primaryKey"] = keys
    return schema


def open_licence() -> dict[str, str]:
    settings = get_settings()
    return {
        "name": settings.open_license_id,
        "path": settings.open_license_url,
        "title": settings.open_license_title,
    }


def licence_of(dataset: Dataset) -> dict[str, str]:
    """The terms a file of the entry is under: the open licence for open rows, else the
    sharing terms (used only for the granted purpose, never passed on)."""
    if rows_are_open(dataset):
        return open_licence()
    return {
        "name": SHARE_LICENCE_NAME,
        "path": f"{naming.base_url()}/data-api",
        "title": translate(SHARE_LICENCE_TITLE),
    }


def _package(
    dataset: Dataset,
    version: DatasetVersion,
    *,
    homepage: str,
    licence: Mapping[str, str],
    resource: Mapping[str, Any],
    gongshu: Mapping[str, Any],
) -> dict[str, Any]:
    slug = naming.dataset_slug(dataset.code)
    agency = dataset.agency
    return {
        "profile": "tabular-data-package",
        "name": slug,
        "id": homepage,
        "title": dataset.title,
        "description": dataset.description,
        "homepage": homepage,
        "created": iso(version.published_at),
        "keywords": [str(t) for t in dataset.tags or [] if str(t).strip()],
        "licenses": [dict(licence)],
        "sources": [{"title": agency.name, "path": naming.agency_url(agency)}],
        "contributors": [{"title": agency.name, "role": "publisher"}],
        "resources": [
            {
                "name": slug,
                "profile": "tabular-data-resource",
                "title": dataset.title,
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "dialect": {"delimiter": ",", "header": True},
                **resource,
            }
        ],
        "gongshu": {
            "code": dataset.code,
            "agency": agency.name,
            "version": version.number,
            "acquired_at": iso(version.created_at),
            "published_at": iso(version.published_at),
            **gongshu,
        },
    }


def descriptor(session: Session, dataset: Dataset) -> dict[str, Any]:
    """The entry's Data Package descriptor (404 unless its rows are open and exist)."""
    version = live_versions(session, [dataset.id]).get(dataset.id)
    if version is None or not rows_are_open(dataset):
        raise NotFound(MSG_NO_PACKAGE)
    return _package(
        dataset,
        version,
        homepage=naming.dataset_url(dataset),
        licence=open_licence(),
        resource={
            "path": naming.export_url(dataset, "csv"),
            "schema": table_schema(dataset, version),
        },
        gongshu={"rows": version.row_count},
    )


def export_descriptor(
    dataset: Dataset,
    version: DatasetVersion,
    *,
    path: str,
    columns: Sequence[FileColumn],
    export: Mapping[str, Any],
    data_bytes: int | None = None,
    data_sha256: str | None = None,
) -> dict[str, Any]:
    """The descriptor of one exported CSV file (``path`` inside its bundle): the columns
    the reader received, the file's size and SHA-256 (when known: a streamed file's come
    at its end), the attribution, and ``export`` (the fingerprint, export id, rows …) in
    the ``gongshu`` property."""
    public = rows_are_open(dataset)
    homepage = (
        naming.dataset_url(dataset) if public else f"{naming.base_url()}/catalog/{dataset.id}"
    )
    resource: dict[str, Any] = {"path": path}
    if data_bytes is not None:
        resource["bytes"] = data_bytes
    if data_sha256 is not None:
        resource["hash"] = f"sha256:{data_sha256}"
    resource["schema"] = table_schema(dataset, version, columns)
    return _package(
        dataset,
        version,
        homepage=homepage,
        licence=licence_of(dataset),
        resource=resource,
        gongshu=export,
    )


__all__ = [
    "FileColumn",
    "descriptor",
    "export_descriptor",
    "licence_of",
    "open_licence",
    "table_schema",
]
