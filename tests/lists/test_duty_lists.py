"""The responsibility and negative lists: contents, scope, visibility, exports, channels."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from gongshu.auth.models import Role
from gongshu.catalog import duty_lists
from gongshu.catalog.duty_lists import ListFilter
from gongshu.catalog.models import Dataset
from tests.factories import Person, api_headers, login


@pytest.fixture
def entries(
    make_dataset: Callable[..., Dataset],
    publish: Callable[[Dataset], Dataset],
    other_officer: Person,
) -> dict[str, Dataset]:
    """Published: an open one, a not-shared one (other agency), a not-opened one; a draft."""
    open_one = publish(make_dataset(title="企业登记基本信息"))
    closed = publish(
        make_dataset(
            by=other_officer,
            title="=环境执法线索",
            share_type="none",
            open_type="none",
            level="important",
            legal_basis="《中华人民共和国数据安全法》第二十一条",
        )
    )
    not_opened = publish(
        make_dataset(
            title="个体工商户经营者信息",
            share_type="conditional",
            open_type="none",
            level="general_4",
            legal_basis="《个人信息保护法》",
            open_conditions="含个人信息",
        )
    )
    draft = make_dataset(title="草稿条目")
    return {"open": open_one, "closed": closed, "not_opened": not_opened, "draft": draft}


def test_lists_hold_the_right_entries(
    db: Session, entries: dict[str, Dataset], officer: Person, bureau_admin: Person
) -> None:
    titles = [d.title for d in duty_lists.list_rows(db, bureau_admin.actor, "responsibility")]
    assert set(titles) == {"企业登记基本信息", "=环境执法线索", "个体工商户经营者信息"}
    negative = duty_lists.list_rows(db, bureau_admin.actor, "negative")
    assert {d.title for d in negative} == {"=环境执法线索", "个体工商户经营者信息"}
    # ordered by agency name, then code
    names = [d.agency.name for d in duty_lists.list_rows(db, bureau_admin.actor, "responsibility")]
    assert names == sorted(names)

    # the explicit scope: drafts only with scope=visible, and only for who may see them
    visible = ListFilter(scope="visible")
    officer_rows = duty_lists.list_rows(db, officer.actor, "responsibility", visible)
    assert "草稿条目" in {d.title for d in officer_rows}
    assert "草稿条目" not in {
        d.title for d in duty_lists.list_rows(db, officer.actor, "responsibility")
    }
    assert "草稿条目" not in {
        d.title for d in duty_lists.public_rows(db, "responsibility", visible)
    }

    only = ListFilter(agency_id=entries["closed"].agency_id)
    assert [d.title for d in duty_lists.list_rows(db, officer.actor, "negative", only)] == [
        "=环境执法线索"
    ]


def test_public_users_see_nothing_and_anonymous_is_refused(
    db: Session, entries: dict[str, Dataset], make_person: Callable[..., Person]
) -> None:
    public = make_person(Role.PUBLIC)
    assert duty_lists.list_rows(db, public.actor, "responsibility") == []
    with pytest.raises(Exception, match="请先登录"):
        duty_lists.list_rows(db, None, "negative")


def test_exports_are_formula_safe_bom_csv_and_deterministic_xlsx(
    db: Session, entries: dict[str, Dataset], bureau_admin: Person
) -> None:
    data = duty_lists.export_list(db, bureau_admin.actor, "negative", "csv")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))
    assert rows[0][:3] == ["序号", "信息资源代码", "信息资源名称"]
    assert "法律法规依据" in rows[0]
    titles = [r[2] for r in rows[1:]]
    assert "'=环境执法线索" in titles  # never a formula
    assert any("数据安全法" in cell for r in rows[1:] for cell in r)
    assert any("不予共享" in r for r in rows[1:])

    first = duty_lists.export_list(db, bureau_admin.actor, "responsibility", "xlsx")
    assert first == duty_lists.export_list(db, bureau_admin.actor, "responsibility", "xlsx")
    ws = load_workbook(io.BytesIO(first)).active
    assert ws is not None
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0][5] == "信息项"
    cell_types = {c.data_type for row in ws.iter_rows(min_row=2) for c in row if c.value}
    assert "f" not in cell_types
    assert any(v == "统一社会信用代码、企业名称、成立日期" for row in values for v in row)


def test_api_json_csv_xlsx(
    client: TestClient, entries: dict[str, Dataset], officer: Person
) -> None:
    assert client.get("/api/v1/catalog/lists/negative").status_code == 401
    headers = api_headers(client, officer)
    body = client.get("/api/v1/catalog/lists/negative", headers=headers).json()
    assert body["kind"] == "negative"
    assert body["scope"] == "published"
    assert body["total"] == 2
    item = next(i for i in body["items"] if i["share_type"] == "none")
    assert item["legal_basis"].startswith("《中华人民共和国数据安全法》")
    csv_response = client.get(
        "/api/v1/catalog/lists/responsibility?format=csv&scope=visible", headers=headers
    )
    assert csv_response.status_code == 200
    assert csv_response.headers["content-type"].startswith("text/csv")
    assert "草稿条目" in csv_response.content.decode("utf-8-sig")
    xlsx = client.get("/api/v1/catalog/lists/responsibility?format=xlsx", headers=headers)
    assert xlsx.content[:2] == b"PK"
    assert client.get("/api/v1/catalog/lists/other", headers=headers).status_code == 422
    bad = client.get("/api/v1/catalog/lists/negative?scope=all", headers=headers)
    assert bad.status_code == 422


def test_pages(client: TestClient, entries: dict[str, Dataset], officer: Person) -> None:
    assert client.get("/catalog/lists/negative", follow_redirects=False).status_code == 303
    login(client, officer)
    page = client.get("/catalog/lists/responsibility")
    assert page.status_code == 200
    assert "公共数据责任清单" in page.text
    assert "企业登记基本信息" in page.text
    assert "草稿条目" not in page.text
    assert "草稿条目" in client.get("/catalog/lists/responsibility?scope=visible").text
    negative = client.get(f"/catalog/lists/negative?agency_id={entries['closed'].agency_id}")
    assert "数据安全法" in negative.text
    assert "个体工商户经营者信息" not in negative.text
    export = client.get("/catalog/lists/negative/export?format=xlsx")
    assert export.status_code == 200
    assert 'filename="negative-list.xlsx"' in export.headers["content-disposition"]
    assert client.get("/catalog/lists/unknown").status_code == 404
    assert client.get("/catalog/lists?lang=en", follow_redirects=True).status_code == 200
    english = client.get("/catalog/lists/negative?lang=en")
    assert "Public data negative list" in english.text


def test_list_page_query_budget(
    client: TestClient,
    entries: dict[str, Dataset],
    officer: Person,
    make_dataset: Callable[..., Dataset],
    publish: Callable[[Dataset], Dataset],
    engine: Any,
) -> None:
    """Adding entries adds no statements (agencies, regions and fields load in bulk)."""
    from sqlalchemy import event

    login(client, officer)

    def statements() -> int:
        seen: list[str] = []

        def count(*args: Any) -> None:
            seen.append(args[2])

        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get("/catalog/lists/responsibility").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    before = statements()
    for n in range(5):
        publish(make_dataset(title=f"追加条目{n}"))
    assert statements() == before
