"""Bulk compiling of the catalog from an XLSX template (目录批量编制).

The template (``build_template``) has four sheets: 目录条目 (one entry per row, keyed by
its 条目编号), 信息项 (one field per row, pointing at its entry's 条目编号), 可选值 (the
Chinese labels of every coded column; the coded columns offer them as drop-downs) and
填写说明 (instructions).

``import_catalog`` reads an uploaded workbook in this order, and refuses it before any
spreadsheet parsing when it is unsafe:

1. the upload is at most ``GONGSHU_IMPORT_MAX_BYTES``;
2. the zip directory (read with ``zipfile``, nothing decompressed yet) has a sane number of
   members, a total uncompressed size under ``GONGSHU_IMPORT_MAX_UNCOMPRESSED_BYTES`` and a
   compression ratio under ``GONGSHU_IMPORT_MAX_COMPRESSION_RATIO`` (zip bombs). The sizes
   in the directory bind: Python's zip reader stops at the declared size and fails the CRC;
3. openpyxl reads with ``data_only=False`` in read-only mode, at most
   ``GONGSHU_IMPORT_MAX_ROWS`` rows per sheet; formulas are never evaluated — a cell that
   holds one is an error for that cell.

Every row is then checked: first its cells (required, coded values, numbers, dates), then
the entry as a whole by ``service.create_dataset`` itself — the same rules as the form and
the API — each row in its own savepoint. All errors of all rows are reported at once, with
sheet, row, column and reason, and as an annotated copy of the upload (bad cells filled red
with a comment, plus an "错误" column). Nothing is saved when any row is rejected, unless
the caller asks for the valid rows only; the import is one transaction: one
``dataset.create`` audit entry per created entry (the service records them) and one
``catalog.import``.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import io
import re
import warnings
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from pydantic import ValidationError
from sqlalchemy.orm import Session

from gongshu.audit import service as audit
from gongshu.auth.actor import Actor
from gongshu.auth.permissions import Perm, require
from gongshu.catalog import service
from gongshu.catalog.classification import get_taxonomy
from gongshu.catalog.duty_lists import OPEN_LABELS, SHARE_LABELS, xlsx_bytes
from gongshu.catalog.models import (
    CategoryClass,
    FieldType,
    Level,
    OpenType,
    ResourceFormat,
    Sensitivity,
    ShareType,
    UpdateCycle,
)
from gongshu.catalog.queries import safe_cell, split_list
from gongshu.catalog.schemas import DatasetCreate
from gongshu.db import unit_of_work
from gongshu.errors import GongshuError, PermissionDenied, ValidationFailed
from gongshu.i18n import N_, translate
from gongshu.ingest.spec import IdentifierKind
from gongshu.labels import LABELS
from gongshu.search import indexer
from gongshu.settings import Settings, get_settings
from gongshu.validation import errors_from_pydantic

MAX_COLUMNS = 60
MAX_MEMBERS = 2000
TEMPLATE_ROWS = 1000  # rows of the template that carry the drop-downs
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

ENTRIES_SHEET = N_("目录条目")
FIELDS_SHEET = N_("信息项")
VALUES_SHEET = N_("可选值")
HELP_SHEET = N_("填写说明")
ERROR_HEADER = N_("错误")
LIST_SEP = N_("、")
NOTE_SEP = N_("；")
HEADER_MESSAGE = N_("{header}：{message}")
YES = N_("是")
NO = N_("否")
YES_NO = N_("是否")
ITEM_HEADER = N_("分类项")

# Refusals of the whole file
REFUSED = N_("文件未导入：{reason}")
TOO_LARGE = N_("文件超过 {max} 字节的上限")
NOT_XLSX = N_("文件不是 Excel 工作簿（.xlsx）")
TOO_MANY_MEMBERS = N_("工作簿内部文件过多，疑似恶意文件")
TOO_BIG_UNCOMPRESSED = N_("工作簿解压后超过 {max} 字节的上限，疑似压缩炸弹")
RATIO_TOO_HIGH = N_("工作簿压缩比超过 {max} 倍，疑似压缩炸弹")
UNREADABLE = N_("无法读取工作簿：{error}")
NO_ENTRIES_SHEET = N_("工作簿中没有“目录条目”工作表")
TOO_MANY_ROWS = N_("工作表“{sheet}”超过 {max} 行的上限")
NO_ROWS = N_("“目录条目”工作表中没有要导入的条目")
MISSING_COLUMN = N_("缺少必需的列“{column}”")

# Cell errors
FORMULA = N_("单元格含有公式，不予计算；请直接填写值")
REQUIRED = N_("此项为必填项")
BAD_CHOICE = N_("“{value}”不是可选值，可选：{choices}")
BAD_ITEM = N_("分类项应为两位数字，如“02”或“02 法人单位”")
BAD_INT = N_("应为整数")
BAD_BOOL = N_("应填“是”或“否”")
BAD_DATE = N_("应为日期（YYYY-MM-DD）")
REF_DUPLICATE = N_("条目编号“{ref}”重复")
REF_UNKNOWN = N_("条目编号“{ref}”在“目录条目”工作表中不存在")
TOO_LONG = N_("长度不能超过 {max} 个字符")

# Instructions
HELP_REQUIRED = N_("必填")
HELP_OPTIONAL = N_("选填")
HELP_HEAD = (N_("工作表"), N_("列"), N_("是否必填"), N_("说明"))
HELP_INTRO = (
    N_("每行填写一个目录条目，条目编号由您自定，在本工作簿内唯一。"),
    N_("在“信息项”工作表中每行填写一个信息项，用条目编号指明所属条目。"),
    N_("带下拉框的列请从下拉列表中选择，可选值见“可选值”工作表。"),
    N_("不要使用公式：含公式的单元格会被拒绝。"),
    N_("任何一行有误时不导入任何条目，并返回标注了错误的工作簿；也可选择只导入无误的行。"),
    N_("条目导入后为草稿，属于导入人所在机构，按常规流程提交审核。"),
)


class ImportRefused(ValidationFailed):
    """The whole file is refused before (or instead of) reading its rows."""


def _refuse(reason: str, **params: object) -> ImportRefused:
    text = translate(reason).format(**params)
    return ImportRefused(REFUSED, {"file": [text]}, reason=text)


# ---------------------------------------------------------------------------------------
# Columns


@dataclass(frozen=True)
class Column:
    """One column of a template sheet: the attribute it fills and how its cells read."""

    key: str
    header: str  # Chinese message id
    kind: str = "text"  # text | enum | item | int | bool | date | list | choices | bound
    required: bool = False
    choices: type[enum.Enum] | None = None
    help: str = ""
    max_length: int | None = None


ENTRY_COLUMNS: tuple[Column, ...] = (
    Column("ref", N_("条目编号"), required=True, help=N_("本工作簿内唯一，信息项用它指明所属条目")),
    Column("title", N_("信息资源名称"), required=True, max_length=200),
    Column("description", N_("信息资源摘要"), max_length=5000),
    Column("category_class", N_("信息资源分类"), "enum", True, CategoryClass),
    Column("item_code", N_("分类项"), "item", True, help=N_("两位数字，如“02”或“02 法人单位”")),
    Column("subitem_code", N_("子项代码"), help=N_("三位数字，默认 001")),
    Column("detail_code", N_("细目代码"), help=N_("可为空；数字或大写字母")),
    Column("domain", N_("所属领域"), max_length=50),
    Column("format", N_("信息资源格式"), "enum", False, ResourceFormat, N_("默认为数据库")),
    Column("share_type", N_("共享属性"), "enum", True, ShareType),
    Column("share_conditions", N_("共享条件"), max_length=2000),
    Column("share_method", N_("共享方式"), max_length=100),
    Column("open_type", N_("开放属性"), "enum", True, OpenType),
    Column("open_conditions", N_("开放条件"), max_length=2000),
    Column("level", N_("数据分级"), "enum", True, Level),
    Column("update_cycle", N_("更新周期"), "enum", True, UpdateCycle),
    Column(
        "legal_basis",
        N_("法律法规依据"),
        help=N_("有条件共享、不予共享时必填"),
        max_length=2000,
    ),
    Column("source_system", N_("来源系统"), max_length=200),
    Column("published_on", N_("发布日期"), "date"),
    Column("related_codes", N_("关联资源代码"), "list", help=N_("多个代码用顿号或逗号分隔")),
    Column("tags", N_("标签"), "list", help=N_("多个标签用顿号或逗号分隔")),
)
FIELD_COLUMNS: tuple[Column, ...] = (
    Column("ref", N_("条目编号"), required=True, help=N_("所属条目在“目录条目”工作表中的编号")),
    Column("name", N_("信息项名称"), required=True, help=N_("小写字母、数字和下划线，以字母开头")),
    Column("label", N_("中文名称"), required=True, max_length=100),
    Column("data_type", N_("数据类型"), "enum", False, FieldType, N_("默认为字符串")),
    Column("length", N_("长度"), "int"),
    Column("is_key", N_("关键项"), "bool", help=N_("是或否；每个条目至少一个关键项")),
    Column("required", N_("必填"), "bool", help=N_("是或否；关键项必须必填")),
    Column("filterable", N_("可筛选"), "bool", help=N_("是或否")),
    Column("sensitivity", N_("敏感类型"), "enum", False, Sensitivity, N_("默认为不予（无）")),
    Column("description", N_("说明"), max_length=1000),
    Column(
        "identifier",
        N_("标识校验"),
        "enum",
        False,
        IdentifierKind,
        N_("汇聚时按所选标识检查校验位；空为不校验"),
    ),
    Column(
        "choices",
        N_("枚举值"),
        "choices",
        help=N_("仅字符串类型；多个值用顿号或换行分隔"),
    ),
    Column(
        "min_value",
        N_("最小值"),
        "bound",
        help=N_("仅整数、小数、日期、日期时间类型，如 0、2020-01-01"),
        max_length=64,
    ),
    Column("max_value", N_("最大值"), "bound", help=N_("同最小值"), max_length=64),
    Column(
        "pattern",
        N_("正则表达式"),
        help=N_("仅字符串、长文本类型；整个值须匹配，不支持反向引用和前后断言"),
        max_length=200,
    ),
)
_CHOICE_SPLIT = re.compile(r"[\r\n\u3001]+")  # line breaks and 、

_YES = {YES, "y", "yes", "true", "1", "√", "✓", "x"}
_NO = {NO, "n", "no", "false", "0", ""}
_ITEM = re.compile(r"^\s*(\d{2})(?:\s.*)?$")


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text).casefold()


def choice_labels(cls: type[enum.Enum]) -> list[str]:
    """The Chinese labels a coded column offers in the template, in the enum's order."""
    members = list(cls)
    if cls is Level:
        members.reverse()  # strictest last in the enum; people pick from the top
    out: list[str] = []
    for member in members:
        if cls is IdentifierKind:
            out.append(service.IDENTIFIER_LABELS[IdentifierKind(member.value)])
        elif cls is ShareType:
            out.append(SHARE_LABELS[ShareType(member.value)])
        elif cls is OpenType:
            out.append(OPEN_LABELS[OpenType(member.value)])
        else:
            out.append(LABELS.get(str(member.value), str(member.value)))
    return out


