"""A published catalog entry with rules on its fields, and helpers to write upload files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from gongshu.catalog.models import Dataset, DatasetState
from gongshu.catalog.schemas import FieldIn
from gongshu.identifiers import make_credit_code, organization_code_check_char

HEADER = "统一社会信用代码,企业名称,成立日期,注册资本,企业类型\n"


def code(i: int) -> str:
    """A valid unified social credit code, different for each ``i``."""
    body = f"{i:08d}"
    return make_credit_code("91371300" + body + organization_code_check_char(body))


def registry_fields() -> list[FieldIn]:
    return [
        FieldIn(
            name="credit_code",
            label="统一社会信用代码",
            is_key=True,
            required=True,
            length=18,
            sensitivity="credit_code",
            identifier="credit_code",
        ),
        FieldIn(name="name", label="企业名称", required=True, length=100),
        FieldIn(name="founded", label="成立日期", data_type="date", filterable=True),
        FieldIn(name="capital", label="注册资本", data_type="decimal", min_value="0"),
        FieldIn(
            name="kind", label="企业类型", choices=["有限责任公司", "股份有限公司", "个体工商户"]
        ),
    ]


@pytest.fixture
def registry(db: Session, make_dataset: Callable[..., Dataset]) -> Dataset:
    dataset = make_dataset(title="市场主体登记信息", fields=registry_fields())
    dataset.state = DatasetState.PUBLISHED
    db.flush()
    return dataset


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    def write(
        rows: list[str], *, name: str = "data.csv", encoding: str = "utf-8", header: str = HEADER
    ) -> Path:
        path = tmp_path / name
        path.write_bytes((header + "".join(r + "\n" for r in rows)).encode(encoding))
        return path

    return write


def good_rows(start: int, count: int) -> list[str]:
    return [
        f"{code(i)},临沂测试企业{i}有限公司,2020-01-{1 + i % 28:02d},{100 + i}.5,有限责任公司"
        for i in range(start, start + count)
    ]
