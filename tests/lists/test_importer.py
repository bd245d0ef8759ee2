"""Bulk compiling from the XLSX template: all errors at once, nothing saved unless asked,
unsafe files refused before any parsing, formulas never evaluated."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.auth.models import Role
from gongshu.catalog import importer
from gongshu.catalog.models import Dataset, DatasetState, OpenType, ShareType
from gongshu.errors import NotAuthenticated, PermissionDenied
from gongshu.search.models import SearchDoc
from gongshu.settings import get_settings
from tests.factories import Person
from tests.lists.conftest import entry_row, field_rows, fill


def count(db: Session, model: Any = Dataset) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def audit_count(db: Session, action: str) -> int:
    stmt = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
    return int(db.scalar(stmt) or 0)


def _column(key: str) -> str:
    return next(chr(ord("A") + i) for i, c in enumerate(importer.ENTRY_COLUMNS) if c.key == key)


def _field_column(key: str) -> str:
    return next(chr(ord("A") + i) for i, c in enumerate(importer.FIELD_COLUMNS) if c.key == key)


def _five_hundred() -> tuple[bytes, set[tuple[str, int, str]]]:
    """500 entries, 7 of them bad in 7 different ways; the expected (sheet, row, column)."""
    entries = [entry_row(str(i)) for i in range(1, 501)]
    fields = [f for i in range(1, 501) for f in field_rows(str(i))]
    entries_sheet, fields_sheet = importer.ENTRIES_SHEET, importer.FIELDS_SHEET
    expected: set[tuple[str, int, str]] = set()
    # entry i sits on row i + 1; its fields on rows 2i and 2i + 1 of the fields sheet
    entries[9]["title"] = None  # 10: required
    expected.add((entries_sheet, 11, _column("title")))
    entries[49]["share_type"] = "随便共享"  # 50: not a choice
    expected.add((entries_sheet, 51, _column("share_type")))
    entries[99]["share_type"] = "不予共享"  # 100: the service's rule (no legal basis)
    expected.add((entries_sheet, 101, _column("legal_basis")))
    entries[199]["item_code"] = "法人"  # 200: not an item code
    expected.add((entries_sheet, 201, _column("item_code")))
    entries[299]["published_on"] = "去年"  # 300: not a date
    expected.add((entries_sheet, 301, _column("published_on")))
    entries[399].update(  # 400: the level forbids unconditional opening
        level="一般数据 4 级", share_type="有条件共享", legal_basis="《中华人民共和国数据安全法》"
    )
    expected.add((entries_sheet, 401, _column("open_type")))
    fields[2 * 449 + 1]["name"] = "Report Year"  # 450: the service's field-name rule
    expected.add((fields_sheet, 2 * 450 + 1, _field_column("name")))
    return fill(entries, fields), expected


def test_500_rows_with_7_bad_report_all_and_save_nothing(db: Session, officer: Person) -> None:
    data, expected = _five_hundred()
    before_audit = count(db, AuditEntry)

    report = importer.import_catalog(db, officer.actor, data)

    assert report.entries == 500
    assert report.invalid == 7
    assert report.valid == 493
    assert not report.saved
    assert report.created == []
    found = {(e.sheet, e.row, e.column) for e in report.errors}
    assert found == expected
    assert all(e.message and e.header for e in report.errors)
    assert any("法律法规依据" in e.message for e in report.errors)
    assert count(db) == 0
    assert count(db, AuditEntry) == before_audit

    # the annotated workbook marks the seven cells and lists the reasons in "错误"
    wb = load_workbook(io.BytesIO(report.annotated or b""))
    ws = wb[importer.ENTRIES_SHEET]
    error_col = ws.max_column
    assert ws.cell(row=1, column=error_col).value == "错误"
    assert ws[f"{_column('title')}11"].comment is not None
    assert ws[f"{_column('title')}11"].fill.fgColor.rgb.endswith("FFC7CE")
    assert "法律法规依据" in str(ws.cell(row=101, column=error_col).value)
    assert ws.cell(row=2, column=error_col).value is None
    fields_ws = wb[importer.FIELDS_SHEET]
    assert fields_ws[f"{_field_column('name')}901"].comment is not None

    # the same file, valid rows only: 493 entries, one audit entry each, plus catalog.import
    report = importer.import_catalog(db, officer.actor, data, valid_rows_only=True)
    assert report.saved
    assert len(report.created) == 493
    assert count(db) == 493
    assert count(db, SearchDoc) == 493  # indexed for search by the import's own commit
    assert audit_count(db, "dataset.create") == 493
    assert audit_count(db, "catalog.import") == 1
    states = set(db.scalars(select(Dataset.state)))
    assert states == {DatasetState.DRAFT}


def test_template_round_trip(db: Session, officer: Person) -> None:
    template = importer.build_template()
    assert template == importer.build_template()  # deterministic
    wb = load_workbook(io.BytesIO(template))
    assert wb.sheetnames == ["目录条目", "信息项", "可选值", "填写说明"]
    validations = wb["目录条目"].data_validations.dataValidation
    assert any("可选值" in (dv.formula1 or "") for dv in validations)
    covered = " ".join(str(dv.sqref) for dv in validations)
    assert f"{_column('share_type')}2:" in covered

    entries = [
        entry_row("A", title="企业登记基本信息"),
        entry_row(
            "B",
            title="行政处罚决定书",
            share_type="有条件共享",
            open_type="不予开放",
            level="一般数据 3 级",
            legal_basis="《中华人民共和国行政处罚法》",
            tags="处罚、执法",
        ),
    ]
    data = fill(entries, field_rows("A") + field_rows("B"), template)
    report = importer.import_catalog(db, officer.actor, data, filename="catalog.xlsx")
    assert report.ok and report.saved, report.errors
    rows = {d.title: d for d in db.scalars(select(Dataset))}
    b = rows["行政处罚决定书"]
    assert b.share_type is ShareType.CONDITIONAL
    assert b.open_type is OpenType.NONE
    assert b.tags == ["处罚", "执法"]
    assert [f.name for f in b.fields] == ["credit_code", "report_year"]
    assert b.fields[0].is_key and b.fields[0].required
    assert b.agency_id == officer.user.agency_id
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "catalog.import")).one()
    assert entry.object_label == "catalog.xlsx"
    assert entry.changes["created"] == [None, 2]


def test_formula_cell_is_an_error_not_a_value(db: Session, officer: Person) -> None:
    wb = load_workbook(io.BytesIO(fill([entry_row("1")], field_rows("1"))))
    ws = wb[importer.ENTRIES_SHEET]
    ws[f"{_column('title')}2"] = '=HYPERLINK("http://evil.example","企业")'
    raw = io.BytesIO()
    wb.save(raw)

    report = importer.import_catalog(db, officer.actor, raw.getvalue())

    assert not report.saved
    assert [(e.row, e.column) for e in report.errors] == [(2, _column("title"))]
    assert "公式" in report.errors[0].message
    assert count(db) == 0
    # the annotated copy keeps the text but no formula that could run
    annotated = load_workbook(io.BytesIO(report.annotated or b""))
    cell = annotated[importer.ENTRIES_SHEET][f"{_column('title')}2"]
    assert cell.data_type == "s"
    assert str(cell.value).startswith("'=")


def _no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("openpyxl must not parse a refused file")

    monkeypatch.setattr(importer, "load_workbook", boom)


def test_zip_bomb_refused_before_parsing(
    db: Session, officer: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 * 1024 * 1024))
    data = raw.getvalue()
    assert len(data) < 100_000
    _no_parsing(monkeypatch)
    with pytest.raises(importer.ImportRefused) as exc:
        importer.import_catalog(db, officer.actor, data)
    assert "压缩炸弹" in exc.value.errors["file"][0]

    # the absolute cap on the uncompressed size holds even at an innocent ratio
    monkeypatch.setattr(get_settings(), "import_max_uncompressed_bytes", 4096)
    plain = io.BytesIO()
    with zipfile.ZipFile(plain, "w", zipfile.ZIP_STORED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "x" * 5000)
    with pytest.raises(importer.ImportRefused) as exc:
        importer.import_catalog(db, officer.actor, plain.getvalue())
    assert "4096" in exc.value.errors["file"][0]


def test_oversized_and_non_xlsx_refused(
    db: Session, officer: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = fill([entry_row("1")], field_rows("1"))
    monkeypatch.setattr(get_settings(), "import_max_bytes", len(data) - 1)
    _no_parsing(monkeypatch)
    with pytest.raises(importer.ImportRefused) as exc:
        importer.import_catalog(db, officer.actor, data)
    assert "上限" in exc.value.errors["file"][0]
    monkeypatch.setattr(get_settings(), "import_max_bytes", 10 * 1024 * 1024)
    for junk in (b"name,title\n1,2\n", b"PK\x03\x04broken"):
        with pytest.raises(importer.ImportRefused):
            importer.import_catalog(db, officer.actor, junk)
    assert count(db) == 0


def test_row_cap(db: Session, officer: Person, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "import_max_rows", 3)
    entries = [entry_row(str(i)) for i in range(1, 5)]
    data = fill(entries, [f for i in range(1, 5) for f in field_rows(str(i))])
    with pytest.raises(importer.ImportRefused) as exc:
        importer.import_catalog(db, officer.actor, data)
    assert "3" in exc.value.errors["file"][0]


def test_orphan_fields_duplicate_refs_and_missing_columns(db: Session, officer: Person) -> None:
    entries = [entry_row("1"), entry_row("1", title="重复编号")]
    fields = [*field_rows("1"), {"ref": "9", "name": "x", "label": "孤儿"}]
    report = importer.import_catalog(db, officer.actor, fill(entries, fields))
    messages = [e.message for e in report.errors]
    assert any("重复" in m for m in messages)
    assert any("不存在" in m for m in messages)
    assert count(db) == 0

    wb = load_workbook(io.BytesIO(fill([entry_row("1")], field_rows("1"))))
    ws = wb[importer.ENTRIES_SHEET]
    ws.delete_cols(2)  # no title column
    raw = io.BytesIO()
    wb.save(raw)
    report = importer.import_catalog(db, officer.actor, raw.getvalue())
    assert not report.saved
    assert report.errors[0].row == 1
    assert "信息资源名称" in report.errors[0].message


def test_only_officers_import(db: Session, make_person: Any, agency: Any, officer: Person) -> None:
    data = fill([entry_row("1")], field_rows("1"))
    with pytest.raises(NotAuthenticated):
        importer.import_catalog(db, None, data)
    consumer = make_person(Role.AGENCY_CONSUMER, agency=agency)
    with pytest.raises(PermissionDenied):
        importer.import_catalog(db, consumer.actor, data)
    admin = make_person(Role.BUREAU_ADMIN)
    with pytest.raises(PermissionDenied):
        importer.import_catalog(db, admin.actor, data)


def test_english_headers_and_codes_are_read(db: Session, officer: Person) -> None:
    row = entry_row("1", category_class="base", share_type="unconditional", level="general_1")
    report = importer.import_catalog(db, officer.actor, fill([row], field_rows("1")))
    assert report.saved, report.errors