def _choice_lookup(cls: type[enum.Enum]) -> dict[str, str]:
    """Every spelling a coded cell may use → the code: the code itself, the short and the
    long label, in Chinese and in English.
    """
    lookup: dict[str, str] = {}
    for member in cls:
        value = str(member.value)
        names = {value, LABELS.get(value, value)}
        if cls is ShareType:
            names.add(SHARE_LABELS[ShareType(value)])
        if cls is OpenType:
            names.add(OPEN_LABELS[OpenType(value)])
        if cls is IdentifierKind:
            names.add(service.IDENTIFIER_LABELS[IdentifierKind(value)])
        for name in list(names):
            names.add(translate(name, "en"))
        for name in names:
            lookup.setdefault(_norm(name), value)
    return lookup


def item_choices() -> list[str]:
    """``02 法人单位``-style values for the 分类项 drop-down (every class, in order)."""
    taxonomy = get_taxonomy()
    seen: dict[str, None] = {}
    for cls in CategoryClass:
        for code, name in taxonomy.items.get(cls, ()):
            seen.setdefault(f"{code} {name}", None)
    return list(seen)


# ---------------------------------------------------------------------------------------
# The template


def _header_text(col: Column) -> str:
    return col.header + ("*" if col.required else "")


def build_template() -> bytes:
    """The XLSX template (Chinese labels, drop-downs for coded columns), same bytes always."""
    wb = Workbook()
    entries = wb.active
    assert entries is not None
    entries.title = ENTRIES_SHEET
    fields = wb.create_sheet(FIELDS_SHEET)
    values = wb.create_sheet(VALUES_SHEET)
    help_ws = wb.create_sheet(HELP_SHEET)

    # Allowed values: one column per coded column, header = the column's name.
    lists: dict[str, tuple[str, int]] = {}  # header → (column letter, count)
    coded: list[Column] = [c for c in (*ENTRY_COLUMNS, *FIELD_COLUMNS) if c.kind in ("enum",)]
    coded_headers: dict[str, list[str]] = {}
    for col in coded:
        assert col.choices is not None
        coded_headers.setdefault(col.header, choice_labels(col.choices))
    coded_headers[ITEM_HEADER] = item_choices()
    coded_headers[YES_NO] = [YES, NO]
    bold = Font(bold=True)
    for i, (header, options) in enumerate(coded_headers.items(), start=1):
        letter = get_column_letter(i)
        cell = values.cell(row=1, column=i, value=header)
        cell.font = bold
        for r, option in enumerate(options, start=2):
            values.cell(row=r, column=i, value=option).data_type = "s"
        values.column_dimensions[letter].width = 18
        lists[header] = (letter, len(options))

    def add_sheet(ws: Any, columns: Sequence[Column]) -> None:
        required_fill = PatternFill("solid", fgColor="FFF2CC")
        for i, col in enumerate(columns, start=1):
            letter = get_column_letter(i)
            cell = ws.cell(row=1, column=i, value=_header_text(col))
            cell.font = bold
            if col.required:
                cell.fill = required_fill
            ws.column_dimensions[letter].width = max(10, min(30, len(col.header) * 3))
            source = {"enum": col.header, "item": ITEM_HEADER, "bool": YES_NO}.get(col.kind)
            if source is None:
                if col.kind in ("text", "list", "choices") and col.key != "length":
                    # Typed text stays text (codes such as 001 keep their zeros).
                    for r in range(2, TEMPLATE_ROWS + 2):
                        ws.cell(row=r, column=i).number_format = "@"
                continue
            list_letter, count = lists[source]
            dv = DataValidation(
                type="list",
                formula1=f"'{VALUES_SHEET}'!${list_letter}$2:${list_letter}${count + 1}",
                allow_blank=not col.required,
                showErrorMessage=True,
            )
            dv.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")
            ws.add_data_validation(dv)
        ws.freeze_panes = "A2"

    add_sheet(entries, ENTRY_COLUMNS)
    add_sheet(fields, FIELD_COLUMNS)

    help_ws.column_dimensions["A"].width = 14
    help_ws.column_dimensions["B"].width = 18
    help_ws.column_dimensions["C"].width = 10
    help_ws.column_dimensions["D"].width = 70
    row = 1
    for line in HELP_INTRO:
        help_ws.cell(row=row, column=1, value=line)
        row += 1
    row += 1
    for i, head in enumerate(HELP_HEAD, start=1):
        help_ws.cell(row=row, column=i, value=head).font = bold
    for sheet, columns in ((ENTRIES_SHEET, ENTRY_COLUMNS), (FIELDS_SHEET, FIELD_COLUMNS)):
        for col in columns:
            row += 1
            note = col.help
            if col.kind == "enum" and col.choices is not None:
                note = LIST_SEP.join(choice_labels(col.choices))
                if col.help:
                    note = NOTE_SEP.join((note, col.help))
            help_ws.cell(row=row, column=1, value=sheet)
            help_ws.cell(row=row, column=2, value=col.header)
            help_ws.cell(row=row, column=3, value=HELP_REQUIRED if col.required else HELP_OPTIONAL)
            cell = help_ws.cell(row=row, column=4, value=note)
            cell.data_type = "s"
            cell.alignment = Alignment(wrap_text=True)
    return xlsx_bytes(wb)


