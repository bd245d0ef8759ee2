"""Fixtures for the list and import tests: template filling and published entries."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from gongshu.catalog import importer
from gongshu.catalog.models import Dataset, DatasetState

ENTRY_KEYS = {c.key: c for c in importer.ENTRY_COLUMNS}
FIELD_KEYS = {c.key: c for c in importer.FIELD_COLUMNS}


def entry_row(ref: str, **overrides: Any) -> dict[str, Any]:
    """A valid entry row with template labels (as a person picks them from the drop-downs)."""
    row: dict[str, Any] = {
        "ref": ref,
        "title": f"企业年报信息{ref}",
        "description": "市场主体年度报告",
        "category_class": "基础信息资源",
        "item_code": "02 法人单位",
        "subitem_code": "001",
        "domain": "市场监管",
        "format": "数据库",
        "share_type": "无条件共享",
        "open_type": "无条件开放",
        "level": "一般数据 1 级",
        "update_cycle": "每年",
    }
    row.update(overrides)
    return row


def field_rows(ref: str) -> list[dict[str, Any]]:
    return [
        {
            "ref": ref,
            "name": "credit_code",
            "label": "统一社会信用代码",
            "data_type": "字符串",
            "length": 18,
            "is_key": "是",
            "required": "是",
            "sensitivity": "统一社会信用代码",
        },
        {"ref": ref, "name": "report_year", "label": "年报年度", "data_type": "整数"},
    ]


def fill(
    entries: Sequence[dict[str, Any]],
    fields: Sequence[dict[str, Any]],
    template: bytes | None = None,
) -> bytes:
    """The template with these rows written under its headers."""
    wb = load_workbook(io.BytesIO(template or importer.build_template()))
    for sheet, rows, columns in (
        (importer.ENTRIES_SHEET, entries, importer.ENTRY_COLUMNS),
        (importer.FIELDS_SHEET, fields, importer.FIELD_COLUMNS),
    ):
        ws = wb[sheet]
        index = {c.key: i for i, c in enumerate(columns, start=1)}
        for r, row in enumerate(rows, start=2):
            for key, value in row.items():
                ws.cell(row=r, column=index[key], value=value)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.fixture
def publish(db: Session) -> Callable[[Dataset], Dataset]:
    """Mark an entry published (tests of what others see; the workflow has its own tests)."""

    def do(dataset: Dataset) -> Dataset:
        dataset.state = DatasetState.PUBLISHED
        db.commit()
        return dataset

    return do
