"""Reading the catalog: who sees which entries, filtered lists, and exports.

Visibility (one rule for pages, API, CLI and exports):

- the system itself (CLI, jobs, demo loader) and city-level bureau admins see every entry;
- a district bureau admin sees every entry of its own district;
- an agency officer sees every entry of its own agency, whatever its state;
- any other public-body user (anyone with an agency, or an admin, auditor or bureau role)
  sees published entries only;
- everyone else (the public, operators without an agency) sees none here: the open portal
  is their way in.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font
from openpyxl.writer.excel import ExcelWriter
from sqlalchemy import ColumnElement, Select, false, func, or_, select, true
from sqlalchemy.orm import Session, selectinload

from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.auth.permissions import Perm, can, require, require_login
from gongshu.catalog.classification import get_taxonomy
from gongshu.catalog.models import Dataset, DatasetState, Field
from gongshu.catalog.schemas import DatasetFilter
from gongshu.i18n import N_, translate
from gongshu.labels import label
from gongshu.orgs.models import Agency
from gongshu.pagination import Page
from gongshu.search import indexer
from gongshu.search.models import SearchTag

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20
_MAX_ID = 2**63 - 1

_PUBLIC_BODY_ROLES = (
    Role.BUREAU_ADMIN,
    Role.AUDITOR,
    Role.SYSTEM_ADMIN,
    Role.SECURITY_ADMIN,
    Role.AUDIT_ADMIN,
    Role.AGENCY_OFFICER,
    Role.AGENCY_CONSUMER,
)


def is_platform(actor: Actor) -> bool:
    """The platform itself (CLI, jobs, demo loader) — not a user, not an API key."""
    return actor.is_system and actor.api_key_id is None


def sees_everything(actor: Actor) -> bool:
    return is_platform(actor) or (can(actor, Perm.CATALOG_READ_ALL) and actor.city_scope)


def visible_clause(actor: Actor) -> ColumnElement[bool]:
    """A WHERE condition selecting the entries ``actor`` may read."""
    if sees_everything(actor):
        return true()
    conditions: list[ColumnElement[bool]] = []
    if can(actor, Perm.CATALOG_EDIT_OWN) and actor.agency_id is not None:
        conditions.append(Dataset.agency_id == actor.agency_id)
    if can(actor, Perm.CATALOG_READ_ALL) and actor.region_id is not None:
        conditions.append(Dataset.region_id == actor.region_id)
    if actor.agency_id is not None or actor.has(*_PUBLIC_BODY_ROLES):
        conditions.append(Dataset.state == DatasetState.PUBLISHED)
    return or_(false(), *conditions)


def valid_id(value: int) -> bool:
    """Ids outside the database's integer range name nothing (and must not reach it)."""
    return 0 < value <= _MAX_ID


def find_visible(session: Session, actor: Actor, dataset_id: int) -> Dataset | None:
    """The entry, if it exists and the actor may read it."""
    if not valid_id(dataset_id):
        return None
    stmt = select(Dataset).where(Dataset.id == dataset_id, visible_clause(actor))
    return session.scalars(stmt.options(selectinload(Dataset.agency))).one_or_none()


def find_by_code(session: Session, actor: Actor, code: str) -> Dataset | None:
    """The entry with this resource code, if the actor may read it."""
    stmt = select(Dataset).where(Dataset.code == code, visible_clause(actor))
    return session.scalars(stmt.options(selectinload(Dataset.agency))).one_or_none()


def related_entries(session: Session, actor: Actor, dataset: Dataset) -> list[Dataset]:
    """The entries this one names as related, in its order, leaving out those the actor may
    not read (their codes still show on the page)."""
    if not dataset.related_codes:
        return []
    stmt = select(Dataset).where(Dataset.code.in_(dataset.related_codes), visible_clause(actor))
    found = {d.code: d for d in session.scalars(stmt)}
    return [found[c] for c in dataset.related_codes if c in found]


