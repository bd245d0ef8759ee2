"""The responsibility list (责任清单) and the negative list (负面清单), built from the catalog.

- The responsibility list names, per agency, every catalog entry it provides: entry name,
  provider, information items, update cycle, share and open types.
- The negative list names the entries that are not shared (不予共享) or not opened (不予开放),
  with the legal basis (法律法规依据) and the stated conditions or reasons.

Which entries a list holds is always explicit:

- ``scope="published"`` (the default): published entries only — the lists as the bureau
  publishes them; the portal's public lists use this through ``public_rows``;
- ``scope="visible"``: every entry the reader may see (``queries.visible_clause``), so an
  officer can preview the lists with the agency's drafts.

Both scopes are always limited by what the reader may see. Exports are CSV (UTF-8 with a
BOM, so that spreadsheets read Chinese) and XLSX; every text cell passes ``safe_cell`` and
XLSX strings are stored as text, so no cell runs as a formula; the same data always gives
the same bytes.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.writer.excel import ExcelWriter
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import ColumnElement, Select, false, func, or_, select, true
from sqlalchemy.orm import Session, selectinload

from gongshu.auth.actor import Actor
from gongshu.auth.permissions import require_login
from gongshu.catalog import queries
from gongshu.catalog.models import Dataset, DatasetState, OpenType, ShareType
from gongshu.catalog.queries import ExportFormat, safe_cell, valid_id, visible_clause
from gongshu.i18n import N_, translate
from gongshu.labels import label
from gongshu.pagination import Page

ListKind = Literal["responsibility", "negative"]
ListScope = Literal["published", "visible"]
LIST_KINDS: tuple[ListKind, ...] = ("responsibility", "negative")
MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = 50

TITLES: dict[str, str] = {
    "responsibility": N_("公共数据责任清单"),
    "negative": N_("公共数据负面清单"),
}
SHARE_LABELS: dict[ShareType, str] = {
    ShareType.UNCONDITIONAL: N_("无条件共享"),
    ShareType.CONDITIONAL: N_("有条件共享"),
    ShareType.NONE: N_("不予共享"),
}
OPEN_LABELS: dict[OpenType, str] = {
    OpenType.UNCONDITIONAL: N_("无条件开放"),
    OpenType.CONDITIONAL: N_("有条件开放"),
    OpenType.NONE: N_("不予开放"),
}
SEP = N_("、")

RESPONSIBILITY_COLUMNS: tuple[str, ...] = (
    N_("序号"),
    N_("信息资源代码"),
    N_("信息资源名称"),
    N_("信息资源提供方"),
    N_("所属区划"),
    N_("信息项"),
    N_("更新周期"),
    N_("共享属性"),
    N_("开放属性"),
    N_("数据分级"),
    N_("状态"),
)
NEGATIVE_COLUMNS: tuple[str, ...] = (
    N_("序号"),
    N_("信息资源代码"),
    N_("信息资源名称"),
    N_("信息资源提供方"),
    N_("所属区划"),
    N_("共享属性"),
    N_("开放属性"),
    N_("法律法规依据"),
    N_("共享条件"),
    N_("开放条件"),
    N_("数据分级"),
    N_("状态"),
)


def _drop_blank(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if v not in ("", None)}
    return data


class ListFilter(BaseModel):
    """What a list holds: which agency or region, and the explicit state scope."""

    model_config = ConfigDict(str_strip_whitespace=True)

    agency_id: int | None = None
    region_id: int | None = None
    scope: ListScope = Field(
        default="published",
        description="published: published entries only; visible: every entry you may see",
    )

    @model_validator(mode="before")
    @classmethod
    def drop_blank(cls, data: Any) -> Any:
        return _drop_blank(data)

    def active(self) -> dict[str, Any]:
        """The filters that are set, as query-string values (the default scope left out)."""
        out = {k: v for k, v in self.model_dump().items() if v is not None}
        if out.get("scope") == "published":
            del out["scope"]
        return out


class DutyListRow(BaseModel):
    """One line of a list (JSON API); coded values as codes, names in the reader's language."""

    model_config = ConfigDict(from_attributes=True)

    dataset_id: int
    code: str
    title: str
    agency_id: int
    agency_name: str
    agency_code: str
    region_name: str
    fields: list[str]
    update_cycle: str
    share_type: ShareType
    open_type: OpenType
    level: str
    legal_basis: str
    share_conditions: str
    open_conditions: str
    state: DatasetState


