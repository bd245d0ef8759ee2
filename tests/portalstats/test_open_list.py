"""The open list: only public entries, with the columns the regulations ask for; the XLSX
export (page and CLI) holds the same lines."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gongshu.cli import app as cli_app
from gongshu.portalstats import openlist
from gongshu.settings import Settings
from tests.portal.city import OpenCity

HIDDEN = ("常住人口基本信息", "企业年度报告信息")  # general_4 / open type none; a draft


def _sheet(content: bytes) -> list[tuple[object, ...]]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    sheet = book.active
    assert sheet is not None
    return list(sheet.iter_rows(values_only=True))


def test_page_lists_public_entries_only(client: TestClient, open_city: OpenCity) -> None:
    page = client.get("/open-list")
    assert page.status_code == 200
    assert page.text.count("<h1") == 1
    assert f"共 {len(open_city.public)} 条" in page.text
    for title in HIDDEN:
        assert title not in page.text
    assert "空气质量监测数据" in page.text
    # A conditional entry shows its open conditions.
    assert "用于环境研究，签署数据使用协议" in page.text

    conditional = client.get("/open-list", params={"open_type": "conditional"})
    assert "排污许可证信息" in conditional.text and "空气质量监测数据" not in conditional.text
    assert "共 1 条" in conditional.text
    nothing = client.get("/open-list", params={"open_type": "none"})
    assert "共 0 条" in nothing.text
    ecology = client.get("/open-list", params={"agency": open_city.ecology, "domain": "生态环境"})
    assert "共 2 条" in ecology.text

    listed = client.get("/api/v1/portal/open-list").json()
    assert {i["dataset_id"] for i in listed["items"]} == {d.id for d in open_city.public}


def test_xlsx_export_has_the_lines(client: TestClient, db: Session, open_city: OpenCity) -> None:
    response = client.get("/open-list.xlsx")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    rows = _sheet(response.content)
    assert rows[0][:3] == ("序号", "信息资源代码", "信息资源名称")
    assert len(rows) == 1 + len(open_city.public)
    titles = {r[2] for r in rows[1:]}
    assert titles == {d.title for d in open_city.public}
    assert not titles.intersection(HIDDEN)
    assert open_city.companies is not None
    companies = next(r for r in rows if r[1] == open_city.companies.code)
    assert companies[8] == "CSV、XLSX、JSON、Parquet" and "统一社会信用代码" in str(companies[9])
    assert companies[10]  # its live version's date

    only = _sheet(client.get("/open-list.xlsx", params={"agency": open_city.ecology}).content)
    assert {r[3] for r in only[1:]} == {"临沂市生态环境局"}
    assert len(openlist.open_list(db)) == len(open_city.public)


def test_cli_writes_the_workbook(cli_settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "open-list.xlsx"
    result = CliRunner().invoke(cli_app, ["portal", "open-list", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert _sheet(out.read_bytes())[0][0] == "序号"  # an empty city: the header alone
    result = CliRunner().invoke(
        cli_app, ["portal", "open-list", "--out", str(out), "--agency", "x"]
    )
    assert result.exit_code == 1
