"""Tracing a bare leaked file: every completed export's SHA-256 is in the audit chain, so an
uploaded copy leads back to the grant, body, user and time that produced it; a changed
file is "not found" unless it still carries its fingerprint inside."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pyarrow.parquet as pq
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.auth.models import Role
from gongshu.catalog.models import Dataset
from gongshu.dataapi import tracing
from gongshu.db import unit_of_work
from gongshu.share.issuing import issue_grant
from gongshu.share.models import Grant, GrantKind
from gongshu.store.models import DatasetVersion
from tests.factories import Person, api_headers, login

PURPOSE = "_purpose=" + quote("税源核查")
TRACE = "/api/v1/data/fingerprints/trace"


def _grant(db: Session, bureau_admin: Person, grantee: Person, entry: Dataset) -> Grant:
    with unit_of_work(db):
        return issue_grant(
            db,
            bureau_admin.actor,
            dataset=entry,
            agency_id=grantee.user.agency_id,
            kind=GrantKind.REQUEST,
            fields=["credit_code", "name", "district", "mobile", "staff"],
            row_filter=[["district", "eq", "河东区"]],
            purpose="税源核查",
        )


def _export(api: TestClient, headers: dict[str, str], entry: Dataset, tail: str) -> Any:
    answer = api.get(f"/api/v1/data/{entry.code}/{tail}", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer


def _upload(api: TestClient, headers: dict[str, str], name: str, data: bytes) -> Any:
    return api.post(TRACE, headers=headers, files={"file": (name, data)})


def test_a_leaked_csv_traces_back_to_its_grant_and_a_changed_one_does_not(
    db: Session,
    api: TestClient,
    bureau_admin: Person,
    other_officer: Person,
    make_person: Callable[..., Person],
    entry: Dataset,
    version: DatasetVersion,
) -> None:
    grant = _grant(db, bureau_admin, other_officer, entry)
    leaked = _export(api, api_headers(api, other_officer), entry, f"export.csv?{PURPOSE}")
    data = leaked.content
    assert grant.fingerprint.encode() not in data  # the CSV holds rows only

    for tracer in (bureau_admin, make_person(Role.AUDITOR)):
        traced = _upload(api, api_headers(api, tracer), "leak.csv", data)
        assert traced.status_code == 200, traced.text
        body = traced.json()
        assert body["digest"] == hashlib.sha256(data).hexdigest()
        assert body["bytes"] == len(data) and body["kind"] == "csv"
        assert body["recorded"] is True and body["embedded_fingerprint"] is None
        [match] = body["matches"]
        assert match["grant"]["id"] == grant.id and match["grant"]["purpose"] == "税源核查"
        assert match["agency_id"] == other_officer.user.agency_id
        assert match["agency_name"] == match["grant"]["agency_name"] != ""
        assert match["actor_id"] == other_officer.user.id
        assert match["export_id"] == leaked.headers["X-Gongshu-Export-Id"]
        assert (match["format"], match["member"]) == ("csv", "file")
        assert match["fingerprint"] == grant.fingerprint
        assert match["purpose"] == "税源核查" and match["dataset"]["code"] == entry.code
        assert match["at"] and match["version"] == 1 and match["rows"] > 0

    admin = api_headers(api, bureau_admin)
    # One cell changed, a row dropped, a line added: each is another file, and says so.
    text = data.decode("utf-8-sig")
    lines = text.split("\r\n")
    for changed in (
        data.replace("河东区".encode(), "河西区".encode(), 1),
        ("\ufeff" + "\r\n".join([*lines[:-2], ""])).encode("utf-8"),
        data + b"#gongshu-fingerprint=" + grant.fingerprint.encode() + b"\r\n",
    ):
        missing = _upload(api, admin, "leak.csv", changed)
        assert missing.status_code == 404, missing.text
        message = missing.json()["error"]["message"]
        assert "没有找到" in message and "修改" in message

    # Only those who may trace; nothing uploaded is a 422.
    assert _upload(api, api_headers(api, other_officer), "x.csv", data).status_code == 403
    assert api.post(TRACE, headers=admin).status_code == 422


def test_the_same_bytes_list_every_export_that_made_them(
    db: Session,
    api: TestClient,
    bureau_admin: Person,
    other_officer: Person,
    entry: Dataset,
    version: DatasetVersion,
) -> None:
    """A CSV names nothing but its rows: two identical exports are both answers."""
    _grant(db, bureau_admin, other_officer, entry)
    headers = api_headers(api, other_officer)
    first = _export(api, headers, entry, f"export.csv?{PURPOSE}")
    second = _export(api, headers, entry, f"export.csv?{PURPOSE}")
    assert first.content == second.content
    body = _upload(api, api_headers(api, bureau_admin), "a.csv", first.content).json()
    assert [m["export_id"] for m in body["matches"]] == [
        second.headers["X-Gongshu-Export-Id"],
        first.headers["X-Gongshu-Export-Id"],
    ]


def test_files_with_room_for_it_trace_by_the_fingerprint_inside_even_when_changed(
    db: Session,
    api: TestClient,
    bureau_admin: Person,
    other_officer: Person,
    entry: Dataset,
    version: DatasetVersion,
) -> None:
    grant = _grant(db, bureau_admin, other_officer, entry)
    headers = api_headers(api, other_officer)
    admin = api_headers(api, bureau_admin)

    xlsx = _export(api, headers, entry, f"export.xlsx?{PURPOSE}").content
    exact = _upload(api, admin, "leak.xlsx", xlsx).json()
    assert exact["kind"] == "xlsx" and exact["recorded"] is True
    assert exact["embedded_fingerprint"] == grant.fingerprint
    assert exact["fingerprint"]["grant"]["id"] == grant.id
    # Opened and saved again in a spreadsheet program: other bytes, same properties.
    workbook = load_workbook(io.BytesIO(xlsx))
    workbook["数据"]["B2"] = "改过的名称"
    resaved = io.BytesIO()
    workbook.save(resaved)
    edited = _upload(api, admin, "edited.xlsx", resaved.getvalue())
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert body["recorded"] is False and body["matches"] == []
    assert body["embedded_fingerprint"] == grant.fingerprint
    assert body["fingerprint"]["grant"]["id"] == grant.id
    assert body["fingerprint"]["agency_id"] == other_officer.user.agency_id

    parquet = _export(api, headers, entry, f"export.parquet?{PURPOSE}").content
    found = _upload(api, admin, "leak.parquet", parquet).json()
    assert (found["kind"], found["recorded"]) == ("parquet", True)
    assert found["embedded_fingerprint"] == grant.fingerprint
    table = pq.read_table(io.BytesIO(parquet))
    rewritten = io.BytesIO()
    pq.write_table(table.slice(0, 3), rewritten)  # a part of it, metadata kept
    part = _upload(api, admin, "part.parquet", rewritten.getvalue()).json()
    assert part["recorded"] is False and part["fingerprint"]["grant"]["id"] == grant.id

    envelope = _export(api, headers, entry, f"export.json?{PURPOSE}").content
    found = _upload(api, admin, "leak.json", envelope).json()
    assert (found["kind"], found["recorded"]) == ("json", True)
    assert found["embedded_fingerprint"] == grant.fingerprint
    reformatted = json.dumps(json.loads(envelope), ensure_ascii=False, indent=1).encode()
    assert _upload(api, admin, "pretty.json", reformatted).json()["recorded"] is False

    bundle = _export(api, headers, entry, f"export.csv.zip?{PURPOSE}")
    found = _upload(api, admin, "leak.csv.zip", bundle.content).json()
    assert (found["kind"], found["recorded"]) == ("bundle", True)
    assert found["matches"][0]["member"] == "file"
    assert found["embedded_fingerprint"] == grant.fingerprint


def test_the_csv_inside_a_bundle_traces_as_well(
    db: Session,
    api: TestClient,
    bureau_admin: Person,
    other_officer: Person,
    entry: Dataset,
    version: DatasetVersion,
) -> None:
    grant = _grant(db, bureau_admin, other_officer, entry)
    bundle = _export(api, api_headers(api, other_officer), entry, f"export.csv.zip?{PURPOSE}")
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
        data = archive.read("data.csv")
    body = _upload(api, api_headers(api, bureau_admin), "data.csv", data).json()
    [match] = body["matches"]
    assert (match["member"], match["format"]) == ("data.csv", "zip")
    assert match["grant"]["id"] == grant.id


def test_a_fingerprint_prefix_from_a_file_name_traces(
    db: Session,
    api: TestClient,
    bureau_admin: Person,
    officer: Person,
    other_officer: Person,
    entry: Dataset,
    version: DatasetVersion,
) -> None:
    grant = _grant(db, bureau_admin, other_officer, entry)
    answer = _export(api, api_headers(api, other_officer), entry, f"export.csv?{PURPOSE}")
    prefix = re.search(r"-v1-([0-9a-f]{8})\.csv", answer.headers["content-disposition"])
    assert prefix is not None
    admin = api_headers(api, bureau_admin)
    traced = api.get(f"/api/v1/data/fingerprints/{prefix.group(1)}", headers=admin)
    assert traced.status_code == 200, traced.text
    body = traced.json()
    assert body["fingerprint"] == grant.fingerprint and body["grant"]["id"] == grant.id
    [export] = body["exports"]
    assert export["digest"] == hashlib.sha256(answer.content).hexdigest()
    assert export["bytes"] == len(answer.content)
    # A provider's export gets a fresh fingerprint; its prefix finds it too.
    own = _export(api, api_headers(api, officer), entry, f"export.json?{PURPOSE}")
    fp = own.headers["X-Gongshu-Fingerprint"]
    assert (
        api.get(f"/api/v1/data/fingerprints/{fp[:10]}", headers=admin).json()["fingerprint"] == fp
    )


def test_an_ambiguous_prefix_is_refused(
    db: Session,
    api: TestClient,
    bureau_admin: Person,
    other_officer: Person,
    entry: Dataset,
    version: DatasetVersion,
) -> None:
    grant = _grant(db, bureau_admin, other_officer, entry)
    twin = db.scalars(select(Grant).where(Grant.id == grant.id)).one()
    with unit_of_work(db):
        twin.fingerprint = "abcdef01" + "0" * 24
    with unit_of_work(db):
        second = _grant(db, bureau_admin, other_officer, entry)
        second.fingerprint = "abcdef01" + "1" * 24
    refused = api.get("/api/v1/data/fingerprints/abcdef01", headers=api_headers(api, bureau_admin))
    assert refused.status_code == 422 and "完整" in refused.json()["error"]["message"]


def test_a_download_that_stops_early_records_no_digest(
    db: Session, officer: Person, entry: Dataset
) -> None:
    record = tracing.ExportRecord(entry.id, entry.title, "e" * 32, "f" * 32, "csv", 1)

    def digests() -> list[AuditEntry]:
        stmt = select(AuditEntry).where(AuditEntry.action == "data.export_digest")
        return list(db.scalars(stmt))

    stream = tracing.recorded(iter([b"a", b"b", b"c"]), db, officer.actor, record)
    assert next(stream) == b"a"
    stream.close()  # the client went away
    assert digests() == []
    assert b"".join(tracing.recorded(iter([b"a", b"b"]), db, officer.actor, record)) == b"ab"
    [done] = digests()
    assert done.changes["digest"] == hashlib.sha256(b"ab").hexdigest()
    assert done.changes["bytes"] == 2


def test_the_page_traces_an_uploaded_file(
    db: Session,
    api: TestClient,
    bureau_admin: Person,
    other_officer: Person,
    entry: Dataset,
    version: DatasetVersion,
) -> None:
    grant = _grant(db, bureau_admin, other_officer, entry)
    data = _export(api, api_headers(api, other_officer), entry, f"export.csv?{PURPOSE}").content
    login(api, bureau_admin)
    form = api.get("/data-api/fingerprints")
    assert 'name="file"' in form.text and 'enctype="multipart/form-data"' in form.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    found = api.post(
        "/data-api/fingerprints",
        data={"csrf_token": token.group(1)},
        files={"file": ("leak.csv", data)},
    )
    assert found.status_code == 200, found.text
    assert "与平台导出的文件完全一致" in found.text
    assert hashlib.sha256(data).hexdigest() in found.text
    assert f"第 {grant.id} 号授权" in found.text and other_officer.user.display_name in found.text
    changed = api.post(
        "/data-api/fingerprints",
        data={"csrf_token": token.group(1)},
        files={"file": ("leak.csv", data + b"x")},
    )
    assert changed.status_code == 404 and "没有找到产生这个文件的导出记录" in changed.text
    nothing = api.post("/data-api/fingerprints", data={"csrf_token": token.group(1)})
    assert nothing.status_code == 422 and "请选择要追溯的文件" in nothing.text
    forged = api.post(
        "/data-api/fingerprints", data={"csrf_token": "x"}, files={"file": ("a.csv", data)}
    )
    assert forged.status_code == 403