# ---------------------------------------------------------------------------------------
# Reading safely


def check_archive(data: bytes, settings: Settings | None = None) -> None:
    """Refuse an upload that is too large or over-compressed, reading only the zip directory."""
    settings = settings or get_settings()
    if len(data) > settings.import_max_bytes:
        raise _refuse(TOO_LARGE, max=settings.import_max_bytes)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise _refuse(NOT_XLSX) from exc
    names = {i.filename for i in infos}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise _refuse(NOT_XLSX)
    if len(infos) > MAX_MEMBERS:
        raise _refuse(TOO_MANY_MEMBERS)
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    if total > settings.import_max_uncompressed_bytes:
        raise _refuse(TOO_BIG_UNCOMPRESSED, max=settings.import_max_uncompressed_bytes)
    ratio = settings.import_max_compression_ratio
    if total > ratio * max(packed, 1):
        raise _refuse(RATIO_TOO_HIGH, max=ratio)
    for info in infos:
        # One member far more compressed than a spreadsheet's XML ever is.
        if info.file_size > 1024 * 1024 and info.file_size > ratio * max(info.compress_size, 1):
            raise _refuse(RATIO_TOO_HIGH, max=ratio)


@dataclass
class SheetRows:
    """The rows of one sheet as read: header texts and, per row number, its cells."""

    title: str
    headers: list[str]
    rows: list[tuple[int, list[Any]]]  # (row number, cells); blank rows left out


