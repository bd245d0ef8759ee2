"""The ingestion readers: every format, encoding and dialect, row numbers, issues, refusals."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import psutil
import pyarrow as pa
import pytest
from openpyxl import Workbook

from gongshu.ingest import readers as r
from gongshu.ingest.readers import ReadLimits, ReadOptions, ReadRefused, open_table
from gongshu.settings import Settings
from tests.ingest.xls_writer import xls_bytes

pytestmark = pytest.mark.storage_only

LIMITS = ReadLimits.from_settings(Settings())


def read(
    tmp_path: Path,
    data: bytes,
    name: str = "data.csv",
    limits: ReadLimits = LIMITS,
    batch_rows: int = 65_536,
    **options: Any,
) -> tuple[r.TableSource, list[tuple[int, dict[str, str | None]]]]:
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    with open_table(path, name=name, options=ReadOptions(**options), limits=limits) as source:
        rows: list[tuple[int, dict[str, str | None]]] = []
        for numbers, batch in source.batches(batch_rows):
            assert all(t == "string" for t in map(str, batch.schema.types))
            assert batch.schema.names == source.headers
            rows.extend(zip(numbers.to_pylist(), batch.to_pylist(), strict=True))
    return source, rows


def refused(tmp_path: Path, data: bytes, name: str = "data.csv", **kw: Any) -> ReadRefused:
    with pytest.raises(ReadRefused) as info:
        read(tmp_path, data, name, **kw)
    return info.value


def issues(source: r.TableSource) -> list[tuple[int, str, str]]:
    return [(i.row, i.column, i.message) for i in source.issues]


# --- CSV: encodings ----------------------------------------------------------------------

CHINESE = "姓名,地址,备注\n张三,临沂市兰山区,正常\n李四,河东区,注销\n"


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8"), ("gbk", "gb18030"), ("gb18030", "gb18030")],
)
def test_each_encoding_is_detected(tmp_path: Path, encoding: str, expected: str) -> None:
    text = CHINESE + ("王䶮,罗庄区,\n" if encoding == "gb18030" else "")
    source, rows = read(tmp_path, text.encode(encoding))
    assert source.encoding == expected
    assert source.headers == ["姓名", "地址", "备注"]
    assert rows[0] == (2, {"姓名": "张三", "地址": "临沂市兰山区", "备注": "正常"})
    if encoding == "gb18030":
        assert rows[2] == (4, {"姓名": "王䶮", "地址": "罗庄区", "备注": None})


def test_gbk_detected_from_a_short_sample(tmp_path: Path) -> None:
    source, rows = read(tmp_path, "名称\n临沂\n".encode("gbk"))
    assert source.encoding == "gb18030"
    assert rows == [(2, {"名称": "临沂"})]


def test_explicit_encoding_overrides_detection(tmp_path: Path) -> None:
    data = "a,b\né,x\n".encode("latin-1")
    assert "UTF-8/GBK/GB18030" in str(refused(tmp_path, data + b"\xff\xfe\x80" * 3))
    source, rows = read(tmp_path, data, encoding="latin-1")
    assert source.encoding == "iso8859_1"
    assert rows == [(2, {"a": "é", "b": "x"})]


def test_wrong_encoding_forced_is_refused(tmp_path: Path) -> None:
    error = refused(tmp_path, CHINESE.encode("gbk"), encoding="utf-8")
    assert error.message == r.BAD_BYTES
    assert error.params["encoding"] == "utf-8"
    assert "指定" in str(error)
    assert refused(tmp_path, b"a\n1\n", encoding="no-such-codec").message == r.UNKNOWN_ENCODING


def test_bad_bytes_late_in_the_file_refuse_with_the_encoding(tmp_path: Path) -> None:
    good = ("名称,值\n" + "临沂,1\n" * 300_000).encode("utf-8")
    error = refused(tmp_path, good + b"\xff\xfe,2\n")
    assert error.message == r.BAD_BYTES
    assert error.params["encoding"] == "utf-8"
    gb = ("名称,值\n" + "临沂,1\n" * 300_000).encode("gb18030")
    assert refused(tmp_path, gb + b"\x81\x20,2\n").params["encoding"] == "gb18030"


# --- CSV: dialects -----------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", ["\t", ";", "|"])
def test_delimiters_are_sniffed(tmp_path: Path, delimiter: str) -> None:
    text = delimiter.join(["id", "name", "note"]) + "\n"
    text += delimiter.join(["1", "张三", "a,b"]) + "\n" + delimiter.join(["2", "李四", ""]) + "\n"
    source, rows = read(tmp_path, text.encode())
    assert source.delimiter == delimiter
    assert rows == [
        (2, {"id": "1", "name": "张三", "note": "a,b"}),
        (3, {"id": "2", "name": "李四", "note": None}),
    ]


def test_explicit_delimiter_and_quotechar(tmp_path: Path) -> None:
    data = b"a;b\n'x;y';2\n"
    source, rows = read(tmp_path, data, delimiter=";", quotechar="'")
    assert rows == [(2, {"a": "x;y", "b": "2"})]
    source, rows = read(tmp_path, b"a,b\n1;2,3\n", delimiter=",")
    assert source.delimiter == ","
    assert rows == [(2, {"a": "1;2", "b": "3"})]


def test_quoted_cells_with_commas_newlines_and_empty_quotes(tmp_path: Path) -> None:
    data = (
        b'id,text,other\n1,"a, b",x\n2,"line one\nline two\r\nline three",y\n3,"",""\n'
        b'4,"say ""hi""",z\n5,short\n6,ok,ok\n'
    )
    source, rows = read(tmp_path, data)
    assert rows == [
        (2, {"id": "1", "text": "a, b", "other": "x"}),
        (3, {"id": "2", "text": "line one\nline two\r\nline three", "other": "y"}),
        (6, {"id": "3", "text": None, "other": None}),
        (7, {"id": "4", "text": 'say "hi"', "other": "z"}),
        (9, {"id": "6", "text": "ok", "other": "ok"}),
    ]
    assert issues(source) == [(8, "", r.RAGGED)]


