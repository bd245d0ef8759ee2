"""Reading uploaded data files as streams of Arrow record batches of text columns.

``open_table`` turns one uploaded file (CSV, XLSX, legacy XLS, JSON array, NDJSON) into a
:class:`TableSource`: its headers, and ``batches()`` of ``pa.string()`` columns named by
those headers, each batch with the row number a person sees for every row. Nothing here
knows the catalog: types, required fields and mapping are checked later.

The rules every format follows:

* A file that cannot be read at all raises :class:`ReadRefused` (a ``ValidationFailed``)
  with a Chinese message saying what to do: empty, too large, undecodable, a bad header,
  an unsafe or broken workbook, an unknown format, a missing sheet.
* A row that cannot be read (wrong number of columns, a cell over
  ``GONGSHU_INGEST_MAX_CELL_CHARS``, a formula, a JSON line that is not an object) is left
  out of the batches and reported in ``TableSource.issues`` with its row number; the rows
  after it keep their right numbers.
* Values are stripped of surrounding whitespace; empty cells are null; completely empty rows
  are skipped silently (but counted, so numbers stay right).
* Row numbers: a spreadsheet's row number; a CSV or NDJSON file's line number (the header
  line is line 1 of a CSV that starts with its header); a JSON array's element position.

CSV is the fast path: pyarrow's streaming CSV reader parses blocks on all cores while the
consumer checks the previous block with vectorised kernels, so a multi-gigabyte file
streams in bounded memory. Row numbers are the records counted (plus the line breaks found
inside quoted cells), exact until the threaded parser leaves out a bad record; from the
first batch that may follow one, the single-threaded parser, which numbers the records it
leaves out, takes over where the threaded one stopped (``_CsvSource._parsed``).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import math
import os
import queue
import re
import threading
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import charset_normalizer
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from gongshu.errors import ValidationFailed
from gongshu.i18n import N_
from gongshu.ingest.archive import (
    KIND_NOT_XLSX,
    KIND_NOT_ZIP,
    KIND_RATIO,
    KIND_TOO_BIG,
    KIND_TOO_MANY_MEMBERS,
    UnsafeArchive,
    check_xlsx_archive,
)
from gongshu.ingest.spec import CellIssue
from gongshu.settings import Settings

__all__ = [
    "FORMATS",
    "ReadLimits",
    "ReadOptions",
    "ReadRefused",
    "TableSource",
    "open_table",
]

FORMATS = ("csv", "xlsx", "xls", "json", "ndjson")
SUFFIX_FORMATS = {
    "csv": "csv",
    "tsv": "csv",
    "txt": "csv",
    "xlsx": "xlsx",
    "xlsm": "xlsx",
    "xls": "xls",
    "json": "json",
    "ndjson": "ndjson",
    "jsonl": "ndjson",
}
SNIFF_DELIMITERS = ",\t;|^"
SAMPLE_BYTES = 1024 * 1024  # read to detect the encoding, the dialect and the header
SNIFF_CHARS = 64 * 1024  # csv.Sniffer is slow on large samples
# A block must hold the longest row: 8 MiB holds a row with a cell at the default limit
# (1,000,000 characters); bigger limits get bigger blocks. Memory in flight is about a dozen
# blocks, so this size is what keeps a 2 GB upload within 512 MiB.
MIN_BLOCK_BYTES = 8 * 1024 * 1024
MAX_BLOCK_BYTES = 512 * 1024 * 1024
# A file whose lines (in the sample) average under ``NARROW_LINE_BYTES`` is read in blocks of
# ``NARROW_BLOCK_BYTES``: the checks that follow cost a third less per row on batches of
# 80,000 registry rows than on 40,000, and such rows are what a block holds most of.
NARROW_LINE_BYTES = 1024
NARROW_BLOCK_BYTES = 16 * 1024 * 1024
ISSUE_VALUE_CHARS = 200  # how much of an offending value an issue keeps
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
GB_FAMILY = {"gb2312", "gbk", "cp936", "gb18030", "hz", "ms936", "euc_cn"}
UTF8_NAMES = {"utf_8", "utf_8_sig"}

# Refusals of the whole file
EMPTY_FILE = N_("文件是空的")
TOO_LARGE = N_("文件有 {size} 字节，超过 {max} 字节的上限")
UNKNOWN_FORMAT = N_("无法识别文件格式“{format}”；支持 CSV、XLSX、XLS、JSON 和 NDJSON")
NOT_TEXT = N_(
    "文件不是 UTF-8/GBK/GB18030 编码的文本（检测结果：{guess}）；"
    "请另存为 UTF-8 编码后上传，或在上传时指定编码"
)
UNKNOWN_ENCODING = N_("不认识的编码“{encoding}”")
BAD_BYTES = N_(
    "文件中约第 {offset} 字节处的内容不符合 {encoding} 编码；"
    "请确认文件编码，或在上传时指定正确的编码（如 gbk、utf-8）"
)
NO_HEADER = N_("第 {row} 行没有表头")
HEADER_TOO_LONG = N_("第 {row} 行的表头过长或引号没有闭合")
EMPTY_HEADERS = N_(
    "第 {row} 行的表头中第 {columns} 列为空；"
    "合并的表头单元格只有第一格有文字，请取消合并并为每一列填写表头"
)
DUPLICATE_HEADERS = N_("表头重复：{headers}；每一列的表头须各不相同")
ROW_TOO_LONG = N_(
    "文件中有一行超过 {max} 字节，无法读取；请检查引号是否配对，"
    "或是否有单元格超过 {cells} 个字符的上限"
)
CSV_BROKEN = N_("无法解析 CSV 文件：{error}")
NOT_XLSX = N_("文件不是 Excel 工作簿（.xlsx）")
TOO_MANY_MEMBERS = N_("工作簿内部文件超过 {max} 个，疑似恶意文件")
TOO_BIG_UNCOMPRESSED = N_("工作簿解压后超过 {max} 字节的上限，疑似压缩炸弹")
RATIO_TOO_HIGH = N_("工作簿压缩比超过 {max} 倍，疑似压缩炸弹")
UNREADABLE = N_("无法读取工作簿：{error}")
NO_SHEET = N_("工作簿中没有名为“{sheet}”的工作表；现有工作表：{sheets}")
EMPTY_WORKBOOK = N_("工作簿中没有工作表")
XLS_TOO_LARGE = N_(
    "旧版 Excel 文件（.xls）有 {size} 字节，超过 {max} 字节的上限；请另存为 .xlsx 或 CSV 后上传"
)
JSON_TOO_LARGE = N_(
    "JSON 文件有 {size} 字节，超过 {max} 字节的上限；请改用 NDJSON（每行一个对象）上传"
)
JSON_INVALID = N_("不是有效的 JSON：第 {line} 行第 {column} 列，{error}")
JSON_NOT_ARRAY = N_("JSON 文件的顶层应为由对象组成的数组")
LINE_TOO_LONG = N_("第 {row} 行超过 {max} 字节，无法读取")
LIST_SEP = N_("、")

# Row issues
RAGGED = N_("第 {row} 行有 {found} 列，表头有 {expected} 列")
CELL_TOO_LONG = N_("单元格有 {length} 个字符，超过 {max} 个字符的上限")
FORMULA = N_("单元格含公式（{formula}），平台不计算公式；请改为数值后再上传")
CELL_ERROR = N_("单元格是错误值 {value}；请改正后再上传")
BEYOND_HEADER = N_("第 {column} 列没有表头，但本行在该列有值")
NOT_OBJECT = N_("这一行不是 JSON 对象")
BAD_JSON_LINE = N_("这一行不是有效的 JSON：{error}")


class ReadRefused(ValidationFailed):
    """The whole file cannot be read; the message (Chinese msgid with params) says why."""


def _refuse(message: str, **params: object) -> ReadRefused:
    return ReadRefused(message, None, **params)


@dataclass(frozen=True)
class ReadOptions:
    """How to read a file; every ``None`` is detected from the file."""

    format: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    quotechar: str | None = None
    sheet: str | None = None
    header_row: int = 1


@dataclass(frozen=True)
class ReadLimits:
    """Size limits of ingestion reading (``GONGSHU_INGEST_MAX_*``)."""

    max_bytes: int
    max_cell_chars: int
    max_uncompressed_bytes: int
    max_compression_ratio: int
    max_xls_bytes: int
    max_json_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ReadLimits:
        return cls(
            max_bytes=settings.ingest_max_bytes,
            max_cell_chars=settings.ingest_max_cell_chars,
            max_uncompressed_bytes=settings.ingest_max_uncompressed_bytes,
            max_compression_ratio=settings.ingest_max_compression_ratio,
            max_xls_bytes=settings.ingest_max_xls_bytes,
            max_json_bytes=settings.ingest_max_json_bytes,
        )


@dataclass
class TableSource(ABC):
    """An opened file: its headers and a stream of batches (see the module docstring).

    ``issues`` grows while ``batches()`` is consumed; ``bytes_read`` is approximate
    progress. Use it as a context manager, or call ``close()``.
    """

    format: str
    headers: list[str]
    total_bytes: int
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    issues: list[CellIssue] = field(default_factory=list)
    bytes_read: int = 0

    @abstractmethod
    def batches(self, batch_rows: int = 65_536) -> Iterator[tuple[pa.Int64Array, pa.RecordBatch]]:
        """Yield ``(row_numbers, batch)``; every column is ``pa.string()``."""

    def close(self) -> None:  # noqa: B027 — a source holding nothing keeps this default
        """Release the file and any parser state."""

    def __enter__(self) -> TableSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------------------------------
# Opening


def open_table(
    path: Path, *, name: str, options: ReadOptions = ReadOptions(), limits: ReadLimits
) -> TableSource:
    """Open an uploaded file for reading. ``name`` is the file name the user gave: only its
    suffix is used (never as a path). Raises :class:`ReadRefused` when the file cannot be
    read at all."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise _refuse(EMPTY_FILE)
    if size > limits.max_bytes:
        raise _refuse(TOO_LARGE, size=size, max=limits.max_bytes)
    if options.header_row < 1:
        raise _refuse(NO_HEADER, row=options.header_row)
    with path.open("rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    fmt = _choose_format(options.format, name, head)
    if fmt == "csv":
        return _open_csv(path, size, head, options, limits)
    if fmt == "xlsx":
        return _open_xlsx(path, size, options, limits)
    if fmt == "xls":
        return _open_xls(path, size, options, limits)
    if fmt == "json":
        return _open_json(path, size, head, options, limits)
    return _open_ndjson(path, size, head, options, limits)


def _suffix(name: str) -> str:
    base = re.split(r"[/\\]", name.strip())[-1]
    stem, dot, suffix = base.rpartition(".")
    return suffix.strip().lower() if dot and stem else ""


def _choose_format(given: str | None, name: str, head: bytes) -> str:
    if given is not None:
        fmt = given.strip().lower().lstrip(".")
        fmt = SUFFIX_FORMATS.get(fmt, fmt)
        if fmt not in FORMATS:
            raise _refuse(UNKNOWN_FORMAT, format=given)
    else:
        fmt = SUFFIX_FORMATS.get(_suffix(name), "")
    # The spreadsheet kinds are told apart by content: an .xlsx saved as .xls is common.
    if fmt in ("xlsx", "xls"):
        if head.startswith(OLE_MAGIC):
            return "xls"
        return "xlsx"
    if fmt == "json" and head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return "ndjson"  # a .json file holding one object per line
    if fmt:
        return fmt
    if head.startswith(ZIP_MAGIC):
        return "xlsx"
    if head.startswith(OLE_MAGIC):
        return "xls"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"["):
        return "json"
    if stripped.startswith(b"{"):
        return "ndjson"
    if b"\x00" in head[:4096]:
        raise _refuse(UNKNOWN_FORMAT, format=_suffix(name) or "?")
    return "csv"


