"""Export writers: every format reads back to the same rows, no cell is a formula, XLSX
splits into sheets, the fingerprint is in every file, and memory stays bounded."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tracemalloc
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from gongshu.dataapi import exports
from tests.dataapi.conftest import FORMULAS, NAMES, all_rows, to_batch

META = exports.ExportMeta(
    dataset_code="202001/0007",
    dataset_title="企业登记信息",
    version=3,
    fingerprint="0123456789abcdef0123456789abcdef",
    exported_at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
    fields=[exports.ExportField(n, f"标签{n}", "string") for n in NAMES],
    export_id="e" * 32,
)


def batches(count: int = 240, size: int = 50) -> list[pa.RecordBatch]:
    rows = all_rows(count)
    return [to_batch(rows[i : i + size], i).drop_columns(["_row"]) for i in range(0, count, size)]


def write(fmt: str, **kw: Any) -> bytes:
    parts = batches()
    return b"".join(exports.stream(fmt, iter(parts), META, schema=parts[0].schema, **kw))


def text_of(value: Any) -> str:
    """A typed value as the CSV writer prints it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"{value:.6f}"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def test_csv_is_a_bom_a_header_and_the_rows_with_a_guard() -> None:
    data = write("csv")
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    # Nothing but the header and the rows: no comment, no trailer, one CRLF after each.
    assert text.endswith("\r\n") and not text.endswith("\r\n\r\n")
    assert META.fingerprint not in text
    assert not any(line.startswith("#") for line in text.split("\r\n"))
    reader = list(csv.reader(io.StringIO(text)))
    assert reader[0] == NAMES
    assert len(reader) == 241
    for got, want in zip(reader[1:], all_rows(), strict=True):
        for name, cell in zip(NAMES, got, strict=True):
            value = want[name]
            if isinstance(value, str):
                # A formula-like text went out with one apostrophe in front.
                assert cell[0] != "=" and cell[0] != "+" and cell[0] != "-" and cell[0] != "@"
                assert exports.csv_unescape(cell) == value
            else:
                assert cell == text_of(value)
    # Every formula-like note is in the file, guarded.
    cells = {row[NAMES.index("note")] for row in reader[1:]}
    assert {"'=1+1", "'+SUM(A1:A2)", "'-2+3", "'@cmd", "''quoted"} <= cells


def test_csv_labels_as_column_titles() -> None:
    parts = batches()
    meta = exports.ExportMeta(**{**META.__dict__, "header": "label"})
    data = b"".join(exports.stream("csv", iter(parts), meta, schema=parts[0].schema))
    first = data.decode("utf-8-sig").split("\r\n")[0]
    assert first == ",".join(f'"标签{n}"' for n in NAMES)


def test_json_and_ndjson_read_back() -> None:
    body = json.loads(write("json"))
    assert body["fingerprint"] == META.fingerprint and body["version"] == 3
    assert body["row_count"] == 240 and len(body["rows"]) == 240
    assert body["rows"][1]["capital"] == "10.01" and body["rows"][1]["founded"] == "2000-01-14"
    assert [r["credit_code"] for r in body["rows"]] == [r["credit_code"] for r in all_rows()]
    assert {r["note"] for r in body["rows"]} >= set(FORMULAS)
    ndjson = write("json", ndjson=True).decode("utf-8")
    lines = ndjson.splitlines()
    # One record per row and nothing else, so a reader expecting uniform records copes.
    assert len(lines) == 240 and ndjson.endswith("}\n")
    rows = [json.loads(line) for line in lines]
    assert rows == body["rows"]
    assert META.fingerprint not in ndjson


def test_an_empty_csv_or_ndjson_is_its_header_or_nothing() -> None:
    schema = pa.schema([("n", pa.int64()), ("t", pa.string())])
    data = b"".join(exports.stream("csv", iter([]), META, schema=schema))
    assert data == b'\xef\xbb\xbf"n","t"\r\n'
    assert b"".join(exports.stream("json", iter([]), META, schema=schema, ndjson=True)) == b""


def test_parquet_keeps_types_and_carries_the_fingerprint() -> None:
    table = pq.read_table(io.BytesIO(write("parquet")))
    metadata = table.schema.metadata
    assert metadata[b"gongshu.fingerprint"] == META.fingerprint.encode()
    assert metadata[b"gongshu.dataset"] == b"202001/0007"
    assert table.to_pylist() == [{n: r[n] for n in NAMES} for r in all_rows()]