class DutyListRead(BaseModel):
    """A whole list as the API returns it."""

    kind: ListKind
    title: str
    scope: ListScope
    total: int
    items: list[DutyListRow]


@dataclass(frozen=True)
class AgencyGroup:
    """The rows of one agency on a page of a list."""

    agency_id: int
    agency_name: str
    rows: list[Dataset]


def kind_clause(kind: ListKind) -> ColumnElement[bool]:
    """Which entries belong on a list: all of them, or the not-shared / not-opened ones."""
    if kind == "negative":
        return or_(Dataset.share_type == ShareType.NONE, Dataset.open_type == OpenType.NONE)
    if kind == "responsibility":
        return true()
    raise ValueError(f"unknown list {kind!r}")


def _statement(kind: ListKind, filters: ListFilter) -> Select[Dataset]:
    stmt = select(Dataset).where(kind_clause(kind))
    if filters.scope == "published":
        stmt = stmt.where(Dataset.state == DatasetState.PUBLISHED)
    for name in ("agency_id", "region_id"):
        value = getattr(filters, name)
        if value is not None:
            if not valid_id(value):
                return stmt.where(false())
            stmt = stmt.where(getattr(Dataset, name) == value)
    return stmt


def _ordered(stmt: Select[Dataset]) -> Select[Dataset]:
    from gongshu.orgs.models import Agency

    return (
        stmt.join(Agency, Agency.id == Dataset.agency_id)
        .options(selectinload(Dataset.agency), selectinload(Dataset.region))
        .order_by(Agency.name, Dataset.code, Dataset.id)
    )


def list_statement(
    actor: Actor | None, kind: ListKind, filters: ListFilter | None = None
) -> Select[Dataset]:
    """The SELECT of a list for a signed-in reader (visibility always applies)."""
    actor = require_login(actor)
    return _statement(kind, filters or ListFilter()).where(visible_clause(actor))


def list_rows(
    session: Session, actor: Actor | None, kind: ListKind, filters: ListFilter | None = None
) -> list[Dataset]:
    """Every entry of the list the reader may see, by agency name then code."""
    stmt = list_statement(actor, kind, filters)
    return list(session.scalars(_ordered(stmt)))


def public_rows(
    session: Session, kind: ListKind, filters: ListFilter | None = None
) -> list[Dataset]:
    """The list as the public sees it (the portal): published entries only, whatever scope
    the filter asks for.
    """
    f = (filters or ListFilter()).model_copy(update={"scope": "published"})
    return list(session.scalars(_ordered(_statement(kind, f))))


def list_page(
    session: Session,
    actor: Actor | None,
    kind: ListKind,
    filters: ListFilter | None = None,
    page: int = 1,
    per_page: int = DEFAULT_PER_PAGE,
) -> Page[Dataset]:
    """One page of a list (agencies, regions and fields loaded with one query each)."""
    stmt = list_statement(actor, kind, filters)
    page = max(1, page)
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.scalars(_ordered(stmt).limit(per_page).offset((page - 1) * per_page)).all()
    return Page(list(rows), total, page, per_page)


def group_by_agency(rows: Sequence[Dataset]) -> list[AgencyGroup]:
    """Consecutive rows of the same agency, as the pages show them."""
    groups: list[AgencyGroup] = []
    for ds in rows:
        if not groups or groups[-1].agency_id != ds.agency_id:
            groups.append(AgencyGroup(ds.agency_id, ds.agency.name, []))
        groups[-1].rows.append(ds)
    return groups