def test_ragged_rows_have_exact_numbers_and_later_rows_stay_right(tmp_path: Path) -> None:
    lines = ["a,b,c"]
    for i in range(2, 200_001):
        lines.append(f"{i},x" if i % 50_000 == 0 else f"{i},x,y" if i % 70_001 else f"{i},x,y,z")
    source, rows = read(tmp_path, ("\n".join(lines) + "\n").encode(), batch_rows=10_000)
    bad = {50_000, 70_001, 100_000, 140_002, 150_000, 200_000}
    assert [(i.row, i.params["found"]) for i in source.issues] == [
        (n, 2 if n % 50_000 == 0 else 4) for n in sorted(bad)
    ]
    assert source.issues[0].params == {"row": 50_000, "found": 2, "expected": 3}
    assert len(rows) == 200_000 - 1 - len(bad)
    assert all(int(values["a"] or 0) == number for number, values in rows)


def test_ragged_rows_after_multiline_cells_count_lines(tmp_path: Path) -> None:
    data = b'a,b\n"1\n2\n3",x\nbad\n4,y\n'
    source, rows = read(tmp_path, data)
    assert issues(source) == [(5, "", r.RAGGED)]
    assert [n for n, _ in rows] == [2, 6]


def test_values_are_stripped_and_empty_rows_skipped(tmp_path: Path) -> None:
    data = "a,b\n  x , \u3000y\u3000\n,\n\n   ,  \n\u00a0z,1\n".encode()
    source, rows = read(tmp_path, data)
    assert rows == [(2, {"a": "x", "b": "y"}), (6, {"a": "z", "b": "1"})]
    assert source.issues == []


def test_header_row_skips_the_lines_above(tmp_path: Path) -> None:
    data = "临沂市企业名录\n导出于 2024-01-05\n名称,代码\n甲,1\n乙,2\n".encode()
    source, rows = read(tmp_path, data, header_row=3)
    assert source.headers == ["名称", "代码"]
    assert rows == [(4, {"名称": "甲", "代码": "1"}), (5, {"名称": "乙", "代码": "2"})]


def test_header_only_file_has_headers_and_no_rows(tmp_path: Path) -> None:
    source, rows = read(tmp_path, b"a,b,c\n")
    assert source.headers == ["a", "b", "c"]
    assert rows == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", r.EMPTY_FILE),
        (b"\n\n  \n", r.EMPTY_FILE),
        (b"a,,c\n1,2,3\n", r.EMPTY_HEADERS),
        (b"a,b,\n1,2,\n", r.EMPTY_HEADERS),
        (b"a, a ,b\n1,2,3\n", r.DUPLICATE_HEADERS),
    ],
)
def test_bad_files_are_refused(tmp_path: Path, data: bytes, message: str) -> None:
    assert refused(tmp_path, data).message == message