def test_xlsx_writes_text_as_text_and_reads_back() -> None:
    wb = load_workbook(io.BytesIO(write("xlsx")))
    assert wb.sheetnames == ["数据", "导出说明"]
    assert wb.properties.identifier == META.fingerprint
    assert any(
        p.name == "gongshu_fingerprint" and p.value == META.fingerprint for p in wb.custom_doc_props
    )
    ws = wb["数据"]
    rows = list(ws.iter_rows())
    assert [c.value for c in rows[0]] == NAMES
    note = NAMES.index("note")
    for cells, want in zip(rows[1:], all_rows(), strict=True):
        for name, cell in zip(NAMES, cells, strict=True):
            value = want[name]
            if isinstance(value, str):
                assert cell.data_type == "s", (name, value)
                assert cell.value == value
            elif isinstance(value, dt.datetime):
                assert cell.value == value
            elif isinstance(value, dt.date):
                assert cell.value == dt.datetime.combine(value, dt.time())
            elif isinstance(value, Decimal):
                assert Decimal(str(cell.value)) == value
            else:
                assert cell.value == value
    formula_cells = [r[note] for r in rows[1:] if r[note].value in FORMULAS]
    assert formula_cells and all(c.data_type == "s" for c in formula_cells)
    about = {r[0].value: r[1].value for r in wb["导出说明"].iter_rows() if len(r) > 1}
    assert about["指纹"] == META.fingerprint and about["行数"] == 240


def test_xlsx_continues_on_new_sheets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exports, "XLSX_SHEET_ROWS", 100)
    wb = load_workbook(io.BytesIO(write("xlsx")), read_only=True)
    assert wb.sheetnames == ["数据", "数据 (2)", "数据 (3)", "导出说明"]
    codes: list[str] = []
    for title in wb.sheetnames[:3]:
        rows = list(wb[title].iter_rows(values_only=True))
        assert list(rows[0]) == NAMES  # each sheet repeats the header
        assert len(rows) - 1 == (100 if title != "数据 (3)" else 40)
        codes.extend(str(r[0]) for r in rows[1:])
    assert codes == [r["credit_code"] for r in all_rows()]


def test_xlsx_replaces_characters_it_cannot_hold() -> None:
    batch = pa.record_batch([pa.array(["bell\x07", "ok"])], names=["t"])
    data = b"".join(exports.stream("xlsx", iter([batch]), META, schema=batch.schema))
    ws = load_workbook(io.BytesIO(data))["数据"]
    assert [c.value for c in ws["A"]] == ["t", "bell\ufffd", "ok"]


def _big_batches(total: int, size: int) -> Iterator[pa.RecordBatch]:
    words = pa.array([f"临沂市第{i}号企业有限公司，经营范围很长很长" * 3 for i in range(size)])
    for start in range(0, total, size):
        yield pa.record_batch(
            [pa.array(range(start, start + size), type=pa.int64()), words],
            names=["n", "text"],
        )


@pytest.mark.storage_only  # the writers' memory, with no database
@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_streaming_keeps_memory_bounded(fmt: str) -> None:
    """400,000 rows (~60 MB of text) stream in chunks; Python memory stays under 16 MB and
    Arrow's pool under 32 MB while they do."""
    schema = pa.schema([("n", pa.int64()), ("text", pa.string())])
    pool = pa.default_memory_pool()
    written = 0
    arrow_peak = 0
    source = 0

    def counted() -> Iterator[pa.RecordBatch]:
        nonlocal source
        for batch in _big_batches(400_000, 20_000):
            source += batch.nbytes
            yield batch

    tracemalloc.start()
    try:
        for chunk in exports.stream(fmt, counted(), META, schema=schema):
            written += len(chunk)
            arrow_peak = max(arrow_peak, pool.bytes_allocated())
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert source > 40 * 2**20
    assert written > (40 * 2**20 if fmt != "parquet" else 2**20)  # Parquet compresses
    assert peak < 16 * 2**20, f"Python peak {peak / 2**20:.1f} MiB"
    assert arrow_peak < 32 * 2**20, f"Arrow peak {arrow_peak / 2**20:.1f} MiB"


def test_the_csv_guard_reads_first_bytes_of_any_slice() -> None:
    values = ["\tx", "\rx", "=a", "安全", "", None, "a=b", "-", "éclair", "@", "'", "+1", "x"]
    for array in (pa.array(values), pa.array(values, type=pa.large_string())):
        for start in (0, 3):  # a slice: its offsets start inside the buffer
            sliced = array.slice(start)
            batch = pa.record_batch([sliced], names=["v"])
            guarded = exports._guard_strings(batch).column(0).to_pylist()
            expected = [
                None if v is None else ("'" + v if exports.CSV_PREFIXED.match(v) else v)
                for v in values[start:]
            ]
            assert guarded == expected
    clean = pa.record_batch([pa.array(["a", "b"])], names=["v"])
    assert exports._guard_strings(clean).column(0).to_pylist() == ["a", "b"]