@dataclass(frozen=True)
class Formula:
    """A cell that held a formula (never evaluated)."""

    text: str


def _cell_value(cell: Any) -> Any:
    value = getattr(cell, "value", None)
    if getattr(cell, "data_type", None) == "f" or (
        value is not None and type(value).__name__ in ("ArrayFormula", "DataTableFormula")
    ):
        return Formula(str(getattr(value, "text", value)))
    return value


def _read_sheet(ws: Any, title: str, max_rows: int) -> SheetRows:
    headers: list[str] = []
    rows: list[tuple[int, list[Any]]] = []
    for number, cells in enumerate(ws.iter_rows(max_col=MAX_COLUMNS), start=1):
        values = [_cell_value(c) for c in cells]
        if number == 1:
            headers = [str(v).strip() if v is not None else "" for v in values]
            continue
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        if len(rows) >= max_rows:
            raise _refuse(TOO_MANY_ROWS, sheet=title, max=max_rows)
        rows.append((number, values))
    return SheetRows(title, headers, rows)


def _sheet_by_name(wb: Any, msgid: str, index: int) -> Any | None:
    wanted = {_norm(msgid), _norm(translate(msgid, "en"))}
    for ws in wb.worksheets:
        if _norm(ws.title) in wanted:
            return ws
    return wb.worksheets[index] if len(wb.worksheets) > index else None


