"""The benchmark's enterprise registry generator: valid identifiers, one injected error per
invalid row, and the same bytes on every run."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import numpy as np
import pytest

from bench._registry import (
    BLOCK_ROWS,
    COLUMNS,
    CREDIT_CODE_PATTERN,
    ENTERPRISE_TYPES,
    INVALID_KINDS,
    STATUSES,
    field_specs,
    generate_block,
    org_code_bodies,
    write_registry,
)
from gongshu.identifiers import (
    check_citizen_id,
    check_credit_code,
    check_mobile,
    check_region_code,
)

TODAY = dt.date(2026, 1, 1)
LABEL = {c.name: c.label for c in COLUMNS}


def _rows(block: int, rows: int, invalid_rate: float) -> tuple[list[dict[str, str]], list[int]]:
    generated = generate_block(block, rows, invalid_rate=invalid_rate)
    by_label = generated.table.to_pylist()
    rows_out = [{c.name: r[c.label] for c in COLUMNS} for r in by_label]
    return rows_out, generated.invalid_kind.tolist()


def _problems(row: dict[str, str]) -> set[str]:
    """Which of the injected kinds of error this row shows, per gongshu.identifiers."""
    found = set()
    if not check_credit_code(row["credit_code"]).ok:
        found.add("credit_code_check")
    if not check_citizen_id(row["legal_rep_id"], today=TODAY).ok:
        found.add("citizen_id_check")
    try:
        dt.date.fromisoformat(row["established_on"])
    except ValueError:
        found.add("impossible_date")
    if not check_mobile(row["phone"]).ok:
        found.add("phone_12_digits")
    return found


def test_valid_rows_pass_every_identifier_check_without_warnings():
    rows, kinds = _rows(0, 3000, invalid_rate=0.0)
    assert set(kinds) == {-1}
    pattern = re.compile(CREDIT_CODE_PATTERN)
    for row in rows:
        credit = check_credit_code(row["credit_code"])
        assert credit.ok and not credit.warnings, (row["credit_code"], credit.messages("en"))
        assert pattern.fullmatch(row["credit_code"])
        assert credit.region_code == row["region_code"]
        citizen = check_citizen_id(row["legal_rep_id"], today=TODAY)
        assert citizen.ok, (row["legal_rep_id"], citizen.messages("en"))
        assert dt.date(1950, 1, 1) <= citizen.birth_date <= dt.date(2003, 12, 31)
        assert check_mobile(row["phone"]).value == row["phone"]
        assert check_region_code(row["region_code"]).level == "county"
        assert row["enterprise_type"] in ENTERPRISE_TYPES
        assert row["status"] in STATUSES
        assert re.fullmatch(r"\d+\.\d\d", row["registered_capital"])
        assert float(row["registered_capital"]) >= 1
        established = dt.date.fromisoformat(row["established_on"])
        updated = dt.datetime.strptime(row["updated_at"], "%Y-%m-%d %H:%M:%S")
        assert established < updated.date() <= TODAY
        assert row["name"] and row["legal_rep"] and row["address"].startswith("山东省临沂市")


def test_credit_codes_are_unique_across_blocks():
    codes = [r["credit_code"] for block in (0, 1, 7) for r in _rows(block, 5000, 0.0)[0]]
    assert len(set(codes)) == len(codes)
    # Each row's organisation-code body comes from its index alone: one per row up to 5 M.
    bodies = np.sort(org_code_bodies(np.arange(5_000_000, dtype=np.int64)))
    assert (np.diff(bodies) != 0).all()
    assert {c[10:16] for c in codes[:5000]} != {c[10:16] for c in codes[5000:10000]}


def test_each_invalid_row_has_exactly_its_injected_error():
    rows, kinds = _rows(3, 4000, invalid_rate=0.05)
    invalid = [k for k in kinds if k >= 0]
    assert 120 < len(invalid) < 300  # about 5% of 4000
    assert {INVALID_KINDS[k] for k in invalid} == set(INVALID_KINDS)
    for row, kind in zip(rows, kinds, strict=True):
        expected = {INVALID_KINDS[kind]} if kind >= 0 else set()
        assert _problems(row) == expected, row
        if kind >= 0 and INVALID_KINDS[kind] == "phone_12_digits":
            assert len(row["phone"]) == 12


def test_the_invalid_rate_changes_only_the_invalid_rows():
    clean, _ = _rows(2, 2000, invalid_rate=0.0)
    dirty, kinds = _rows(2, 2000, invalid_rate=0.02)
    for before, after, kind in zip(clean, dirty, kinds, strict=True):
        changed = {k for k in before if before[k] != after[k]}
        assert len(changed) == (1 if kind >= 0 else 0)


def test_the_file_is_deterministic_and_a_prefix_of_a_longer_one(tmp_path: Path):
    rows = BLOCK_ROWS // 20
    a = write_registry(tmp_path / "a.csv", rows)
    b = write_registry(tmp_path / "b.csv", rows)
    assert a.path.read_bytes() == b.path.read_bytes()
    assert a.rows == rows and a.bytes == a.path.stat().st_size
    other = write_registry(tmp_path / "c.csv", rows, seed=1)
    assert other.path.read_bytes() != a.path.read_bytes()

    # A partial block is the start of the full one: 1.2 blocks begin with the 0.05-block file.
    longer = write_registry(tmp_path / "long.csv", BLOCK_ROWS + BLOCK_ROWS // 5)
    with a.path.open(encoding="utf-8", newline="") as f1, longer.path.open(encoding="utf-8") as f2:
        short_rows = list(csv.reader(f1))
        long_rows = [r for _, r in zip(range(len(short_rows)), csv.reader(f2), strict=False)]
    assert short_rows == long_rows
    assert short_rows[0] == [c.label for c in COLUMNS]
    assert len(short_rows) == rows + 1
    assert longer.invalid_rows == pytest.approx(longer.rows * 0.001, rel=0.5)


def test_field_specs_describe_the_columns():
    specs = field_specs()
    assert [s.label for s in specs] == [c.label for c in COLUMNS]
    by_name = {s.name: s for s in specs}
    assert by_name["credit_code"].is_key and by_name["credit_code"].required
    assert by_name["credit_code"].identifier == "credit_code"
    assert by_name["legal_rep_id"].identifier == "citizen_id"
    assert by_name["phone"].identifier == "mobile"
    assert by_name["status"].choices == STATUSES
    assert by_name["registered_capital"].data_type == "decimal"
    assert LABEL["updated_at"] == "更新时间"
