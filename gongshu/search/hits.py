"""The entries of a result page, read as plain rows rather than ``Dataset`` objects.

A page is 20 to 100 entries, each with its agency and fields. Loading them through the ORM
(identity map, change tracking, the ``agency`` and ``fields`` relationships) took twice as
long as the two plain statements here, and a search only ever reads them. A ``DatasetHit``
offers what the catalog list, the CLI and ``DatasetRead`` read of an entry: every column of
``dataset`` as an attribute, ``agency`` (id, name, short name) and ``fields`` (every column
of ``dataset_field``, in position order).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Integer, Row, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY

from gongshu.catalog.models import Dataset, DatasetState, Field
from gongshu.orgs.models import Agency

_DATASET = Dataset.__table__
_FIELD = Field.__table__


@dataclass(frozen=True, slots=True)
class AgencyRef:
    """The provider agency of an entry, as lists show it."""

    id: int
    name: str
    short_name: str


class DatasetHit:
    """One catalog entry of a result page: its ``dataset`` columns, agency and fields.

    Read-only: it is a search result, not an object to change and flush. The annotated
    attributes are the ones code outside templates reads; every other column of ``dataset``
    is there as well (``DatasetRead.model_validate`` reads them all).
    """

    __slots__ = ("_values", "agency", "fields")

    id: int
    code: str
    title: str
    state: DatasetState
    updated_at: dt.datetime

    def __init__(self, values: dict[str, Any], agency: AgencyRef, fields: list[Row[Any]]):
        self._values = values
        self.agency = agency
        self.fields = fields

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # never recurse through a half-built object (copy, pickle)
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"<DatasetHit {self._values.get('id')} {self._values.get('code')}>"


def among(conn: Connection, ids: Sequence[int], column: Any) -> ColumnElement[bool]:
    """``column`` is one of ``ids``, as one parameter rather than one per id: PostgreSQL
    would parse and plan hundreds of them each time, and expanding thousands of them cost
    SQLAlchemy more than SQLite's query (SQLite reads them from a JSON array instead)."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(Integer)))  # type: ignore[no-any-return]
    listed = func.json_each(bindparam(None, json.dumps([int(i) for i in ids]))).table_valued(
        "value"
    )
    return column.in_(select(listed.c.value))  # type: ignore[no-any-return]


def load_hits(conn: Connection, ids: Sequence[int]) -> list[DatasetHit]:
    """The entries ``ids``, in that order (ids no longer there are left out)."""
    if not ids:
        return []
    rows = conn.execute(
        select(_DATASET, Agency.name.label("_agency"), Agency.short_name.label("_short"))
        .join_from(_DATASET, Agency, Agency.id == _DATASET.c.agency_id)
        .where(among(conn, ids, _DATASET.c.id))
    ).all()
    fields: dict[int, list[Row[Any]]] = {}
    for f in conn.execute(
        select(_FIELD)
        .where(among(conn, ids, _FIELD.c.dataset_id))
        .order_by(_FIELD.c.dataset_id, _FIELD.c.position, _FIELD.c.id)
    ):
        fields.setdefault(int(f.dataset_id), []).append(f)
    by_id: dict[int, DatasetHit] = {}
    for row in rows:
        values = dict(row._mapping)
        agency = AgencyRef(int(values["agency_id"]), values.pop("_agency"), values.pop("_short"))
        by_id[int(values["id"])] = DatasetHit(values, agency, fields.get(int(values["id"]), []))
    return [by_id[i] for i in ids if i in by_id]