def read_workbook(data: bytes, settings: Settings | None = None) -> tuple[SheetRows, SheetRows]:
    """The entries and fields sheets of a checked upload, formulas left unevaluated."""
    settings = settings or get_settings()
    check_archive(data, settings)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # untrusted files may carry unsupported parts
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
            try:
                entries_ws = _sheet_by_name(wb, ENTRIES_SHEET, 0)
                if entries_ws is None:
                    raise _refuse(NO_ENTRIES_SHEET)
                fields_ws = _sheet_by_name(wb, FIELDS_SHEET, 1)
                entries = _read_sheet(entries_ws, entries_ws.title, settings.import_max_rows)
                fields = (
                    _read_sheet(fields_ws, fields_ws.title, settings.import_max_rows * 50)
                    if fields_ws is not None and fields_ws is not entries_ws
                    else SheetRows(translate(FIELDS_SHEET), [], [])
                )
            finally:
                wb.close()
    except GongshuError:
        raise
    except Exception as exc:
        raise _refuse(UNREADABLE, error=type(exc).__name__) from exc
    return entries, fields


# ---------------------------------------------------------------------------------------
# The report


@dataclass(frozen=True)
class CellError:
    """One problem: where (sheet, row, column letter and header) and why (current language)."""

    sheet: str
    row: int
    column: str
    header: str
    message: str


@dataclass
class ImportReport:
    """What an import found and did. ``annotated`` is the upload with its errors marked
    (only when there are errors).
    """

    entries: int = 0
    fields: int = 0
    valid: int = 0
    invalid: int = 0
    saved: bool = False
    valid_only: bool = False
    created: list[str] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)
    annotated: bytes | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


# ---------------------------------------------------------------------------------------
# Parsing rows


@dataclass
class _Sheet:
    rows: SheetRows
    positions: dict[str, int]  # column key → 0-based index in the sheet
    columns: dict[str, Column]


