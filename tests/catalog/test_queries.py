"""Listing the catalog and exporting it."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from openpyxl import load_workbook
from sqlalchemy import event
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.catalog import queries
from gongshu.catalog.models import Dataset
from gongshu.catalog.schemas import DatasetFilter, FieldIn
from gongshu.errors import NotAuthenticated, PermissionDenied
from tests.factories import Person

SYSTEM = Actor.system("test")


@contextmanager
def count_statements(db: Session) -> Iterator[list[str]]:
    statements: list[str] = []
    conn = db.connection()

    def before(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE")):
            statements.append(statement)

    event.listen(conn, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(conn, "before_cursor_execute", before)


def _codes(result: queries.DatasetList) -> list[str]:
    return [d.code for d in result.items]


def test_listing_shows_only_visible_entries(
    db: Session,
    make_dataset: Callable[..., Dataset],
    officer: Person,
    other_officer: Person,
    bureau_admin: Person,
    publish: Callable[[Dataset], Dataset],
) -> None:
    draft = make_dataset()
    published = publish(make_dataset(title="企业年报信息"))
    theirs = make_dataset(by=other_officer, title="排污许可信息")
    assert _codes(queries.list_datasets(db, officer.actor)) == [draft.code, published.code]
    assert _codes(queries.list_datasets(db, other_officer.actor)) == sorted(
        [published.code, theirs.code]
    )
    assert queries.list_datasets(db, bureau_admin.actor).total == 3
    with pytest.raises(NotAuthenticated):
        queries.list_datasets(db, None)


def test_filters(db: Session, make_dataset: Callable[..., Dataset], officer: Person) -> None:
    a = make_dataset(title="企业登记信息", domain="市场监管")
    b = make_dataset(
        title="行政处罚信息",
        description="100%_完整",
        domain="综合执法",
        share_type="conditional",
        legal_basis="《行政处罚法》",
        open_type="none",
        level="general_3",
        update_cycle="monthly",
    )

    def find(**kw: object) -> list[str]:
        return _codes(queries.list_datasets(db, officer.actor, DatasetFilter.model_validate(kw)))

    assert find(q="处罚") == [b.code]
    assert find(q=a.code) == [a.code]
    assert find(q="100%_") == [b.code]
    # Lists match like the search box: punctuation is no word, and never a wildcard.
    assert find(q="%") == []
    assert find(q="完整") == [b.code]
    assert find(q="chufa") == [b.code]  # pinyin, as in the search box
    exported = queries.export_catalog(db, officer.actor, "csv", DatasetFilter(q="chufa"))
    text = exported.decode("utf-8-sig")
    assert "行政处罚信息" in text and "企业登记信息" not in text
    assert find(share_type="conditional") == [b.code]
    assert find(open_type="unconditional") == [a.code]
    assert find(level="general_3", update_cycle="monthly") == [b.code]
    assert find(domain="市场监管") == [a.code]
    assert find(state="draft") == [a.code, b.code]
    assert find(state="published") == []
    assert find(agency_id=a.agency_id, category_class="base") == [a.code, b.code]
    assert find(agency_id=10**20) == []
    assert find(q="", level="") == [a.code, b.code]  # blanks from forms mean "any"


def test_pagination_is_stable(
    db: Session, make_dataset: Callable[..., Dataset], officer: Person
) -> None:
    made = [make_dataset(title=f"条目{i}") for i in range(5)]
    first = queries.list_datasets(db, officer.actor, page=1, per_page=2)
    third = queries.list_datasets(db, officer.actor, page=3, per_page=2)
    assert (first.total, first.pages) == (5, 3)
    assert _codes(first) == [made[0].code, made[1].code]
    assert _codes(third) == [made[4].code]
    assert queries.list_datasets(db, officer.actor, per_page=10_000).per_page == 100


def test_listing_has_no_n_plus_one(
    db: Session, make_dataset: Callable[..., Dataset], officer: Person
) -> None:
    make_dataset()
    db.expunge_all()
    with count_statements(db) as few:
        queries.list_datasets(db, officer.actor)
    for i in range(6):
        make_dataset(title=f"条目{i}")
    db.expunge_all()
    with count_statements(db) as many:
        result = queries.list_datasets(db, officer.actor)
        assert all(d.agency.name and d.fields for d in result.items)
    assert len(many) == len(few) <= 4


# --- exports ---------------------------------------------------------------------------


def test_csv_export(db: Session, make_dataset: Callable[..., Dataset], officer: Person) -> None:
    ds = make_dataset()
    data = queries.export_catalog(db, officer.actor, "csv")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["信息资源代码", "信息资源名称", "信息资源提供方"]
    assert rows[1][0] == ds.code
    assert "无条件" in rows[1] and "一般数据 1 级" in rows[1] and "每日" in rows[1]
    assert rows[2] == []
    assert rows[3] == ["信息项"]
    assert rows[4][:3] == ["信息资源代码", "序号", "信息项名称"]
    assert [r[2] for r in rows[5:]] == ["credit_code", "name", "registered_on"]
    assert rows[4][10:15] == ["标识校验", "枚举值", "最小值", "最大值", "正则表达式"]


def test_exports_carry_the_field_rules(
    db: Session, make_dataset: Callable[..., Dataset], officer: Person
) -> None:
    make_dataset(
        fields=[
            FieldIn(
                name="credit_code",
                label="统一社会信用代码",
                is_key=True,
                required=True,
                length=18,
                identifier="credit_code",
            ),
            FieldIn(name="kind", label="类型", choices=["甲", "乙"], pattern="[甲乙]"),
            FieldIn(name="staff", label="人数", data_type="integer", min_value="0", max_value="9"),
        ]
    )
    rows = list(
        csv.reader(
            io.StringIO(queries.export_catalog(db, officer.actor, "csv").decode("utf-8-sig"))
        )
    )
    assert rows[5][10] == "统一社会信用代码"
    assert rows[6][11:15] == ["甲\n乙", "", "", "[甲乙]"]
    assert rows[7][12:14] == ["0", "9"]


def _dangerous(make_dataset: Callable[..., Dataset]) -> Dataset:
    return make_dataset(
        title='=HYPERLINK("http://evil","x")',
        description="+1+1",
        domain="@SUM(A1)",
        fields=[
            FieldIn(name="code", label="-2+3", is_key=True, required=True),
            FieldIn(name="note", label="说明", description="\t=cmd"),
        ],
    )


def test_exports_never_write_formulas(
    db: Session, make_dataset: Callable[..., Dataset], officer: Person
) -> None:
    _dangerous(make_dataset)
    rows = list(
        csv.reader(
            io.StringIO(queries.export_catalog(db, officer.actor, "csv").decode("utf-8-sig"))
        )
    )
    entry = rows[1]
    assert entry[1] == '\'=HYPERLINK("http://evil","x")'
    assert "'+1+1" in entry and "'@SUM(A1)" in entry
    assert rows[5][3] == "'-2+3"
    assert rows[6][-1] == "'=cmd"  # (leading whitespace is stripped on input)

    wb = load_workbook(io.BytesIO(queries.export_catalog(db, officer.actor, "xlsx")))
    entries, fields = wb.worksheets
    assert entries.title == "目录条目" and fields.title == "信息项"
    title = entries.cell(row=2, column=2)
    assert title.data_type == "s"
    assert title.value == '\'=HYPERLINK("http://evil","x")'
    for ws in (entries, fields):
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f"
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(("=", "+", "-", "@"))


def test_safe_cell() -> None:
    for value in ("=1", "+1", "-1", "@A1", "\t=1", "\r=1"):
        assert queries.safe_cell(value) == "'" + value
    assert queries.safe_cell("企业 = 1") == "企业 = 1"
    assert queries.safe_cell(-5) == -5


def test_exports_are_deterministic(
    db: Session, make_dataset: Callable[..., Dataset], officer: Person
) -> None:
    make_dataset()
    _dangerous(make_dataset)
    for fmt in ("csv", "xlsx"):
        first = queries.export_catalog(db, officer.actor, fmt)  # type: ignore[arg-type]
        second = queries.export_catalog(db, officer.actor, fmt)  # type: ignore[arg-type]
        assert first == second, fmt
    archive = zipfile.ZipFile(io.BytesIO(queries.export_catalog(db, officer.actor, "xlsx")))
    assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    core = archive.read("docProps/core.xml").decode()
    assert "2000-01-01T00:00:00Z" in core


def test_export_follows_visibility_and_order(
    db: Session,
    make_dataset: Callable[..., Dataset],
    other_officer: Person,
    officer: Person,
) -> None:
    b = make_dataset(category_class="theme", item_code="13")
    a = make_dataset()
    make_dataset(by=other_officer, title="排污许可信息")
    rows = list(
        csv.reader(
            io.StringIO(queries.export_catalog(db, officer.actor, "csv").decode("utf-8-sig"))
        )
    )
    assert [r[0] for r in rows[1:3]] == [a.code, b.code]
    assert rows[3] == []
    everything = queries.export_catalog(db, SYSTEM, "csv").decode("utf-8-sig")
    assert "排污许可信息" in everything


def test_export_needs_the_export_permission(
    db: Session, consumer: Person, public_user: Person
) -> None:
    for person in (consumer, public_user):
        with pytest.raises(PermissionDenied):
            queries.export_catalog(db, person.actor, "csv")