def share_label(value: ShareType) -> str:
    return translate(SHARE_LABELS[ShareType(value)])


def open_label(value: OpenType) -> str:
    return translate(OPEN_LABELS[OpenType(value)])


def field_labels(ds: Dataset) -> list[str]:
    return [f.label for f in ds.fields]


def to_read(kind: ListKind, scope: ListScope, rows: Sequence[Dataset]) -> DutyListRead:
    """The list as the JSON API returns it."""
    items = [
        DutyListRow(
            dataset_id=ds.id,
            code=ds.code,
            title=ds.title,
            agency_id=ds.agency_id,
            agency_name=ds.agency.name,
            agency_code=ds.agency.credit_code,
            region_name=translate(ds.region.name),
            fields=field_labels(ds),
            update_cycle=ds.update_cycle.value,
            share_type=ds.share_type,
            open_type=ds.open_type,
            level=ds.level.value,
            legal_basis=ds.legal_basis,
            share_conditions=ds.share_conditions,
            open_conditions=ds.open_conditions,
            state=ds.state,
        )
        for ds in rows
    ]
    return DutyListRead(
        kind=kind, title=translate(TITLES[kind]), scope=scope, total=len(items), items=items
    )


# ---------------------------------------------------------------------------------------
# Exports


def _row(kind: ListKind, n: int, ds: Dataset) -> list[Any]:
    common = [n, ds.code, ds.title, ds.agency.name, translate(ds.region.name)]
    if kind == "responsibility":
        return [
            *common,
            translate(SEP).join(field_labels(ds)),
            label(ds.update_cycle),
            share_label(ds.share_type),
            open_label(ds.open_type),
            label(ds.level),
            label(ds.state),
        ]
    return [
        *common,
        share_label(ds.share_type),
        open_label(ds.open_type),
        ds.legal_basis,
        ds.share_conditions,
        ds.open_conditions,
        label(ds.level),
        label(ds.state),
    ]


def table(kind: ListKind, rows: Sequence[Dataset]) -> list[list[Any]]:
    """Header and rows in the current language, every cell formula-safe."""
    columns = RESPONSIBILITY_COLUMNS if kind == "responsibility" else NEGATIVE_COLUMNS
    out: list[list[Any]] = [[translate(c) for c in columns]]
    out.extend([safe_cell(v) for v in _row(kind, n, ds)] for n, ds in enumerate(rows, start=1))
    return out


def to_csv(rows: list[list[Any]]) -> bytes:
    """UTF-8 with a BOM and CRLF line ends, as spreadsheets expect."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


def xlsx_bytes(wb: Workbook) -> bytes:
    """A workbook as deterministic bytes: fixed document times and zip timestamps."""
    wb.properties.creator = "Gongshu"
    wb.properties.created = queries._FIXED_DATETIME
    wb.properties.modified = queries._FIXED_DATETIME
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).save()
    return queries._normalise_zip(raw.getvalue())


def to_xlsx(sheet_title: str, rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet_title[:31]
    queries._fill_sheet(ws, rows)
    return xlsx_bytes(wb)


def export_list(
    session: Session,
    actor: Actor | None,
    kind: ListKind,
    fmt: ExportFormat,
    filters: ListFilter | None = None,
) -> bytes:
    """A list as CSV or XLSX (entries the reader may see, in the filter's scope)."""
    rows = table(kind, list_rows(session, actor, kind, filters))
    if fmt == "csv":
        return to_csv(rows)
    if fmt == "xlsx":
        return to_xlsx(translate(TITLES[kind]), rows)
    raise ValueError(f"unknown export format {fmt!r}")


def export_filename(kind: ListKind, fmt: ExportFormat) -> str:
    """``responsibility-list.csv`` … — ASCII, so every browser keeps it."""
    return f"{kind}-list.{fmt}"