def _map_headers(rows: SheetRows, columns: Sequence[Column]) -> tuple[_Sheet, list[CellError]]:
    by_name: dict[str, Column] = {}
    for col in columns:
        by_name[_norm(col.header)] = col
        by_name[_norm(translate(col.header, "en"))] = col
    positions: dict[str, int] = {}
    for i, header in enumerate(rows.headers):
        found = by_name.get(_norm(header.rstrip("*")))
        if found is not None and found.key not in positions:
            positions[found.key] = i
    errors = [
        CellError(
            rows.title,
            1,
            get_column_letter(len(rows.headers) + 1),
            col.header,
            translate(MISSING_COLUMN, column=translate(col.header)),
        )
        for col in columns
        if col.required and col.key not in positions
    ]
    return _Sheet(rows, positions, {c.key: c for c in columns}), errors


class _RowReader:
    """Reads the typed values of one row, collecting an error per bad cell."""

    def __init__(self, sheet: _Sheet, number: int, cells: list[Any]) -> None:
        self.sheet = sheet
        self.number = number
        self.cells = cells
        self.errors: list[CellError] = []

    def error(self, key: str, message: str, **params: object) -> None:
        self.errors.append(
            cell_error(self.sheet, self.number, key, translate(message).format(**params))
        )

    def raw(self, key: str) -> Any:
        index = self.sheet.positions.get(key)
        if index is None or index >= len(self.cells):
            return None
        return self.cells[index]

    def text(self, key: str) -> str:
        value = self.raw(key)
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, dt.datetime):
            value = value.date()
        if isinstance(value, dt.date):
            return value.isoformat()
        return str(value).strip()

    def value(self, key: str) -> Any:
        """The cell's value for the schema, or None (then an error was recorded, or blank)."""
        col = self.sheet.columns[key]
        value = self.raw(key)
        if isinstance(value, Formula):
            self.error(key, FORMULA)
            return None
        text = self.text(key)
        if col.kind == "bound" and isinstance(value, dt.datetime) and value.time() != dt.time():
            text = value.isoformat()  # a datetime bound keeps its time of day
        if not text:
            if col.required:
                self.error(key, REQUIRED)
            return None
        if col.max_length is not None and len(text) > col.max_length:
            self.error(key, TOO_LONG, max=col.max_length)
            return None
        if col.kind == "enum":
            assert col.choices is not None
            code = _choice_lookup(col.choices).get(_norm(text))
            if code is None:
                choices = translate(LIST_SEP).join(translate(c) for c in choice_labels(col.choices))
                self.error(key, BAD_CHOICE, value=text, choices=choices)
            return code
        if col.kind == "item":
            match = _ITEM.match(text)
            if match is None:
                self.error(key, BAD_ITEM)
                return None
            return match.group(1)
        if col.kind == "int":
            try:
                return int(text)
            except ValueError:
                self.error(key, BAD_INT)
                return None
        if col.kind == "bool":
            lowered = _norm(text)
            if lowered in _YES or lowered == _norm(translate(YES, "en")):
                return True
            if lowered in _NO or lowered == _norm(translate(NO, "en")):
                return False
            self.error(key, BAD_BOOL)
            return None
        if col.kind == "date":
            try:
                return dt.date.fromisoformat(text[:10])
            except ValueError:
                self.error(key, BAD_DATE)
                return None
        if col.kind == "list":
            return split_list(text)
        if col.kind == "choices":
            return [part.strip() for part in _CHOICE_SPLIT.split(text) if part.strip()]
        if key in ("subitem_code", "detail_code") and isinstance(self.raw(key), int | float):
            return text.zfill(3) if key == "subitem_code" else text
        return text


def cell_error(sheet: _Sheet, number: int, key: str, message: str) -> CellError:
    index = sheet.positions.get(key)
    col = sheet.columns.get(key)
    letter = get_column_letter(index + 1) if index is not None else ""
    return CellError(
        sheet.rows.title, number, letter, translate(col.header) if col else key, message
    )


@dataclass
class _Entry:
    number: int
    ref: str
    values: dict[str, Any]
    errors: list[CellError]
    fields: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (row, values)