# ---------------------------------------------------------------------------------------
# Text: encodings, values


def _codec_name(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name.replace("-", "_")
    except LookupError as exc:
        raise _refuse(UNKNOWN_ENCODING, encoding=encoding) from exc


def _decodes(sample: bytes, encoding: str, final: bool) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)("strict").decode(sample, final)
    except UnicodeDecodeError:
        return False
    return True


def _detect_encoding(sample: bytes, final: bool) -> str:
    """``utf-8`` or ``gb18030`` for a sample of the file, or a refusal naming the guess."""
    if sample.startswith(codecs.BOM_UTF8) or _decodes(sample, "utf-8", final):
        return "utf-8"
    best = charset_normalizer.from_bytes(sample[:SNIFF_CHARS]).best()
    guess = best.encoding if best is not None else None
    if guess is not None and guess.replace("-", "_").lower() in GB_FAMILY:
        return "gb18030"
    # Short Chinese samples are often taken for Big5, Shift-JIS or a Windows code page;
    # GB18030 (a superset of GBK and GB2312) is what a mainland agency's export uses, so a
    # sample that decodes strictly as GB18030 is read as such (Big5 files are then garbled:
    # their bytes are valid GBK; the encoding option reads them right).
    if not (guess or "").startswith(("utf_16", "utf_32")) and _decodes(sample, "gb18030", final):
        return "gb18030"
    raise _refuse(NOT_TEXT, guess=guess or "?")


