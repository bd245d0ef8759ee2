"""The open list (公共数据开放清单): what each agency, and the city, opens to the public.

Each public body must publish the list of the data it opens and keep it up to date
(seed 001 §29). The list is derived, never kept by hand: it holds exactly the entries the
portal shows — :func:`gongshu.portal.openness.public_entries_query`, the one rule of open
type and level — so an entry whose level forbids opening, or that is not (or no longer)
published, can never appear on it.

A line names the entry (resource code and name), its providing agency and domain, the open
type (with the conditions of a conditional one), update cycle, the formats it comes in, its
information items and when its data last changed. Filters: agency, domain, open type. The
same lines export as XLSX (the page's ``/open-list.xlsx`` and ``gongshu portal open-list``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from gongshu.catalog.duty_lists import OPEN_LABELS, SEP, field_labels, to_xlsx
from gongshu.catalog.models import Dataset, OpenType
from gongshu.catalog.queries import safe_cell, valid_id
from gongshu.i18n import N_, translate
from gongshu.labels import label
from gongshu.orgs.models import Agency
from gongshu.pagination import Page
from gongshu.portal.naming import DOWNLOAD_FORMATS, dataset_slug
from gongshu.portal.openness import public_clause, public_entries_query
from gongshu.store.models import DatasetHead, DatasetVersion
from gongshu.workdays.calendar import local_today

__all__ = [
    "COLUMNS",
    "OpenListFilter",
    "OpenListLine",
    "facets",
    "open_list",
    "open_list_page",
    "table",
    "to_workbook",
]

TITLE = N_("公共数据开放清单")
COLUMNS: tuple[str, ...] = (
    N_("序号"),
    N_("信息资源代码"),
    N_("信息资源名称"),
    N_("信息资源提供方"),
    N_("所属领域"),
    N_("开放属性"),
    N_("开放条件"),
    N_("更新周期"),
    N_("数据格式"),
    N_("信息项"),
    N_("最近更新"),
)
PER_PAGE = 50


@dataclass(frozen=True)
class OpenListFilter:
    """Which lines a list holds (None: no limit on that column)."""

    agency_id: int | None = None
    domain: str | None = None
    open_type: OpenType | None = None

    def active(self) -> dict[str, str]:
        """The filters that are set, as query-string values."""
        out: dict[str, str] = {}
        if self.agency_id is not None:
            out["agency"] = str(self.agency_id)
        if self.domain:
            out["domain"] = self.domain
        if self.open_type is not None:
            out["open_type"] = self.open_type.value
        return out


@dataclass(frozen=True)
class OpenListLine:
    """One line of the open list."""

    dataset: Dataset
    rows: int | None  # records in the live version (None: no data published yet)
    updated_at: dt.datetime | None  # when the live version was published

    @property
    def slug(self) -> str:
        return dataset_slug(self.dataset.code)

    @property
    def formats(self) -> list[str]:
        """Download formats when rows are published, else the catalog's resource format."""
        if self.rows is not None:
            return [f.upper() if f != "parquet" else "Parquet" for f in DOWNLOAD_FORMATS]
        return [label(self.dataset.format)]

    @property
    def last_update(self) -> dt.date | None:
        if self.updated_at is not None:
            return local_today(self.updated_at)
        published: dt.date | None = self.dataset.published_on
        return published


def _statement(filters: OpenListFilter) -> Any:
    stmt = (
        public_entries_query()
        .add_columns(DatasetVersion.row_count, DatasetVersion.published_at)
        .outerjoin(DatasetHead, DatasetHead.dataset_id == Dataset.id)
        .outerjoin(DatasetVersion, DatasetVersion.id == DatasetHead.version_id)
        .join(Agency, Agency.id == Dataset.agency_id)
    )
    if filters.agency_id is not None:
        stmt = stmt.where(
            Dataset.agency_id == (filters.agency_id if valid_id(filters.agency_id) else -1)
        )
    if filters.domain:
        stmt = stmt.where(Dataset.domain == filters.domain)
    if filters.open_type is not None:
        stmt = stmt.where(Dataset.open_type == filters.open_type)
    return stmt


def _lines(session: Session, stmt: Any) -> list[OpenListLine]:
    stmt = stmt.options(selectinload(Dataset.agency), selectinload(Dataset.fields)).order_by(
        Agency.name, Dataset.code
    )
    return [OpenListLine(ds, rows, at) for ds, rows, at in session.execute(stmt).all()]


def open_list(session: Session, filters: OpenListFilter | None = None) -> list[OpenListLine]:
    """Every line of the list, by agency name then code."""
    return _lines(session, _statement(filters or OpenListFilter()))


def open_list_page(
    session: Session, filters: OpenListFilter | None = None, page: int = 1
) -> Page[OpenListLine]:
    """One page of the list (what the portal page shows)."""
    stmt = _statement(filters or OpenListFilter())
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    page = max(1, min(page, max(1, -(-total // PER_PAGE))))
    items = _lines(session, stmt.limit(PER_PAGE).offset((page - 1) * PER_PAGE))
    return Page(items, total, page, PER_PAGE)


@dataclass(frozen=True)
class Facets:
    """The choices of the list's filters, each with how many public entries it holds."""

    agencies: list[tuple[int, str, int]]
    domains: list[tuple[str, int]]
    open_types: list[tuple[OpenType, int]]


def facets(session: Session) -> Facets:
    agencies = session.execute(
        select(Agency.id, Agency.name, func.count(Dataset.id))
        .join(Dataset, Dataset.agency_id == Agency.id)
        .where(public_clause())
        .group_by(Agency.id, Agency.name)
        .order_by(Agency.name)
    ).all()
    domains = session.execute(
        select(Dataset.domain, func.count(Dataset.id))
        .where(public_clause(), Dataset.domain != "")
        .group_by(Dataset.domain)
        .order_by(Dataset.domain)
    ).all()
    types: dict[OpenType, int] = {
        kind: int(n)
        for kind, n in session.execute(
            select(Dataset.open_type, func.count(Dataset.id))
            .where(public_clause())
            .group_by(Dataset.open_type)
        ).all()
    }
    return Facets(
        agencies=[(aid, name, int(n)) for aid, name, n in agencies],
        domains=[(d, int(n)) for d, n in domains],
        open_types=[(t, int(types[t])) for t in OpenType if t in types],
    )


def open_label(value: OpenType) -> str:
    return translate(OPEN_LABELS[OpenType(value)])


def _row(n: int, line: OpenListLine) -> list[Any]:
    ds = line.dataset
    last = line.last_update
    return [
        n,
        ds.code,
        ds.title,
        ds.agency.name,
        ds.domain,
        open_label(ds.open_type),
        ds.open_conditions if ds.open_type == OpenType.CONDITIONAL else "",
        label(ds.update_cycle),
        translate(SEP).join(line.formats),
        translate(SEP).join(field_labels(ds)),
        last.isoformat() if last is not None else "",
    ]


def table(lines: Sequence[OpenListLine]) -> list[list[Any]]:
    """Header and lines in the current language, every cell formula-safe."""
    out: list[list[Any]] = [[translate(c) for c in COLUMNS]]
    out.extend([safe_cell(v) for v in _row(n, line)] for n, line in enumerate(lines, start=1))
    return out


def to_workbook(lines: Sequence[OpenListLine]) -> bytes:
    """The list as an XLSX workbook (one sheet, a bold frozen header, text kept as text)."""
    return to_xlsx(translate(TITLE), table(lines))