def _parse(
    entries_sheet: _Sheet, fields_sheet: _Sheet
) -> tuple[list[_Entry], list[CellError], int]:
    """Entries with their fields, and errors of fields rows that belong to no entry."""
    entries: list[_Entry] = []
    by_ref: dict[str, _Entry] = {}
    for number, cells in entries_sheet.rows.rows:
        reader = _RowReader(entries_sheet, number, cells)
        values = {
            c.key: reader.value(c.key) for c in ENTRY_COLUMNS if c.key in entries_sheet.positions
        }
        ref = reader.text("ref")
        if ref and ref in by_ref:
            reader.error("ref", REF_DUPLICATE, ref=ref)
        entry = _Entry(number, ref, values, reader.errors)
        entries.append(entry)
        if ref and ref not in by_ref:
            by_ref[ref] = entry
    orphans: list[CellError] = []
    field_rows = 0
    for number, cells in fields_sheet.rows.rows:
        field_rows += 1
        reader = _RowReader(fields_sheet, number, cells)
        values = {
            c.key: reader.value(c.key) for c in FIELD_COLUMNS if c.key in fields_sheet.positions
        }
        ref = reader.text("ref")
        owner = by_ref.get(ref) if ref else None
        if ref and owner is None:
            reader.error("ref", REF_UNKNOWN, ref=ref)
        if owner is None:
            orphans.extend(reader.errors)
            continue
        owner.errors.extend(reader.errors)
        owner.fields.append((number, values))
    return entries, orphans, field_rows


def _create_input(
    entry: _Entry, entries_sheet: _Sheet, fields_sheet: _Sheet
) -> DatasetCreate | None:
    """The service's input for an entry, or None with the schema's errors recorded."""
    data = {k: v for k, v in entry.values.items() if k != "ref" and v is not None}
    data["fields"] = [
        {k: v for k, v in values.items() if k != "ref" and v is not None}
        for _row, values in entry.fields
    ]
    try:
        return DatasetCreate.model_validate(data)
    except ValidationError as exc:
        failure = errors_from_pydantic(exc.errors())
        _record_service_errors(entry, failure.errors, entries_sheet, fields_sheet)
        return None


def _record_service_errors(
    entry: _Entry,
    errors: dict[str, list[str]],
    entries_sheet: _Sheet,
    fields_sheet: _Sheet,
) -> None:
    """Put the service's (or the schema's) per-attribute messages on the right cells."""
    for key, messages in errors.items():
        parts = key.split(".")
        for message in messages:
            if parts[0] == "fields" and len(parts) >= 2 and parts[1].isdigit():
                i = int(parts[1])
                if i < len(entry.fields):
                    attr = (
                        parts[2] if len(parts) > 2 and parts[2] in fields_sheet.columns else "name"
                    )
                    entry.errors.append(cell_error(fields_sheet, entry.fields[i][0], attr, message))
                    continue
            attr = parts[0] if parts[0] in entries_sheet.positions else "ref"
            entry.errors.append(cell_error(entries_sheet, entry.number, attr, message))


# ---------------------------------------------------------------------------------------
# Importing