def _resolve_encoding(given: str | None, sample: bytes, final: bool) -> str:
    """The Python codec name to read with (``utf-8`` for UTF-8 with or without a BOM)."""
    if given is None:
        return _detect_encoding(sample, final)
    name = _codec_name(given)
    encoding = "utf-8" if name in UTF8_NAMES else name
    if not _decodes(_strip_bom(sample, encoding), encoding, final):
        raise _refuse(BAD_BYTES, offset=_bad_offset(sample, encoding), encoding=given)
    return encoding


def _strip_bom(data: bytes, encoding: str) -> bytes:
    if encoding == "utf-8" and data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :]
    return data


def _bad_offset(data: bytes, encoding: str) -> int:
    try:
        codecs.getincrementaldecoder(encoding)("strict").decode(data, False)
    except UnicodeDecodeError as exc:
        return int(exc.start) + 1
    return len(data)


def _decode_sample(sample: bytes, encoding: str) -> str:
    return codecs.getincrementaldecoder(encoding)("strict").decode(
        _strip_bom(sample, encoding), False
    )


def _text(value: Any) -> str | None:
    """A cell's value as stripped text; None when it is empty."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        return text or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time() and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value).strip() or None


def _check_headers(raw: list[Any], row: int) -> list[str]:
    headers = [_text(v) or "" for v in raw]
    while headers and not headers[-1]:
        headers.pop()
    if not headers:
        raise _refuse(NO_HEADER, row=row)
    empty = [str(i + 1) for i, h in enumerate(headers) if not h]
    if empty:
        raise _refuse(EMPTY_HEADERS, row=row, columns=LIST_SEP.join(empty))
    seen: set[str] = set()
    duplicates: list[str] = []
    for h in headers:
        if h in seen and h not in duplicates:
            duplicates.append(h)
        seen.add(h)
    if duplicates:
        raise _refuse(DUPLICATE_HEADERS, headers=LIST_SEP.join(duplicates))
    return headers


def _clip(value: str) -> str:
    return value if len(value) <= ISSUE_VALUE_CHARS else value[:ISSUE_VALUE_CHARS] + "…"


# ---------------------------------------------------------------------------------------
# Row-at-a-time sources (spreadsheets, JSON): rows of Python values become batches


class _RowBatcher:
    """Collects checked rows of text and emits record batches of ``batch_rows`` rows."""

    def __init__(self, headers: list[str], batch_rows: int) -> None:
        self.headers = headers
        self.batch_rows = max(1, batch_rows)
        self.numbers: list[int] = []
        self.columns: list[list[str | None]] = [[] for _ in headers]

    def add(self, number: int, values: list[str | None]) -> None:
        self.numbers.append(number)
        for column, value in zip(self.columns, values, strict=True):
            column.append(value)

    @property
    def full(self) -> bool:
        return len(self.numbers) >= self.batch_rows

    def take(self) -> tuple[pa.Int64Array, pa.RecordBatch]:
        numbers = pa.array(self.numbers, type=pa.int64())
        arrays = [pa.array(c, type=pa.string()) for c in self.columns]
        self.numbers = []
        self.columns = [[] for _ in self.headers]
        return numbers, pa.RecordBatch.from_arrays(arrays, names=self.headers)


class _RowSource(TableSource):
    """A source whose rows come one by one as lists of already-converted cell values."""

    max_cell_chars: int = 0

    @abstractmethod
    def _rows(self) -> Iterator[tuple[int, list[Any]]]:
        """Yield ``(row number, cells)``; cells are values or ``_Bad`` markers."""

    def batches(self, batch_rows: int = 65_536) -> Iterator[tuple[pa.Int64Array, pa.RecordBatch]]:
        out = _RowBatcher(self.headers, batch_rows)
        width = len(self.headers)
        for number, cells in self._rows():
            values = self._check_row(number, cells, width)
            if values is None:
                continue
            out.add(number, values)
            if out.full:
                yield out.take()
        if out.numbers:
            yield out.take()
        self.bytes_read = self.total_bytes

    def _check_row(self, number: int, cells: list[Any], width: int) -> list[str | None] | None:
        values: list[str | None] = []
        bad = False
        for index, cell in enumerate(cells):
            if isinstance(cell, _Bad):
                column = self.headers[index] if index < width else ""
                self.issues.append(CellIssue(number, column, cell.message, cell.params, cell.value))
                bad = True
                continue
            text = _text(cell)
            if index >= width:
                if text is not None:
                    self.issues.append(
                        CellIssue(number, "", BEYOND_HEADER, {"column": index + 1}, _clip(text))
                    )
                    bad = True
                continue
            if text is not None and len(text) > self.max_cell_chars:
                self.issues.append(
                    CellIssue(
                        number,
                        self.headers[index],
                        CELL_TOO_LONG,
                        {"length": len(text), "max": self.max_cell_chars},
                        _clip(text),
                    )
                )
                bad = True
                continue
            values.append(text)
        if bad:
            return None
        values.extend([None] * (width - len(values)))
        if all(v is None for v in values):
            return None
        return values


@dataclass(frozen=True)
class _Bad:
    """A cell that makes its row unreadable (a formula, an error value)."""

    message: str
    params: dict[str, Any]
    value: str | None


# ---------------------------------------------------------------------------------------
# XLSX


def _open_xlsx(path: Path, size: int, options: ReadOptions, limits: ReadLimits) -> TableSource:
    fh = path.open("rb")
    try:
        check_xlsx_archive(
            fh,
            max_uncompressed_bytes=limits.max_uncompressed_bytes,
            max_compression_ratio=limits.max_compression_ratio,
        )
        fh.seek(0)
        source = _XlsxSource(fh, size, options, limits)
    except UnsafeArchive as exc:
        fh.close()
        raise _archive_refusal(exc) from exc
    except BaseException:
        fh.close()
        raise
    return source


def _archive_refusal(exc: UnsafeArchive) -> ReadRefused:
    if exc.kind in (KIND_NOT_ZIP, KIND_NOT_XLSX):
        return _refuse(NOT_XLSX)
    if exc.kind == KIND_TOO_MANY_MEMBERS:
        return _refuse(TOO_MANY_MEMBERS, max=exc.limit)
    if exc.kind == KIND_TOO_BIG:
        return _refuse(TOO_BIG_UNCOMPRESSED, max=exc.limit)
    if exc.kind == KIND_RATIO:
        return _refuse(RATIO_TOO_HIGH, max=exc.limit)
    return _refuse(NOT_XLSX)


def _xlsx_cell(cell: Any) -> Any:
    value = getattr(cell, "value", None)
    kind = getattr(cell, "data_type", None)
    if kind == "f" or (
        value is not None and type(value).__name__ in ("ArrayFormula", "DataTableFormula")
    ):
        formula = _clip(str(getattr(value, "text", value)))
        return _Bad(FORMULA, {"formula": formula}, formula)
    if kind == "e":
        return _Bad(CELL_ERROR, {"value": str(value)}, str(value))
    return value


class _XlsxSource(_RowSource):
    def __init__(self, fh: IO[bytes], size: int, options: ReadOptions, limits: ReadLimits) -> None:
        from openpyxl import load_workbook

        self._fh = fh
        self.max_cell_chars = limits.max_cell_chars
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # untrusted files may carry unsupported parts
                self._wb = load_workbook(fh, read_only=True, data_only=False)
        except Exception as exc:
            raise _refuse(UNREADABLE, error=type(exc).__name__) from exc
        try:
            names = list(self._wb.sheetnames)
            if not names:
                raise _refuse(EMPTY_WORKBOOK)
            if options.sheet is not None and options.sheet not in names:
                raise _refuse(NO_SHEET, sheet=options.sheet, sheets=LIST_SEP.join(names))
            title = options.sheet if options.sheet is not None else names[0]
            self._ws = self._wb[title]
            # The dimension tag some writers leave stale would cut columns off.
            self._ws.reset_dimensions()
            self._header_row = options.header_row
            self._iter = self._ws.iter_rows(min_row=options.header_row)
            try:
                header_cells = next(self._iter, ())
            except Exception as exc:
                raise _refuse(UNREADABLE, error=type(exc).__name__) from exc
            raw = [_xlsx_cell(c) for c in header_cells]
            headers = _check_headers(
                [None if isinstance(v, _Bad) else v for v in raw], options.header_row
            )
        except BaseException:
            self._wb.close()
            raise
        super().__init__(format="xlsx", headers=headers, total_bytes=size, sheet=title)

    def _rows(self) -> Iterator[tuple[int, list[Any]]]:
        number = self._header_row
        try:
            for cells in self._iter:
                number += 1
                yield number, [_xlsx_cell(c) for c in cells]
                if number % 1024 == 0:
                    self.bytes_read = min(self._fh.tell(), self.total_bytes)
        except ReadRefused:
            raise
        except Exception as exc:
            raise _refuse(UNREADABLE, error=type(exc).__name__) from exc

    def close(self) -> None:
        self._wb.close()
        self._fh.close()


# ---------------------------------------------------------------------------------------
# XLS (legacy binary Excel, loaded whole by xlrd)


def _open_xls(path: Path, size: int, options: ReadOptions, limits: ReadLimits) -> TableSource:
    if size > limits.max_xls_bytes:
        raise _refuse(XLS_TOO_LARGE, size=size, max=limits.max_xls_bytes)
    return _XlsSource(path, size, options, limits)


class _XlsSource(_RowSource):
    def __init__(self, path: Path, size: int, options: ReadOptions, limits: ReadLimits) -> None:
        import xlrd

        self.max_cell_chars = limits.max_cell_chars
        try:
            self._book = xlrd.open_workbook(str(path), on_demand=True)
        except Exception as exc:
            raise _refuse(UNREADABLE, error=type(exc).__name__) from exc
        try:
            names = list(self._book.sheet_names())
            if not names:
                raise _refuse(EMPTY_WORKBOOK)
            if options.sheet is not None and options.sheet not in names:
                raise _refuse(NO_SHEET, sheet=options.sheet, sheets=LIST_SEP.join(names))
            title = options.sheet if options.sheet is not None else names[0]
            try:
                self._sheet = self._book.sheet_by_name(title)
            except Exception as exc:
                raise _refuse(UNREADABLE, error=type(exc).__name__) from exc
            self._header_row = options.header_row
            if self._sheet.nrows < options.header_row:
                raise _refuse(NO_HEADER, row=options.header_row)
            headers = _check_headers(self._row(options.header_row - 1), options.header_row)
        except BaseException:
            self._book.release_resources()
            raise
        super().__init__(format="xls", headers=headers, total_bytes=size, sheet=title)

    def _row(self, rowx: int) -> list[Any]:
        import xlrd

        values: list[Any] = []
        for cell in self._sheet.row(rowx):
            if cell.ctype == xlrd.XL_CELL_DATE:
                values.append(self._date(cell.value))
            elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
                values.append(bool(cell.value))
            elif cell.ctype == xlrd.XL_CELL_ERROR:
                text = xlrd.error_text_from_code.get(cell.value, "#ERR")
                values.append(_Bad(CELL_ERROR, {"value": text}, text))
            elif cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                values.append(None)
            else:
                values.append(cell.value)
        return values

    def _date(self, value: float) -> Any:
        import xlrd

        try:
            moment = xlrd.xldate.xldate_as_datetime(value, self._book.datemode)
        except (ValueError, OverflowError, xlrd.xldate.XLDateError):
            return value
        if value < 1:  # a time of day without a date
            return moment.time()
        return moment

    def _rows(self) -> Iterator[tuple[int, list[Any]]]:
        for rowx in range(self._header_row, self._sheet.nrows):
            yield rowx + 1, self._row(rowx)

    def close(self) -> None:
        self._book.release_resources()


# ---------------------------------------------------------------------------------------
# JSON and NDJSON


class _KeyedRows:
    """Maps an object's keys (stripped) onto header positions in order of first sight."""

    def __init__(self) -> None:
        self.headers: list[str] = []
        self.index: dict[str, int] = {}
        self.raw: dict[str, int] = {}

    def learn(self, obj: dict[str, Any], row: int) -> None:
        for key in obj:
            if key in self.raw:
                continue
            header = key.strip()
            if not header:
                raise _refuse(EMPTY_HEADERS, row=row, columns=len(self.headers) + 1)
            if header in self.index:
                raise _refuse(DUPLICATE_HEADERS, headers=header)
            self.index[header] = len(self.headers)
            self.raw[key] = len(self.headers)
            self.headers.append(header)

    def cells(self, obj: dict[str, Any]) -> list[Any]:
        cells: list[Any] = [None] * len(self.headers)
        for key, value in obj.items():
            cells[self.raw[key]] = value
        return cells