def test_size_limit(tmp_path: Path) -> None:
    small = LIMITS.__class__(**{**LIMITS.__dict__, "max_bytes": 10})
    error = refused(tmp_path, b"a,b\n1,2\n3,4\n", limits=small)
    assert error.message == r.TOO_LARGE
    assert error.params == {"size": 12, "max": 10}


def test_ten_megabyte_cell(tmp_path: Path) -> None:
    big = "长" * (10 * 1024 * 1024 // 3)
    data = f"a,b\n1,x\n2,{big}\n3,z\n".encode()
    tight = ReadLimits(**{**LIMITS.__dict__, "max_cell_chars": 1000})
    source, rows = read(tmp_path, data, limits=tight)
    assert [n for n, _ in rows] == [2, 4]
    [issue] = source.issues
    assert (issue.row, issue.column, issue.message) == (3, "b", r.CELL_TOO_LONG)
    assert issue.params == {"length": len(big), "max": 1000}
    assert issue.value is not None and len(issue.value) < 300
    roomy = ReadLimits(**{**LIMITS.__dict__, "max_cell_chars": 20_000_000})
    source, rows = read(tmp_path, data, limits=roomy)
    assert rows[1] == (3, {"a": "2", "b": big})
    assert source.issues == []


def test_hostile_names_only_give_a_suffix(tmp_path: Path) -> None:
    for name in ("../../etc/passwd.csv", "a\\b.csv", "/dev/null.csv", "..\\..\\x.CSV"):
        source, rows = read(tmp_path, b"a\n1\n", name=name)
        assert source.format == "csv"
        assert rows == [(2, {"a": "1"})]
    assert not Path("/etc/passwd.csv").exists()


def test_unknown_format(tmp_path: Path) -> None:
    assert refused(tmp_path, b"a\n1\n", format="parquet").message == r.UNKNOWN_FORMAT
    assert refused(tmp_path, b"\x00\x01\x02" * 100, name="blob.bin").message == r.UNKNOWN_FORMAT


def test_progress_reaches_the_total(tmp_path: Path) -> None:
    source, _rows = read(tmp_path, b"a\n" + b"1\n" * 1000)
    assert source.total_bytes == source.bytes_read == 2002


def test_streaming_keeps_memory_bounded(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    line = "91371300MA3C0000XX,临沂市某某有限公司,兰山区,2024-01-05,12345.67\n"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("code,name,district,date,amount\n")
        chunk = line * 10_000
        while fh.tell() < 100 * 1024 * 1024:
            fh.write(chunk)
    size = path.stat().st_size
    process = psutil.Process(os.getpid())
    settled: int | None = None
    peak = 0
    pa.default_memory_pool().release_unused()
    arrow_before = pa.total_allocated_bytes()
    arrow_peak = 0
    rows = 0
    with open_table(path, name="big.csv", limits=LIMITS) as source:
        for numbers, batch in source.batches():
            rows += batch.num_rows
            assert numbers[-1].as_py() == rows + 1
            rss = process.memory_info().rss
            if settled is None and source.bytes_read > size // 4:
                settled = rss
            peak = max(peak, rss)
            arrow_peak = max(arrow_peak, pa.total_allocated_bytes() - arrow_before)
    assert rows == size // len(line.encode())
    # Memory follows the block size (16 MiB), not the file size: a few blocks in flight,
    # and once they are, reading the remaining three quarters of the file adds no more
    # than a few blocks' worth of allocator slack.
    assert arrow_peak < 8 * 16 * 1024 * 1024
    assert settled is not None
    assert peak - settled < 6 * 16 * 1024 * 1024


# --- XLSX --------------------------------------------------------------------------------


def xlsx(tmp_path: Path, build: Any) -> bytes:
    wb = Workbook()
    build(wb)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def test_xlsx_values_dates_numbers_and_formulas(tmp_path: Path) -> None:
    def build(wb: Workbook) -> None:
        ws = wb.active
        ws.title = "数据"
        ws.append(["名称", "数量", "日期", "时间", "金额"])
        ws.append(["甲", 12.0, dt.date(2024, 1, 5), dt.datetime(2024, 1, 5, 8, 30), 1.25])
        ws.append(["乙", "=B2*2", None, None, 3])
        ws.append([None, None, None, None, None])
        ws.append(["  丙 ", True, None, None, None])

    source, rows = read(tmp_path, xlsx(tmp_path, build), name="表.xlsx")
    assert (source.format, source.sheet) == ("xlsx", "数据")
    assert rows == [
        (
            2,
            {
                "名称": "甲",
                "数量": "12",
                "日期": "2024-01-05",
                "时间": "2024-01-05T08:30:00",
                "金额": "1.25",
            },
        ),
        (5, {"名称": "丙", "数量": "true", "日期": None, "时间": None, "金额": None}),
    ]
    [issue] = source.issues
    assert (issue.row, issue.column, issue.message) == (3, "数量", r.FORMULA)
    assert issue.params == {"formula": "=B2*2"}


def test_xlsx_merged_header_cells_are_refused(tmp_path: Path) -> None:
    def build(wb: Workbook) -> None:
        ws = wb.active
        ws.append(["名称", "联系方式", None, "备注"])
        ws.append(["甲", "电话", "地址", None])
        ws.merge_cells("B1:C1")

    error = refused(tmp_path, xlsx(tmp_path, build), name="x.xlsx")
    assert error.message == r.EMPTY_HEADERS
    assert "合并" in str(error)


def test_xlsx_header_row_and_named_sheet(tmp_path: Path) -> None:
    def build(wb: Workbook) -> None:
        wb.active.append(["第一个工作表"])
        ws = wb.create_sheet("企业")
        ws.append(["企业名录"])
        ws.append([])
        ws.append(["名称", "代码"])
        ws.append(["甲", 1])
        ws.append(["乙", 2, "多出的值"])

    data = xlsx(tmp_path, build)
    source, rows = read(tmp_path, data, name="x.xlsx", sheet="企业", header_row=3)
    assert source.headers == ["名称", "代码"]
    assert rows == [(4, {"名称": "甲", "代码": "1"})]
    assert issues(source) == [(5, "", r.BEYOND_HEADER)]
    source, rows = read(tmp_path, data, name="x.xlsx")
    assert (source.sheet, source.headers, rows) == ("Sheet", ["第一个工作表"], [])
    error = refused(tmp_path, data, name="x.xlsx", sheet="人口")
    assert error.message == r.NO_SHEET
    assert error.params["sheets"] == "Sheet、企业"


def test_zip_bomb_disguised_as_xlsx_is_refused_before_parsing(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * (200 * 1024 * 1024))
    data = buffer.getvalue()
    assert len(data) < 1024 * 1024
    assert refused(tmp_path, data, name="bomb.xlsx").message == r.RATIO_TOO_HIGH
    small = ReadLimits(**{**LIMITS.__dict__, "max_uncompressed_bytes": 100 * 1024 * 1024})
    error = refused(tmp_path, data, name="bomb.xlsx", limits=small)
    assert error.message == r.TOO_BIG_UNCOMPRESSED


def test_random_binary_named_xlsx_is_refused(tmp_path: Path) -> None:
    data = os.urandom(64 * 1024)
    assert refused(tmp_path, data, name="data.xlsx").message == r.NOT_XLSX
    assert refused(tmp_path, b"PK\x03\x04" + data, name="data.xlsx").message == r.NOT_XLSX


# --- XLS ---------------------------------------------------------------------------------


def test_xls_values_dates_and_sheets(tmp_path: Path) -> None:
    data = xls_bytes(
        [
            ["名称", "数量", "日期"],
            ["甲", 12, dt.date(2024, 1, 5)],
            [None, None, None],
            ["乙", 1.5, None],
        ],
        title="数据",
    )
    source, rows = read(tmp_path, data, name="old.xls")
    assert (source.format, source.sheet, source.headers) == (
        "xls",
        "数据",
        ["名称", "数量", "日期"],
    )
    assert rows == [
        (2, {"名称": "甲", "数量": "12", "日期": "2024-01-05"}),
        (4, {"名称": "乙", "数量": "1.5", "日期": None}),
    ]
    assert refused(tmp_path, data, name="old.xls", sheet="x").message == r.NO_SHEET
    tight = ReadLimits(**{**LIMITS.__dict__, "max_xls_bytes": 1024})
    assert refused(tmp_path, data, name="old.xls", limits=tight).message == r.XLS_TOO_LARGE


def test_xlsx_content_named_xls_is_read_as_xlsx(tmp_path: Path) -> None:
    data = xlsx(tmp_path, lambda wb: (wb.active.append(["a"]), wb.active.append([1])))
    source, rows = read(tmp_path, data, name="mislabelled.xls")
    assert (source.format, rows) == ("xlsx", [(2, {"a": "1"})])


# --- JSON and NDJSON ---------------------------------------------------------------------


def test_json_array(tmp_path: Path) -> None:
    document = [
        {"名称": "甲", "数量": 12, "有效": True},
        "not an object",
        {"数量": 1.5, "标签": ["a", "b"], "名称": " 乙 ", "扩展": {"k": "值"}},
    ]
    source, rows = read(tmp_path, json.dumps(document, ensure_ascii=False).encode(), "x.json")
    assert source.headers == ["名称", "数量", "有效", "标签", "扩展"]
    assert rows == [
        (1, {"名称": "甲", "数量": "12", "有效": "true", "标签": None, "扩展": None}),
        (3, {"名称": "乙", "数量": "1.5", "有效": None, "标签": '["a","b"]', "扩展": '{"k":"值"}'}),
    ]
    assert issues(source) == [(2, "", r.NOT_OBJECT)]
    assert refused(tmp_path, b'[{"a": [1, 2', name="x.json").message == r.JSON_INVALID
    assert refused(tmp_path, b'"text"', name="x.json").message == r.JSON_NOT_ARRAY
    tight = ReadLimits(**{**LIMITS.__dict__, "max_json_bytes": 1024})
    big = json.dumps([{"a": "x" * 2000}]).encode()
    assert refused(tmp_path, big, name="x.json", limits=tight).message == r.JSON_TOO_LARGE


def test_ndjson_lines(tmp_path: Path) -> None:
    data = (
        '{"a": 1, "b": "x"}\n\n[1, 2]\n{"c": null, "a": false}\nnot json\n{"b": "临沂市"}\n'
    ).encode("gbk")
    source, rows = read(tmp_path, data, name="x.ndjson", batch_rows=1)
    assert (source.format, source.encoding) == ("ndjson", "gb18030")
    assert source.headers == ["a", "b", "c"]
    assert rows == [
        (1, {"a": "1", "b": "x", "c": None}),
        (4, {"a": "false", "b": None, "c": None}),
        (6, {"a": None, "b": "临沂市", "c": None}),
    ]
    assert issues(source) == [(3, "", r.NOT_OBJECT), (5, "", r.BAD_JSON_LINE)]


def test_format_is_sniffed_without_a_suffix(tmp_path: Path) -> None:
    assert read(tmp_path, b'[{"a": 1}]', name="upload")[0].format == "json"
    assert read(tmp_path, b'{"a": 1}\n{"a": 2}\n', name="upload.json")[0].format == "ndjson"
    assert read(tmp_path, b"a,b\n1,2\n", name="upload")[0].format == "csv"


def test_numbers_stay_exact_when_the_threaded_parse_hands_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file of many blocks, a multi-line cell in an early block and bad rows in later
    ones: the threaded parser reads the first blocks, the single-threaded one takes over at
    the first bad row, and every number, before and after, is the line a person sees."""
    n, bad, multiline_at = 200_000, {150_000, 170_001, 199_990}, 20_000
    lines = ["临沂市企业名录", "编号,名称,备注"]
    expected: dict[int, int] = {}
    expected_bad: list[int] = []
    line = 3
    for i in range(n):
        if i in bad:
            lines.append(f"{i},坏行")
            expected_bad.append(line)
            line += 1
        elif i == multiline_at:
            lines.append(f'{i},"多行\n名称",备注{i}')
            expected[i] = line
            line += 2
        else:
            lines.append(f"{i},企业{i},备注{i}")
            expected[i] = line
            line += 1
    data = ("\n".join(lines) + "\n").encode("gb18030")
    # Blocks of about 1 MiB: the file is five of them, so the bad rows sit well beyond
    # what the threaded parser reads ahead.
    monkeypatch.setattr(r, "NARROW_BLOCK_BYTES", 2**20)
    monkeypatch.setattr(r, "MIN_BLOCK_BYTES", 2**20)
    small_cells = ReadLimits(**{**LIMITS.__dict__, "max_cell_chars": 1000})
    assert len(data) > 5 * 2**20
    readers: list[tuple[bool, int]] = []
    original = r._CsvSource._reader

    def recorded(self: Any, *, threaded: bool, skip: int) -> Any:
        readers.append((threaded, skip))
        return original(self, threaded=threaded, skip=skip)

    monkeypatch.setattr(r._CsvSource, "_reader", recorded)
    source, rows = read(tmp_path, data, limits=small_cells, batch_rows=131_072, header_row=2)
    assert {int(values["编号"] or -1): number for number, values in rows} == expected
    assert [(i.row, i.message) for i in source.issues] == [(b, r.RAGGED) for b in expected_bad]
    # Threaded from the start (past the multi-line cell), single-threaded from a whole
    # block on, before the first bad row.
    assert [threaded for threaded, _ in readers] == [True, False]
    assert multiline_at < readers[1][1] <= 150_000