def _filtered(actor: Actor, filters: DatasetFilter | None) -> Select[Dataset]:
    f = filters or DatasetFilter()
    stmt = select(Dataset).where(visible_clause(actor))
    if f.state is None:  # entries withdrawn by a change request leave every list
        stmt = stmt.where(Dataset.state != DatasetState.WITHDRAWN)
    if f.q:
        # The same matching as the search box (imported here: search builds on this module).
        from gongshu.search.service import matching_ids

        stmt = stmt.where(Dataset.id.in_(matching_ids(f.q)))
    for name in (
        "agency_id",
        "region_id",
        "category_class",
        "domain",
        "share_type",
        "open_type",
        "level",
        "update_cycle",
        "state",
    ):
        value = getattr(f, name)
        if value is not None:
            if name in ("agency_id", "region_id") and not valid_id(value):
                return stmt.where(false())
            stmt = stmt.where(getattr(Dataset, name) == value)
    if f.resource_format is not None:
        stmt = stmt.where(Dataset.format == f.resource_format)
    if f.tag:
        # The index's tag rows: the tags are a JSON list, which SQL cannot probe portably.
        tagged = select(SearchTag.dataset_id).where(SearchTag.tag == f.tag)
        stmt = stmt.where(Dataset.id.in_(tagged))
    return stmt


DatasetList = Page[Dataset]