def _open_json(
    path: Path, size: int, head: bytes, options: ReadOptions, limits: ReadLimits
) -> TableSource:
    if size > limits.max_json_bytes:
        raise _refuse(JSON_TOO_LARGE, size=size, max=limits.max_json_bytes)
    data = path.read_bytes()
    encoding = _resolve_encoding(options.encoding, head, size <= len(head))
    try:
        text = _strip_bom(data, encoding).decode(encoding)
    except UnicodeDecodeError as exc:
        raise _refuse(
            BAD_BYTES, offset=int(exc.start) + 1, encoding=options.encoding or encoding
        ) from exc
    del data
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _refuse(JSON_INVALID, line=exc.lineno, column=exc.colno, error=exc.msg) from exc
    del text
    if not isinstance(document, list):
        raise _refuse(JSON_NOT_ARRAY)
    keys = _KeyedRows()
    for position, item in enumerate(document, start=1):
        if isinstance(item, dict):
            keys.learn(item, position)
    if not keys.headers:
        raise _refuse(NO_HEADER, row=1)
    return _JsonSource(document, keys, size, encoding, limits)


class _JsonSource(_RowSource):
    def __init__(
        self, document: list[Any], keys: _KeyedRows, size: int, encoding: str, limits: ReadLimits
    ) -> None:
        super().__init__(format="json", headers=keys.headers, total_bytes=size, encoding=encoding)
        self.max_cell_chars = limits.max_cell_chars
        self._document = document
        self._keys = keys

    def _rows(self) -> Iterator[tuple[int, list[Any]]]:
        for position, item in enumerate(self._document, start=1):
            if isinstance(item, dict):
                yield position, self._keys.cells(item)
            else:
                self.issues.append(CellIssue(position, "", NOT_OBJECT, {}, _clip(_json_text(item))))

    def close(self) -> None:
        self._document = []


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _line_limit(limits: ReadLimits) -> int:
    return max(MIN_BLOCK_BYTES, 8 * limits.max_cell_chars)


