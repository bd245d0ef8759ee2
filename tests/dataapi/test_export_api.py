"""Exports over HTTP: each format reads back to the rows, the fingerprint is in the file, the
header and the audit entry, and leads back to the grant, body and export."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import quote, unquote

import pyarrow.parquet as pq
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.auth.models import Role
from gongshu.catalog.models import Dataset
from gongshu.dataapi import exports
from gongshu.db import unit_of_work
from gongshu.orgs.models import Agency
from gongshu.settings import Settings
from gongshu.share.issuing import issue_grant
from gongshu.share.models import GrantKind
from gongshu.store.models import DatasetVersion
from gongshu.web.deps import get_settings_dep
from tests.dataapi.conftest import FORMULAS, NAMES, all_rows
from tests.factories import Person, api_headers

PURPOSE = "_purpose=" + quote("统计分析")


def _export(client: TestClient, headers: dict[str, str], entry: Dataset, tail: str) -> Any:
    response = client.get(f"/api/v1/data/{entry.code}/{tail}", headers=headers)
    assert response.status_code == 200, response.text
    return response


def _last_export(db: Session) -> AuditEntry:
    found = db.scalars(
        select(AuditEntry).where(AuditEntry.action == "data.read").order_by(AuditEntry.seq.desc())
    ).first()
    assert found is not None and found.changes["operation"] == "export"
    return found


def test_every_format_reads_back_to_the_rows(
    db: Session, api: TestClient, officer: Person, entry: Dataset, version: DatasetVersion
) -> None:
    headers = api_headers(api, officer)
    rows = all_rows()
    csv_answer = _export(api, headers, entry, f"export.csv?{PURPOSE}")
    assert csv_answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv_answer.headers["content-disposition"]
    fingerprint = csv_answer.headers["X-Gongshu-Fingerprint"]
    assert csv_answer.headers["X-Gongshu-Rows"] == "240"
    # The fingerprint travels in the headers and the file name, never inside the CSV.
    stem = entry.code.replace("/", "-")
    assert (
        f'filename="{stem}-v1-{fingerprint[:8]}.csv"' in csv_answer.headers["content-disposition"]
    )
    assert csv_answer.headers["X-Gongshu-Dataset"] == entry.code
    assert unquote(csv_answer.headers["X-Gongshu-Source"]) == officer_agency_name(db, entry)
    assert csv_answer.headers["X-Gongshu-License"] == "gongshu-share"
    text = csv_answer.content.decode("utf-8-sig")
    assert fingerprint not in text
    table = list(csv.DictReader(io.StringIO(text)))
    assert len(text.split("\r\n")) == 1 + 240 + 1  # header, rows, and the last CRLF
    assert [r["credit_code"] for r in table] == [r["credit_code"] for r in rows]
    assert {exports.csv_unescape(r["note"]) for r in table} >= set(FORMULAS)
    assert all(not r["note"].startswith(("=", "+", "-", "@")) for r in table)
    audit = _last_export(db)
    assert audit.changes["fingerprint"] == fingerprint and audit.changes["format"] == "csv"
    assert audit.changes["export_id"] == csv_answer.headers["X-Gongshu-Export-Id"]
    assert audit.changes["rows"] == 240
    # Once the file has gone, its digest follows the read into the chain.
    digest = _digest_entry(db, audit.changes["export_id"])
    assert digest.seq > audit.seq and digest.actor_id == officer.user.id
    assert digest.changes["digest"] == hashlib.sha256(csv_answer.content).hexdigest()
    assert digest.changes["bytes"] == len(csv_answer.content)
    assert (digest.changes["fingerprint"], digest.changes["format"]) == (fingerprint, "csv")
    assert digest.object_id == str(entry.id)

    body = json.loads(_export(api, headers, entry, f"export.json?{PURPOSE}").content)
    assert body["row_count"] == 240 and body["version"] == 1
    assert body["fingerprint"] == _last_export(db).changes["fingerprint"]
    assert body["rows"][1]["capital"] == "10.01" and list(body["rows"][0]) == NAMES

    ndjson = _export(api, headers, entry, f"export.json?_shape=ndjson&{PURPOSE}")
    assert ndjson.headers["content-type"].startswith("application/x-ndjson")
    lines = ndjson.content.decode("utf-8").splitlines()
    assert [json.loads(line) for line in lines] == body["rows"]  # rows only
    ndjson_fp = ndjson.headers["X-Gongshu-Fingerprint"]
    assert ndjson.headers["content-disposition"].endswith(f'-v1-{ndjson_fp[:8]}.ndjson"')
    assert _digest_entry(db, ndjson.headers["X-Gongshu-Export-Id"]).changes["digest"] == (
        hashlib.sha256(ndjson.content).hexdigest()
    )

    parquet = _export(api, headers, entry, f"export.parquet?{PURPOSE}")
    read = pq.read_table(io.BytesIO(parquet.content))
    assert (
        read.schema.metadata[b"gongshu.fingerprint"].decode()
        == parquet.headers["X-Gongshu-Fingerprint"]
    )
    assert read.to_pylist() == [{n: r[n] for n in NAMES} for r in rows]

    xlsx = _export(api, headers, entry, f"export.xlsx?_header=label&{PURPOSE}")
    wb = load_workbook(io.BytesIO(xlsx.content))
    assert wb.properties.identifier == xlsx.headers["X-Gongshu-Fingerprint"]
    sheet = list(wb["数据"].iter_rows())
    assert [c.value for c in sheet[0]][:3] == ["统一社会信用代码", "企业名称", "区县"]
    notes = [r[NAMES.index("note")] for r in sheet[1:]]
    formula_cells = [c for c in notes if c.value in FORMULAS]
    assert len(formula_cells) == len([r for r in rows if r["note"] in FORMULAS])
    assert all(c.data_type == "s" for c in formula_cells)
    capital = [r[NAMES.index("capital")].value for r in sheet[1:]]
    assert [Decimal(str(v)) if v is not None else None for v in capital] == [
        r["capital"] for r in rows
    ]
    founded = [r[NAMES.index("founded")].value for r in sheet[1:]]
    assert [v.date() if v else None for v in founded] == [r["founded"] for r in rows]
    # Four exports and the XLSX's count: each one audited with its own fingerprint.
    fingerprints = {
        e.changes.get("fingerprint")
        for e in db.scalars(select(AuditEntry).where(AuditEntry.action == "data.read"))
        if e.changes.get("operation") == "export"
    }
    assert len(fingerprints) == 5


def _digest_entry(db: Session, export_id: str) -> AuditEntry:
    found = [
        e
        for e in db.scalars(select(AuditEntry).where(AuditEntry.action == "data.export_digest"))
        if e.changes["export_id"] == export_id
    ]
    assert len(found) == 1, found
    return found[0]


def officer_agency_name(db: Session, entry: Dataset) -> str:
    agency = db.get(Agency, entry.agency_id)
    assert agency is not None
    return agency.name


def test_filters_and_fields_shape_the_export(
    api: TestClient, officer: Person, entry: Dataset, version: DatasetVersion
) -> None:
    headers = api_headers(api, officer)
    answer = _export(
        api, headers, entry, f"export.json?district=兰山区&_fields=credit_code,staff&{PURPOSE}"
    )
    body = json.loads(answer.content)
    expected = [
        {"credit_code": r["credit_code"], "staff": r["staff"]}
        for r in all_rows()
        if r["district"] == "兰山区"
    ]
    assert body["rows"] == expected and body["row_count"] == len(expected)
    assert [f["name"] for f in body["fields"]] == ["credit_code", "staff"]
    bad = api.get(f"/api/v1/data/{entry.code}/export.pdf?{PURPOSE}", headers=headers)
    assert bad.status_code == 422
    shape = api.get(
        f"/api/v1/data/{entry.code}/export.csv?_shape=ndjson&{PURPOSE}", headers=headers
    )
    assert shape.status_code == 422


def test_xlsx_above_the_setting_is_refused_with_a_pointer(
    app: Any,
    api: TestClient,
    settings: Settings,
    officer: Person,
    entry: Dataset,
    version: DatasetVersion,
) -> None:
    app.dependency_overrides[get_settings_dep] = lambda: settings.model_copy(
        update={"data_api_xlsx_max_rows": 100}
    )
    headers = api_headers(api, officer)
    refused = api.get(f"/api/v1/data/{entry.code}/export.xlsx?{PURPOSE}", headers=headers)
    assert refused.status_code == 422
    message = refused.json()["error"]["message"]
    assert "CSV" in message and "Parquet" in message and "240" in message
    small = api.get(
        f"/api/v1/data/{entry.code}/export.xlsx?district=兰山区&{PURPOSE}", headers=headers
    )
    assert small.status_code == 200


def test_a_grant_reader_exports_masked_rows_that_trace_back_to_the_grant(
    db: Session,
    api: TestClient,
    officer: Person,
    other_officer: Person,
    bureau_admin: Person,
    make_person: Callable[..., Person],
    entry: Dataset,
    version: DatasetVersion,
) -> None:
    with unit_of_work(db):
        grant = issue_grant(
            db,
            bureau_admin.actor,
            dataset=entry,
            agency_id=other_officer.user.agency_id,
            kind=GrantKind.REQUEST,
            fields=["credit_code", "name", "district", "mobile", "staff"],
            row_filter=[["district", "eq", "河东区"]],
            purpose="税源核查",
        )
    headers = api_headers(api, other_officer)
    page = api.get(f"/api/v1/data/{entry.code}/rows?_limit=1000&{PURPOSE}", headers=headers)
    assert page.status_code == 200, page.text
    body = page.json()
    clear = [r for r in all_rows() if r["district"] == "河东区"]
    assert [r["name"] for r in body["rows"]] == [r["name"] for r in clear]
    assert set(body["rows"][0]) == {"credit_code", "name", "district", "mobile", "staff"}
    masked = {f["name"] for f in body["fields"] if f["masked"]}
    assert "mobile" in masked
    assert all(r["mobile"] != c["mobile"] for r, c in zip(body["rows"], clear, strict=True))
    # A field outside the grant is refused, not silently dropped.
    refused = api.get(f"/api/v1/data/{entry.code}/rows?_fields=capital&{PURPOSE}", headers=headers)
    assert refused.status_code == 403

    answer = _export(api, headers, entry, f"export.csv?{PURPOSE}")
    assert answer.headers["X-Gongshu-Fingerprint"] == grant.fingerprint
    assert f"-{grant.fingerprint[:8]}.csv" in answer.headers["content-disposition"]
    content = answer.content.decode("utf-8-sig")
    assert grant.fingerprint not in content
    assert len(list(csv.reader(io.StringIO(content)))) == 1 + len(clear)
    for row in clear:
        assert row["mobile"] not in content
    assert "罗庄区" not in content  # rows outside the grant's row filter never leave

    trace_path = f"/api/v1/data/fingerprints/{grant.fingerprint}"
    assert api.get(trace_path, headers=headers).status_code == 403
    auditor = make_person(Role.AUDITOR)
    for reader in (bureau_admin, auditor):
        traced = api.get(trace_path, headers=api_headers(api, reader))
        assert traced.status_code == 200, traced.text
        found = traced.json()
        assert found["grant"]["id"] == grant.id and found["grant"]["purpose"] == "税源核查"
        assert found["agency_id"] == other_officer.user.agency_id
        assert found["dataset"]["code"] == entry.code
        assert len(found["exports"]) == 1
        export = found["exports"][0]
        assert export["actor_id"] == other_officer.user.id and export["format"] == "csv"
        assert export["export_id"] == answer.headers["X-Gongshu-Export-Id"]
        assert export["rows"] == len(clear)


def test_tracing_an_export_without_a_grant_and_unknown_fingerprints(
    api: TestClient,
    officer: Person,
    bureau_admin: Person,
    district_admin: Person,
    entry: Dataset,
    version: DatasetVersion,
) -> None:
    answer = _export(api, api_headers(api, officer), entry, f"export.parquet?{PURPOSE}")
    fingerprint = answer.headers["X-Gongshu-Fingerprint"]
    admin = api_headers(api, bureau_admin)
    traced = api.get(f"/api/v1/data/fingerprints/{fingerprint}", headers=admin).json()
    assert traced["grant"] is None and traced["dataset"]["id"] == entry.id
    assert traced["agency_id"] == officer.user.agency_id
    assert traced["exports"][0]["format"] == "parquet"
    assert traced["exports"][0]["at"] <= dt.datetime.now(dt.UTC).isoformat()
    # A district admin does not trace a city entry's export; unknown and malformed fail.
    district = api.get(
        f"/api/v1/data/fingerprints/{fingerprint}", headers=api_headers(api, district_admin)
    )
    assert district.status_code == 404
    assert api.get("/api/v1/data/fingerprints/" + "ab" * 16, headers=admin).status_code == 404
    assert api.get("/api/v1/data/fingerprints/not-hex!", headers=admin).status_code == 422


def test_describe_lists_what_the_reader_sees(
    api: TestClient, officer: Person, entry: Dataset, version: DatasetVersion
) -> None:
    info = api.get(f"/api/v1/data/{entry.code}", headers=api_headers(api, officer)).json()
    assert info["version"] == 1 and info["rows"] == 240 and info["basis"] == "provider"
    assert [f["name"] for f in info["fields"]] == NAMES
    assert "contains" in info["filter_ops"] and info["export_formats"] == [
        "csv",
        "xlsx",
        "json",
        "parquet",
    ]
    assert info["links"]["rows"].startswith("http://testserver/api/v1/data/")
    rows = api.get(info["links"]["rows"], headers=api_headers(api, officer))
    assert rows.status_code == 200 and len(rows.json()["rows"]) == 10