def list_datasets(
    session: Session,
    actor: Actor | None,
    filters: DatasetFilter | None = None,
    page: int = 1,
    per_page: int = DEFAULT_PER_PAGE,
) -> DatasetList:
    """The entries the actor may read, filtered, ordered by code, one page at a time.

    Agencies and fields are loaded with one extra query each (no N+1).
    """
    actor = require_login(actor)
    page = max(1, page)
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    indexer.sync(session)  # the words and tag filters read the search index
    stmt = _filtered(actor, filters)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.scalars(
        stmt.options(selectinload(Dataset.agency))
        .order_by(Dataset.code, Dataset.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return DatasetList(list(rows), total, page, per_page)


def agency_choices(session: Session) -> list[tuple[int, str]]:
    """Agencies for filter selects, by name."""
    rows = session.execute(select(Agency.id, Agency.name).order_by(Agency.name)).all()
    return [(int(r[0]), str(r[1])) for r in rows]


# ---------------------------------------------------------------------------------------
# Exports

ExportFormat = Literal["csv", "xlsx"]

ENTRY_COLUMNS: tuple[str, ...] = (
    N_("信息资源代码"),
    N_("信息资源名称"),
    N_("信息资源提供方"),
    N_("提供方代码"),
    N_("信息资源分类"),
    N_("分类项"),
    N_("信息资源摘要"),
    N_("信息资源格式"),
    N_("所属领域"),
    N_("共享属性"),
    N_("共享条件"),
    N_("共享方式"),
    N_("开放属性"),
    N_("开放条件"),
    N_("数据分级"),
    N_("更新周期"),
    N_("法律法规依据"),
    N_("来源系统"),
    N_("发布日期"),
    N_("关联资源代码"),
    N_("标签"),
    N_("状态"),
)
FIELD_COLUMNS: tuple[str, ...] = (
    N_("信息资源代码"),
    N_("序号"),
    N_("信息项名称"),
    N_("中文名称"),
    N_("数据类型"),
    N_("长度"),
    N_("关键项"),
    N_("必填"),
    N_("可筛选"),
    N_("敏感类型"),
    N_("标识校验"),
    N_("枚举值"),
    N_("最小值"),
    N_("最大值"),
    N_("正则表达式"),
    N_("说明"),
)
ENTRIES_SHEET = N_("目录条目")
FIELDS_SHEET = N_("信息项")
YES = N_("是")
NO = N_("否")
LIST_SEP = N_("、")

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Fixed, so that the same catalog always exports to the same bytes.
_FIXED_DATETIME = dt.datetime(2000, 1, 1, tzinfo=dt.UTC).replace(tzinfo=None)
_ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def safe_cell(value: Any) -> Any:
    """A value a spreadsheet will show as text, never run as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _yes_no(value: bool) -> str:
    return translate(YES) if value else translate(NO)


def _entry_row(ds: Dataset) -> list[Any]:
    item = get_taxonomy().item_name(ds.category_class, ds.item_code)
    return [
        ds.code,
        ds.title,
        ds.agency.name,
        ds.agency.credit_code,
        label(ds.category_class),
        f"{ds.item_code} {translate(item)}" if item else ds.item_code,
        ds.description,
        label(ds.format),
        ds.domain,
        label(ds.share_type),
        ds.share_conditions,
        ds.share_method,
        label(ds.open_type),
        ds.open_conditions,
        label(ds.level),
        label(ds.update_cycle),
        ds.legal_basis,
        ds.source_system,
        ds.published_on.isoformat() if ds.published_on else "",
        translate(LIST_SEP).join(str(c) for c in ds.related_codes),
        translate(LIST_SEP).join(str(t) for t in ds.tags),
        label(ds.state),
    ]


def _identifier_label(identifier: str) -> str:
    from gongshu.catalog.service import IDENTIFIER_LABELS  # service imports this module
    from gongshu.ingest.spec import IdentifierKind

    return translate(IDENTIFIER_LABELS[IdentifierKind(identifier)]) if identifier else ""


def _field_row(ds: Dataset, f: Field) -> list[Any]:
    return [
        ds.code,
        f.position + 1,
        f.name,
        f.label,
        label(f.data_type),
        f.length if f.length is not None else "",
        _yes_no(f.is_key),
        _yes_no(f.required),
        _yes_no(f.filterable),
        label(f.sensitivity),
        _identifier_label(f.identifier),
        # One value per line: the import template reads them back the same way.
        "\n".join(f.choices),
        f.min_value or "",
        f.max_value or "",
        f.pattern or "",
        f.description,
    ]


def _tables(datasets: Sequence[Dataset]) -> tuple[list[list[Any]], list[list[Any]]]:
    entries = [[translate(c) for c in ENTRY_COLUMNS]]
    fields = [[translate(c) for c in FIELD_COLUMNS]]
    for ds in datasets:
        entries.append([safe_cell(v) for v in _entry_row(ds)])
        fields.extend([safe_cell(v) for v in _field_row(ds, f)] for f in ds.fields)
    return entries, fields


def _csv(entries: list[list[Any]], fields: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(entries)
    writer.writerow([])
    writer.writerow([translate(FIELDS_SHEET)])
    writer.writerows(fields)
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


def _fill_sheet(ws: Any, rows: Iterable[list[Any]]) -> None:
    bold = Font(bold=True)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            cell: Cell = ws.cell(row=r, column=c)
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"  # text, even if it looks like a formula
            if r == 1:
                cell.font = bold
    ws.freeze_panes = "A2"


def _xlsx(entries: list[list[Any]], fields: list[list[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = translate(ENTRIES_SHEET)
    _fill_sheet(ws, entries)
    _fill_sheet(wb.create_sheet(translate(FIELDS_SHEET)), fields)
    wb.properties.creator = "Gongshu"
    wb.properties.created = _FIXED_DATETIME
    wb.properties.modified = _FIXED_DATETIME
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        # ExcelWriter, unlike save_workbook, leaves the modified time we set alone.
        ExcelWriter(wb, archive).save()
    return _normalise_zip(raw.getvalue())


def _normalise_zip(data: bytes) -> bytes:
    """The same archive with fixed timestamps and attributes (byte-identical output)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_ZIP_DATE_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            fixed.create_system = 0
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def export_catalog(
    session: Session,
    actor: Actor | None,
    fmt: ExportFormat,
    filters: DatasetFilter | None = None,
) -> bytes:
    """Every entry the actor may read (filtered), ordered by code, as CSV or XLSX.

    Two tables: the entries, then their fields. Headers and coded values are shown in the
    current language; cells that a spreadsheet would run as formulas start with an
    apostrophe. The same data always gives the same bytes.
    """
    actor = require(actor, Perm.CATALOG_EXPORT)
    indexer.sync(session)
    stmt = _filtered(actor, filters).options(selectinload(Dataset.agency))
    datasets = session.scalars(stmt.order_by(Dataset.code, Dataset.id)).all()
    entries, fields = _tables(datasets)
    if fmt == "csv":
        return _csv(entries, fields)
    if fmt == "xlsx":
        return _xlsx(entries, fields)
    raise ValueError(f"unknown export format {fmt!r}")


def export_filename(fmt: ExportFormat) -> str:
    """``catalog.csv`` / ``catalog.xlsx`` — ASCII, so every browser keeps it."""
    return f"catalog.{fmt}"


# Full-width comma, full-width semicolon and the ideographic comma (，；、) separate too.
_WIDE_SEPARATORS = "".join(chr(c) for c in (0xFF0C, 0xFF1B, 0x3001))
_SPLIT = re.compile(rf"[\s,;{_WIDE_SEPARATORS}]+")


def split_list(text: str) -> list[str]:
    """Codes or tags typed into one box, separated by spaces, commas or 、."""
    return [part for part in _SPLIT.split(text or "") if part]


# Keep the search index in step with every write of an entry (see gongshu.search.indexer).
# Imported last: the indexer needs the catalog models, not this module.
import gongshu.search.indexer  # noqa: E402, F401