def _ndjson_lines(
    path: Path, encoding: str, limit: int, on_bytes: Callable[[int], None] | None = None
) -> Iterator[tuple[int, str]]:
    """Yield ``(line number, stripped text)`` of each non-blank line; a line that does not
    decode refuses the file."""
    offset = 0
    with path.open("rb") as fh:
        for number, line in enumerate(iter(lambda: fh.readline(limit + 1), b""), start=1):
            if len(line) > limit:
                raise _refuse(LINE_TOO_LONG, row=number, max=limit)
            raw = _strip_bom(line, encoding) if number == 1 else line
            try:
                text = raw.decode(encoding).strip()
            except UnicodeDecodeError as exc:
                raise _refuse(
                    BAD_BYTES, offset=offset + int(exc.start) + 1, encoding=encoding
                ) from exc
            offset += len(line)
            if on_bytes is not None and number % 1024 == 0:
                on_bytes(offset)
            if text:
                yield number, text


def _open_ndjson(
    path: Path, size: int, head: bytes, options: ReadOptions, limits: ReadLimits
) -> TableSource:
    encoding = _resolve_encoding(options.encoding, head, size <= len(head))
    keys = _KeyedRows()
    # Headers are every key in order of first appearance, so a first pass collects them.
    for number, text in _ndjson_lines(path, encoding, _line_limit(limits)):
        if text.startswith("{"):
            try:
                obj = json.loads(text)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                keys.learn(obj, number)
    if not keys.headers:
        raise _refuse(NO_HEADER, row=1)
    source = _NdjsonSource(format="ndjson", headers=keys.headers, total_bytes=size)
    source.encoding = encoding
    source.max_cell_chars = limits.max_cell_chars
    source.setup(path, keys, _line_limit(limits))
    return source


class _NdjsonSource(_RowSource):
    def setup(self, path: Path, keys: _KeyedRows, limit: int) -> None:
        self._path = path
        self._keys = keys
        self._limit = limit

    def _progress(self, offset: int) -> None:
        self.bytes_read = offset

    def _rows(self) -> Iterator[tuple[int, list[Any]]]:
        encoding = self.encoding or "utf-8"
        for number, text in _ndjson_lines(self._path, encoding, self._limit, self._progress):
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                self.issues.append(
                    CellIssue(number, "", BAD_JSON_LINE, {"error": exc.msg}, _clip(text))
                )
                continue
            if not isinstance(obj, dict):
                self.issues.append(CellIssue(number, "", NOT_OBJECT, {}, _clip(text)))
                continue
            yield number, self._keys.cells(obj)


# ---------------------------------------------------------------------------------------
# CSV


@dataclass(frozen=True)
class _Dialect:
    delimiter: str
    quotechar: str


