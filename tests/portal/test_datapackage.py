"""Data Package descriptors: a Table Schema from the catalog's fields, valid for
``frictionless validate`` over the CSV the data API exports (read offline), and the CSV
bundle of an open entry carrying the open licence and the attribution."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from frictionless import validate

from gongshu.portal import datapackage
from tests.portal.city import OpenCity

GUARD = r"(?:'(?=[=+\-@\t\r'])|(?![=+\-@\t\r']))"


def write_csv(path: Path, names: list[str], rows: list[dict[str, Any]]) -> None:
    """The rows as a CSV like the export's: UTF-8 with a BOM, a header, ISO dates, the
    rows and nothing else."""

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
    assert resource["path"].endswith("/dataset/102001-0001/download.csv")
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
    # Text constraints hold for the value as written: the export's CSV-injection guard
    # puts an apostrophe before a value starting with =, +, -, @, tab, CR or '.
    postcode = fields["postcode"]["constraints"]
    assert postcode == {"pattern": GUARD + r"(?=[\s\S]{0,6}$)(?:\d{6})"}
    assert "commentChar" not in resource["dialect"]  # the file has no line but rows
    assert fields["name"]["constraints"]["required"] is True
    # A sensitive field may reach a reader masked: no value constraints, only required.
    assert fields["credit_code"]["constraints"] == {"required": True}
    assert fields["credit_code"]["title"] == "统一社会信用代码"

    # The file the descriptor points at, fetched as it says: the portal's download, no
    # credentials.
    exported = client.get(urlsplit(resource["path"]).path)
    assert exported.status_code == 200, exported.text
    path = tmp_path / "companies.csv"
    path.write_bytes(exported.content)
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


def test_text_constraints_follow_the_csv_guard(tmp_path: Path) -> None:
    """A guarded value (one leading apostrophe before =, +, -, @, tab, CR or ') passes
    the length and pattern of the value it stands for; an apostrophe anywhere else, or a
    value too long, does not; enum members are listed as the file writes them."""
    out: dict[str, Any] = {}
    datapackage._text_as_written(out, None, 5)
    named: dict[str, Any] = {"enum": ["=A", "B"]}
    datapackage._text_as_written(named, None, None)
    assert named == {"enum": ["'=A", "B"]}
    descriptor = {
        "name": "guard",
        "path": "guard.csv",
        "profile": "tabular-data-resource",
        "schema": {
            "fields": [
                {"name": "t", "type": "string", "constraints": out},
                {"name": "e", "type": "string", "constraints": named},
            ],
        },
    }
    rows = [
        ("'=abcd", "'=A", True),  # guarded, 5 characters once the apostrophe is dropped
        ("'-1", "B", True),
        ("abcde", "B", True),
        ("'abcd", "B", False),  # an apostrophe before a harmless character: not the guard
        ("abcdef", "B", False),  # too long
        ("'=abcde", "B", False),  # too long behind the guard
        ("=abc", "B", False),  # a risky start the guard would have prefixed
        ("ok", "=A", False),  # an enum member unguarded
    ]
    for value, member, valid in rows:
        (tmp_path / "guard.csv").write_text(f"t,e\n{value},{member}\n", encoding="utf-8")
        report = validate(descriptor, basepath=str(tmp_path))
        assert report.valid is valid, (value, member, report.flatten(["fieldName", "type"]))


def test_an_open_entrys_csv_bundle_carries_the_open_licence(
    client: TestClient, open_city: OpenCity, tmp_path: Path
) -> None:
    """The data API's bundle of an open entry: data.csv with a descriptor from the same
    builder, under the open licence, naming its source, and valid for frictionless."""
    companies = open_city.companies
    assert companies is not None
    answer = client.get(
        f"/api/v1/data/{companies.code}/export.csv.zip?_purpose=check",
        headers={"X-API-Key": open_city.provider_key},
    )
    assert answer.status_code == 200, answer.text
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        archive.extractall(tmp_path)
    package = json.loads((tmp_path / "datapackage.json").read_text(encoding="utf-8"))
    assert package["licenses"][0]["name"] == "CC-BY-4.0"
    assert package["sources"][0]["title"] == "临沂市市场监督管理局"
    assert package["homepage"].endswith("/dataset/102001-0001")
    assert package["gongshu"]["code"] == companies.code
    assert package["gongshu"]["fingerprint"] == answer.headers["X-Gongshu-Fingerprint"]
    assert answer.headers["X-Gongshu-License"] == "CC-BY-4.0"
    portal = client.get(f"/dataset/{companies.code}/datapackage.json").json()
    # The same builder: the bundle's schema is the portal's for the same columns.
    assert package["resources"][0]["schema"] == portal["resources"][0]["schema"]
    report = validate(str(tmp_path / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    assert report.tasks[0].stats["rows"] == len(open_city.company_rows)
