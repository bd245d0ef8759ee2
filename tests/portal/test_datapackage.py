"""Data Package descriptors: a Table Schema from the catalog's fields, valid for
``frictionless validate`` over a CSV written from the same rows (read offline)."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from frictionless import validate

from tests.portal.city import OpenCity


def write_csv(path: Path, names: list[str], rows: list[dict[str, Any]]) -> None:
    """The rows as the CSV export writes them: UTF-8 with a BOM, ISO dates, a last
    fingerprint line (a comment for the descriptor's dialect)."""

    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, dt.date | dt.datetime | decimal.Decimal):
            return value.isoformat() if not isinstance(value, decimal.Decimal) else str(value)
        return str(value)

    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(names)
        for row in rows:
            writer.writerow([cell(row[n]) for n in names])
        fh.write(f"#gongshu-fingerprint=abc;rows={len(rows)}\r\n")


def local(descriptor: dict[str, Any], path: Path) -> dict[str, Any]:
    """The descriptor with its resource read from a local file (nothing is fetched)."""
    out = dict(descriptor)
    resource = dict(out["resources"][0])
    resource["path"] = path.name
    out["resources"] = [resource]
    return out


def test_the_descriptor_validates_against_the_rows(
    client: TestClient, open_city: OpenCity, tmp_path: Path
) -> None:
    companies = open_city.companies
    assert companies is not None
    response = client.get(f"/dataset/{companies.code}/datapackage.json")
    assert response.status_code == 200, response.text
    descriptor = response.json()
    resource = descriptor["resources"][0]
    assert resource["path"].endswith("/api/v1/data/102001/0001/export.csv")
    assert (resource["format"], resource["mediatype"]) == ("csv", "text/csv")
    assert descriptor["licenses"][0]["name"] == "CC-BY-4.0"
    assert descriptor["sources"][0]["title"] == "临沂市市场监督管理局"

    schema = resource["schema"]
    fields = {f["name"]: f for f in schema["fields"]}
    assert [f["name"] for f in schema["fields"]] == [
        "credit_code", "name", "district", "capital", "staff", "founded", "checked_at",
        "active", "postcode",
    ]  # fmt: skip
    assert {n: f["type"] for n, f in fields.items()} == {
        "credit_code": "string",
        "name": "string",
        "district": "string",
        "capital": "number",
        "staff": "integer",
        "founded": "date",
        "checked_at": "datetime",
        "active": "boolean",
        "postcode": "string",
    }
    assert schema["primaryKey"] == ["credit_code"]
    assert fields["district"]["constraints"]["enum"] == ["兰山区", "罗庄区", "河东区"]
    assert fields["staff"]["constraints"] == {"minimum": 0, "maximum": 100000}
    assert fields["founded"]["constraints"] == {"minimum": "1949-10-01"}
    assert fields["postcode"]["constraints"] == {"pattern": r"\d{6}", "maxLength": 6}
    assert fields["name"]["constraints"]["required"] is True
    # A sensitive field may reach a reader masked: no value constraints, only required.
    assert fields["credit_code"]["constraints"] == {"required": True}
    assert fields["credit_code"]["title"] == "统一社会信用代码"

    path = tmp_path / "companies.csv"
    write_csv(path, list(fields), open_city.company_rows)
    report = validate(local(descriptor, path), basepath=str(tmp_path))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    assert report.tasks[0].stats["rows"] == len(open_city.company_rows)


def test_a_row_that_breaks_a_constraint_is_reported(
    client: TestClient, open_city: OpenCity, tmp_path: Path
) -> None:
    """The constraints are real: frictionless finds a row that breaks one."""
    companies = open_city.companies
    assert companies is not None
    descriptor = client.get(f"/dataset/{companies.id}/datapackage.json").json()
    names = [f["name"] for f in descriptor["resources"][0]["schema"]["fields"]]
    rows = [dict(r) for r in open_city.company_rows]
    rows[3]["district"] = "外省某区"
    rows[5]["staff"] = -1
    path = tmp_path / "broken.csv"
    write_csv(path, names, rows)
    report = validate(local(descriptor, path), basepath=str(tmp_path))
    assert not report.valid
    errors = report.flatten(["fieldName", "type"])
    assert ["district", "constraint-error"] in errors
    assert ["staff", "constraint-error"] in errors


def test_entries_without_open_rows_have_no_descriptor(
    client: TestClient, open_city: OpenCity
) -> None:
    for dataset in (open_city.permits, open_city.minimal, open_city.people, open_city.draft):
        assert dataset is not None
        assert client.get(f"/dataset/{dataset.code}/datapackage.json").status_code == 404
    assert open_city.air is not None
    air = client.get(f"/dataset/{open_city.air.code.lower().replace('/', '-')}/datapackage.json")
    assert air.status_code == 200
    assert air.json()["resources"][0]["schema"]["primaryKey"] == ["station", "hour"]