def _sniff(text: str, options: ReadOptions) -> _Dialect:
    """The delimiter and quote character, from csv.Sniffer on the text from the header on
    (explicit options win); a comma and a double quote when it cannot tell."""
    if options.delimiter is not None and options.quotechar is not None:
        return _Dialect(options.delimiter, options.quotechar)
    sample = text[:SNIFF_CHARS]
    if len(text) > SNIFF_CHARS:
        sample = sample[: max(sample.rfind("\n"), sample.rfind("\r"), 1)]
    first_line = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]
    sniffer = csv.Sniffer()
    found: Any = None
    for candidate in (sample, first_line):
        try:
            found = sniffer.sniff(candidate, delimiters=options.delimiter or SNIFF_DELIMITERS)
            break
        except csv.Error:
            continue
    delimiter = options.delimiter or (found.delimiter if found is not None else ",")
    quotechar = options.quotechar or (found.quotechar if found is not None else None) or '"'
    if delimiter == quotechar:
        quotechar = '"'
    return _Dialect(delimiter, quotechar)


def _from_header_line(text: str, header_row: int) -> str:
    """The text from the header line on, skipping ``header_row - 1`` physical lines as
    pyarrow's ``skip_rows`` does (quotes are not looked at above the header)."""
    rest = text
    if header_row > 1:
        parts = re.split(r"(\r\n|\r|\n)", text, maxsplit=header_row - 1)
        if len(parts) < 2 * (header_row - 1) + 1:
            raise _refuse(NO_HEADER, row=header_row)
        rest = parts[-1]
    if not rest.strip():
        raise _refuse(NO_HEADER, row=header_row)
    return rest


def _csv_header(
    rest: str, dialect: _Dialect, header_row: int, complete: bool
) -> tuple[list[str], int]:
    """The header cells and the number of line breaks inside the header record."""
    if not complete:
        # The sample may end inside a record: only whole lines are parsed.
        cut = max(rest.rfind("\n"), rest.rfind("\r"))
        if cut < 0:
            raise _refuse(HEADER_TOO_LONG, row=header_row)
        rest = rest[: cut + 1]
    lines = len(rest.splitlines()) if complete else _breaks(rest)
    reader = csv.reader(
        io.StringIO(rest, newline=""),
        delimiter=dialect.delimiter,
        quotechar=dialect.quotechar,
        doublequote=True,
        strict=False,
    )
    try:
        cells = next(reader)
    except StopIteration:
        raise _refuse(NO_HEADER, row=header_row) from None
    except csv.Error as exc:
        raise _refuse(CSV_BROKEN, error=str(exc)) from exc
    if not complete and reader.line_num >= lines and lines > 1:
        raise _refuse(HEADER_TOO_LONG, row=header_row)
    return cells, reader.line_num - 1


def _open_csv(
    path: Path, size: int, head: bytes, options: ReadOptions, limits: ReadLimits
) -> TableSource:
    complete = size <= len(head)
    encoding = _resolve_encoding(options.encoding, head, complete)
    text = _decode_sample(head, encoding)
    if not text.strip():
        raise _refuse(EMPTY_FILE)
    rest = _from_header_line(text, options.header_row)
    dialect = _sniff(rest, options)
    raw_headers, header_breaks = _csv_header(rest, dialect, options.header_row, complete)
    headers = _check_headers(list(raw_headers), options.header_row)
    if len(raw_headers) > len(headers):
        # Trailing empty header cells would make every data row look ragged.
        empty = [str(i + 1) for i in range(len(headers), len(raw_headers))]
        raise _refuse(EMPTY_HEADERS, row=options.header_row, columns=LIST_SEP.join(empty))
    return _CsvSource(
        path,
        size,
        headers=headers,
        encoding=encoding,
        dialect=dialect,
        header_row=options.header_row,
        header_breaks=header_breaks,
        limits=limits,
        narrow=len(head) < NARROW_LINE_BYTES * max(1, head.count(b"\n")),
    )


@dataclass
class _Ragged:
    number: int
    found: int
    expected: int
    text: str


# Bytes that may start, and byte pairs that may end, a whitespace character pyarrow's
# utf8_trim_whitespace removes (ASCII spaces and controls, U+00A0, U+3000 and the other
# Unicode spaces). A hit only sends the column to the exact, slower trim; a miss proves
# there is nothing to trim. Plain comparisons, because numpy vectorises them.


def _may_start_space(first: np.ndarray) -> bool:
    return bool(((first <= 0x20) | (first == 0xC2) | ((first >= 0xE1) & (first <= 0xE3))).any())


def _may_end_space(last: np.ndarray, before: Callable[[np.ndarray], np.ndarray]) -> bool:
    if (last <= 0x20).any():
        return True
    tail = (
        ((last >= 0x80) & (last <= 0x8A))
        | (last == 0x9F)
        | (last == 0xA0)
        | (last == 0xA8)
        | (last == 0xA9)
        | (last == 0xAF)
    )
    suspects = np.flatnonzero(tail)
    if len(suspects) == 0:
        return False
    prior = before(suspects)
    return bool(((prior == 0xC2) | (prior == 0x80) | (prior == 0x81) | (prior == 0x9A)).any())