def import_catalog(
    session: Session,
    actor: Actor | None,
    data: bytes,
    *,
    valid_rows_only: bool = False,
    filename: str = "",
) -> ImportReport:
    """Compile catalog entries from a filled-in template, as the officer ``actor``.

    Only agency officers (``catalog.edit_own``) import, for their own agency; every entry
    is created by ``service.create_dataset`` as a draft. With any rejected row nothing is
    saved unless ``valid_rows_only``. Refuses unsafe files with ``ImportRefused``.
    """
    actor = require(actor, Perm.CATALOG_EDIT_OWN)
    if actor.agency_id is None:
        raise PermissionDenied(service.NO_AGENCY)
    entries_rows, fields_rows = read_workbook(data)
    entries_sheet, header_errors = _map_headers(entries_rows, ENTRY_COLUMNS)
    fields_sheet, field_header_errors = _map_headers(fields_rows, FIELD_COLUMNS)
    report = ImportReport(valid_only=valid_rows_only)
    if header_errors or (fields_rows.rows and field_header_errors):
        report.errors = header_errors + field_header_errors
        report.annotated = annotate(data, report.errors)
        return report
    if not entries_rows.rows:
        raise _refuse(NO_ROWS)

    entries, orphans, report.fields = _parse(entries_sheet, fields_sheet)
    report.entries = len(entries)
    report.errors.extend(orphans)
    inputs: list[tuple[_Entry, DatasetCreate]] = []
    for entry in entries:
        if entry.errors:
            continue
        create = _create_input(entry, entries_sheet, fields_sheet)
        if create is not None:
            inputs.append((entry, create))

    # Each entry is created by the service in a session of its own on this transaction's
    # connection: its commit releases a savepoint, its rollback undoes that row only, and
    # nothing is final until this function commits (or rolls back) the outer transaction.
    # The outer commit indexes the new entries for search, all at once.
    created: list[str] = []
    connection = session.connection()
    rows = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    indexer.defer_to(rows, session)
    try:
        for entry, create in inputs:
            try:
                dataset = service.create_dataset(rows, actor, create)
            except ValidationFailed as exc:
                _record_service_errors(entry, exc.errors, entries_sheet, fields_sheet)
            except GongshuError as exc:
                entry.errors.append(cell_error(entries_sheet, entry.number, "ref", exc.localized()))
            else:
                created.append(dataset.code)
    finally:
        rows.close()

    for entry in entries:
        report.errors.extend(entry.errors)
    report.errors.sort(key=lambda e: (e.sheet != entries_rows.title, e.sheet, e.row, e.column))
    report.invalid = sum(1 for e in entries if e.errors)
    report.valid = report.entries - report.invalid
    if report.errors:
        report.annotated = annotate(data, report.errors)
    if not created or (report.errors and not valid_rows_only):
        session.rollback()
        return report
    with unit_of_work(session):
        audit.record(
            session,
            actor,
            "catalog.import",
            "catalog_import",
            hashlib.sha256(data).hexdigest()[:16],
            label=filename[:200],
            changes={
                "created": [None, len(created)],
                "rejected": [None, report.invalid],
                "codes": [None, created],
            },
        )
    report.created = created
    report.saved = True
    return report


# ---------------------------------------------------------------------------------------
# The annotated workbook

_BAD_FILL = PatternFill("solid", fgColor="FFC7CE")


def _group(errors: Iterable[CellError]) -> dict[str, dict[int, list[CellError]]]:
    out: dict[str, dict[int, list[CellError]]] = {}
    for e in errors:
        out.setdefault(e.sheet, {}).setdefault(e.row, []).append(e)
    return out


def _defuse_formulas(ws: Any) -> None:
    """Turn every formula into the text it was (the annotated copy must not run them)."""
    for row in ws.iter_rows():
        for cell in row:
            if cell.data_type == "f" or type(cell.value).__name__ in (
                "ArrayFormula",
                "DataTableFormula",
            ):
                text = str(getattr(cell.value, "text", cell.value))
                cell.value = safe_cell(text if text.startswith("=") else "=" + text)
                cell.data_type = "s"


def annotate(data: bytes, errors: Sequence[CellError]) -> bytes:
    """The uploaded workbook with every bad cell filled and commented, an extra "错误"
    column per sheet listing each row's problems, and no formula left to run.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = load_workbook(io.BytesIO(data), data_only=False)
    grouped = _group(errors)
    author = "Gongshu"
    for ws in wb.worksheets:
        _defuse_formulas(ws)
        by_row = grouped.get(ws.title)
        if not by_row:
            continue
        width = ws.max_column
        headers = [ws.cell(row=1, column=c).value for c in range(1, width + 1)]
        error_header = translate(ERROR_HEADER)
        reuse = bool(headers) and headers[-1] in (ERROR_HEADER, error_header)
        error_col = width if reuse else width + 1
        head = ws.cell(row=1, column=error_col, value=error_header)
        head.font = Font(bold=True, color="9C0006")
        for number, row_errors in by_row.items():
            for e in row_errors:
                if not e.column:
                    continue
                cell = ws[f"{e.column}{number}"]
                cell.fill = _BAD_FILL
                previous = cell.comment.text + "\n" if cell.comment else ""
                cell.comment = Comment(previous + e.message, author)
            summary = translate(NOTE_SEP).join(
                translate(HEADER_MESSAGE).format(header=e.header, message=e.message)
                for e in row_errors
            )
            target = ws.cell(row=number, column=error_col, value=safe_cell(summary))
            target.data_type = "s"
            target.font = Font(color="9C0006")
        ws.column_dimensions[get_column_letter(error_col)].width = 60
    raw = io.BytesIO()
    wb.save(raw)
    return raw.getvalue()