def _string_parts(col: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """The offsets and data bytes of a string array, without copying."""
    if col.type != pa.string():
        return None
    buffers = col.buffers()
    if buffers[1] is None or buffers[2] is None:
        return None
    offsets = np.frombuffer(buffers[1], dtype=np.int32)[col.offset : col.offset + len(col) + 1]
    data = np.frombuffer(buffers[2], dtype=np.uint8)
    return offsets, data


def _may_need_trim(col: pa.Array) -> bool:
    parts = _string_parts(col)
    if parts is None:
        return True
    offsets, data = parts
    if len(data) == 0:
        return False
    # Empty and null values point at a neighbour's bytes: a false alarm at worst.
    if _may_start_space(data.take(offsets[:-1], mode="clip")):
        return True
    last_at = offsets[1:] - 1
    return _may_end_space(
        data.take(last_at, mode="clip"),
        lambda at: data.take(last_at[at] - 1, mode="clip"),
    )


def _has_newline(col: pa.Array) -> bool:
    """Whether any value holds a line break: a memchr search of the column's data buffer
    (one copy to bytes is far cheaper than a substring kernel over every value)."""
    buffers = col.buffers()
    if len(buffers) < 3 or buffers[2] is None or buffers[2].size == 0:
        return False
    data = memoryview(buffers[2]).tobytes()
    return data.find(b"\n") >= 0 or data.find(b"\r") >= 0


class _PacedFile(io.RawIOBase):
    """The CSV file as pyarrow reads it, kept at most ``AHEAD`` blocks ahead of the parsed
    batches taken: pyarrow's background reader would otherwise buffer up to 32 blocks
    (512 MiB at 16 MiB a block). A read that waits too long goes on anyway (a block that
    yields no batch, such as one inside a huge row, must not stall the parser), except
    while a parsed batch is held up waiting for the consumer: then the parser needs
    nothing more, however slow the consumer (a busy machine) is."""

    AHEAD = 1
    PATIENCE = 0.5  # seconds

    def __init__(self, path: Path, stop: threading.Event) -> None:
        self._raw = path.open("rb", buffering=0)
        self._size = os.fstat(self._raw.fileno()).st_size
        self._stop = stop
        self._ready = threading.Condition()
        self._reads = 0
        self._taken = 0
        self._held = False
        self.position = 0

    def readable(self) -> bool:
        return True

    def taken(self) -> None:
        with self._ready:
            self._taken += 1
            self._ready.notify_all()

    def held(self, held: bool) -> None:
        """Whether a parsed batch is waiting for the consumer to make room for it."""
        with self._ready:
            self._held = held
            self._ready.notify_all()

    def readinto(self, buffer: Any) -> int:
        if self.position >= self._size:
            # At the end there is nothing to hold back: pyarrow's read-ahead asks for the
            # end-of-file as soon as the last block is read, and waiting here made every
            # file of one block take half a second longer.
            return 0
        with self._ready:
            while not (self._reads - self._taken <= self.AHEAD or self._stop.is_set()):
                if not self._ready.wait(self.PATIENCE) and not self._held:
                    break
            self._reads += 1
        count = self._raw.readinto(buffer) or 0
        self.position += count
        return count

    def tell(self) -> int:
        return self.position

    def close(self) -> None:
        self._raw.close()
        super().close()


class _CsvSource(TableSource):
    def __init__(
        self,
        path: Path,
        size: int,
        *,
        headers: list[str],
        encoding: str,
        dialect: _Dialect,
        header_row: int,
        header_breaks: int,
        limits: ReadLimits,
        narrow: bool = False,
    ) -> None:
        super().__init__(
            format="csv",
            headers=headers,
            total_bytes=size,
            encoding=encoding,
            delimiter=dialect.delimiter,
        )
        self._path = path
        self._dialect = dialect
        self._header_row = header_row
        self._header_breaks = header_breaks
        self._limits = limits
        least = NARROW_BLOCK_BYTES if narrow else MIN_BLOCK_BYTES
        self._block = min(MAX_BLOCK_BYTES, max(least, 4 * limits.max_cell_chars + 2**20))
        self._ragged: dict[int, _Ragged] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._file: Any = None
        # Set by the threaded parser when it skips a record: from then on, read exactly.
        self._skipped = False

    def _reader(self, *, threaded: bool, skip: int) -> Any:
        """pyarrow's streaming reader from the ``skip``-th data record on.

        Threaded, it parses blocks on all cores but cannot say which record a bad row is;
        single-threaded, it numbers them (``_Ragged``)."""
        names = [f"c{i}" for i in range(len(self.headers))]

        def on_invalid(row: Any) -> str:
            with self._lock:
                if threaded:
                    self._skipped = True
                else:
                    self._ragged[int(row.number)] = _Ragged(
                        int(row.number),
                        int(row.actual_columns),
                        int(row.expected_columns),
                        row.text,
                    )
            return "skip"

        self._stop = threading.Event()
        self._file = _PacedFile(self._path, self._stop)
        return pacsv.open_csv(
            pa.PythonFile(self._file, mode="r"),
            read_options=pacsv.ReadOptions(
                use_threads=threaded,
                block_size=self._block,
                skip_rows=self._header_row - 1,
                column_names=names,
                # The header record, then the data records already taken. Numbers the
                # parser reports stay counted from the top of the file.
                skip_rows_after_names=1 + skip,
                encoding="utf8" if self.encoding == "utf-8" else self.encoding,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=self._dialect.delimiter,
                quote_char=self._dialect.quotechar,
                double_quote=True,
                escape_char=False,
                newlines_in_values=True,
                ignore_empty_lines=False,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )

    def _refusal(self, exc: BaseException) -> ReadRefused:
        if isinstance(exc, UnicodeDecodeError):
            return _refuse(BAD_BYTES, offset=self.bytes_read + 1, encoding=self.encoding)
        message = str(exc)
        if "UTF8" in message or "UTF-8" in message:
            return _refuse(BAD_BYTES, offset=self.bytes_read + 1, encoding=self.encoding)
        if "straddling" in message or "block" in message:
            return _refuse(ROW_TOO_LONG, max=self._block, cells=self._limits.max_cell_chars)
        return _refuse(CSV_BROKEN, error=message.splitlines()[0] if message else "?")

    def _prefetch(self, reader: Any) -> Generator[pa.RecordBatch, None, None]:
        """Parse the next block in a thread while the caller checks this one."""
        done = object()
        slots: queue.Queue[Any] = queue.Queue(maxsize=1)
        stop, paced = self._stop, self._file

        def put(item: Any) -> bool:
            try:
                while not stop.is_set():
                    try:
                        slots.put(item, timeout=0.1)
                    except queue.Full:
                        paced.held(True)
                        continue
                    return True
                return False
            finally:
                paced.held(False)

        def run() -> None:
            try:
                while True:
                    try:
                        batch = reader.read_next_batch()
                    except StopIteration:
                        break
                    paced.taken()
                    if not put(batch):
                        return
                put(done)
            except BaseException as exc:  # handed to the consumer
                put(exc)

        worker = threading.Thread(target=run, name="csv-prefetch", daemon=True)
        worker.start()
        try:
            while True:
                item = slots.get()
                if item is done:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            worker.join()
            paced.close()

    def _parsed(self) -> Iterator[pa.RecordBatch]:
        """The data records' batches, in order: parsed on all cores while no record has
        been skipped, then, from the first batch that may follow a skipped record, again
        by the single-threaded parser, which numbers the records it skips.

        The switch is exact: the threaded parser reports a bad record while parsing its
        block, before it hands out that block's batch, so every batch taken before the
        first report holds only records that follow one another, and the single-threaded
        reader starts at the first record not yet taken."""
        with self._lock:
            self._skipped = False
        taken = 0
        try:
            threaded = self._reader(threaded=True, skip=0)
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise self._refusal(exc) from exc
        batches = self._prefetch(threaded)
        try:
            for batch in batches:
                with self._lock:
                    skipped = self._skipped
                if skipped:
                    break
                taken += batch.num_rows
                yield batch
            else:
                return
        finally:
            batches.close()
        try:
            exact = self._reader(threaded=False, skip=taken)
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise self._refusal(exc) from exc
        yield from self._prefetch(exact)

    def batches(self, batch_rows: int = 65_536) -> Iterator[tuple[pa.Int64Array, pa.RecordBatch]]:
        with self._lock:
            self._ragged.clear()
        cursor = self._header_row + 1  # record number of the next data record
        shift = self._header_breaks  # line breaks inside earlier records
        try:
            for batch in self._parsed():
                self.bytes_read = min(self._file.tell(), self.total_bytes)
                numbers, checked, cursor, shift = self._check(batch, cursor, shift, last=False)
                for start in range(0, checked.num_rows, max(1, batch_rows)):
                    yield (
                        numbers.slice(start, batch_rows),
                        checked.slice(start, batch_rows),
                    )
            self._flush_ragged(cursor, shift)
            self.bytes_read = self.total_bytes
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise self._refusal(exc) from exc
        finally:
            self._stop.set()
            if self._file is not None:
                self._file.close()

    def _take_ragged(self, upto: int | None) -> list[_Ragged]:
        with self._lock:
            numbers = sorted(n for n in self._ragged if upto is None or n <= upto)
            return [self._ragged.pop(n) for n in numbers]

    def _pending_ragged(self) -> np.ndarray:
        with self._lock:
            return np.array(sorted(self._ragged), dtype=np.int64)

    def _flush_ragged(self, cursor: int, shift: int) -> None:
        for ragged in self._take_ragged(None):
            self._ragged_issue(ragged, ragged.number + shift)
            shift += _breaks(ragged.text)

    def _ragged_issue(self, ragged: _Ragged, line: int) -> None:
        if not ragged.text.strip(self._dialect.delimiter + " \t\r\n"):
            return  # an empty line or one of delimiters only: an empty row
        self.issues.append(
            CellIssue(
                line,
                "",
                RAGGED,
                {"row": line, "found": ragged.found, "expected": ragged.expected},
                _clip(ragged.text),
            )
        )

    def _check(
        self, batch: pa.RecordBatch, cursor: int, shift: int, *, last: bool
    ) -> tuple[pa.Int64Array, pa.RecordBatch, int, int]:
        n = batch.num_rows
        if n == 0:
            return pa.array([], pa.int64()), self._named(batch.columns), cursor, shift
        # Record numbers of this batch's rows: the next n numbers not taken by bad rows.
        pending = self._pending_ragged()
        pending = pending[pending >= cursor]
        candidates = np.arange(cursor, cursor + n + len(pending), dtype=np.int64)
        is_valid = ~np.isin(candidates, pending) if len(pending) else np.ones(len(candidates), bool)
        valid_positions = np.flatnonzero(is_valid)[:n]
        window = candidates[: valid_positions[-1] + 1]
        breaks = np.zeros(len(window), dtype=np.int64)
        columns = list(batch.columns)
        for col in columns:
            if col.null_count < len(col) and _has_newline(col):
                breaks[valid_positions] += np.asarray(
                    pc.fill_null(pc.add(pc.count_substring(col, "\n"), _lone_cr(col)), 0)
                )
        ragged_rows = self._take_ragged(int(window[-1]))
        if ragged_rows:
            ragged_at = np.searchsorted(window, [r.number for r in ragged_rows])
            breaks[ragged_at] = [_breaks(r.text) for r in ragged_rows]
        lines = window + shift + np.concatenate(([0], np.cumsum(breaks)[:-1]))
        if ragged_rows:
            for ragged, at in zip(ragged_rows, ragged_at, strict=True):
                self._ragged_issue(ragged, int(lines[at]))
        row_lines = lines[valid_positions]
        new_cursor = int(window[-1]) + 1
        new_shift = shift + int(breaks.sum())
        first_issue = len(self.issues)

        keep: np.ndarray | None = None
        limit = self._limits.max_cell_chars
        for index, col in enumerate(columns):
            if col.null_count == len(col):
                continue
            if pc.max(pc.binary_length(col)).as_py() > limit:
                lengths = pc.utf8_length(col)
                over = np.asarray(pc.fill_null(pc.greater(lengths, limit), False))
                if over.any():
                    for at in np.flatnonzero(over):
                        value = col[int(at)].as_py()
                        self.issues.append(
                            CellIssue(
                                int(row_lines[at]),
                                self.headers[index],
                                CELL_TOO_LONG,
                                {"length": len(value), "max": limit},
                                _clip(value),
                            )
                        )
                    keep = ~over if keep is None else keep & ~over
            if _may_need_trim(col):
                trimmed = pc.utf8_trim_whitespace(col)
                columns[index] = pc.if_else(pc.equal(trimmed, ""), None, trimmed)
        if any(c.null_count for c in columns):
            empty = np.ones(n, dtype=bool)
            for col in columns:
                if col.null_count == 0:
                    empty[:] = False
                    break
                empty &= np.asarray(col.is_null())
            if empty.any():
                keep = ~empty if keep is None else keep & ~empty
        if len(self.issues) > first_issue:
            self.issues[first_issue:] = sorted(self.issues[first_issue:], key=lambda i: i.row)
        numbers = pa.array(row_lines, type=pa.int64())
        checked = self._named(columns)
        if keep is not None and not keep.all():
            mask = pa.array(keep)
            numbers = numbers.filter(mask)
            checked = checked.filter(mask)
        return numbers, checked, new_cursor, new_shift

    def _named(self, columns: list[Any]) -> pa.RecordBatch:
        return pa.RecordBatch.from_arrays(
            [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in columns],
            names=self.headers,
        )

    def close(self) -> None:
        self._stop.set()
        if self._file is not None:
            self._file.close()


def _lone_cr(col: pa.Array) -> pa.Array:
    """Per value, the carriage returns not followed by a line feed (old Mac line breaks)."""
    return pc.subtract(pc.count_substring(col, "\r"), pc.count_substring(col, "\r\n"))


def _breaks(text: str) -> int:
    return text.count("\n") + text.count("\r") - text.count("\r\n")
