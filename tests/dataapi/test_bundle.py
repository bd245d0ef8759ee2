"""The CSV bundle (export.csv.zip): it unzips to exactly the CSV export, a Data Package
descriptor that frictionless accepts for it (with the attribution and the fingerprint),
and a detached seal that `gongshu seal verify` accepts — and rejects once data.csv changes."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tracemalloc
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyarrow as pa
from fastapi.testclient import TestClient
from frictionless import validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.catalog.models import Dataset
from gongshu.dataapi import bundle, exports
from gongshu.db import unit_of_work, utcnow
from gongshu.orgs.models import Agency
from gongshu.seal import StreamSigner, platform_seal
from gongshu.settings import Settings
from gongshu.share.issuing import issue_grant
from gongshu.share.models import Grant, GrantKind
from gongshu.store.models import DatasetVersion
from tests.dataapi.conftest import all_rows
from tests.factories import Person, api_headers

PURPOSE = "_purpose=" + quote("统计分析")
GONGSHU = Path(sys.executable).with_name("gongshu")


def _grant(db: Session, bureau_admin: Person, grantee: Person, entry: Dataset) -> Grant:
    with unit_of_work(db):
        return issue_grant(
            db,
            bureau_admin.actor,
            dataset=entry,
            agency_id=grantee.user.agency_id,
            kind=GrantKind.REQUEST,
            fields=["credit_code", "name", "district", "mobile", "staff", "founded", "note"],
            row_filter=[["district", "eq", "河东区"]],
            purpose="税源核查",
        )


def _unzip(content: bytes, into: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        archive.extractall(into)
        return {n: (into / n).read_bytes() for n in names}


def _seal_verify(path: Path) -> subprocess.CompletedProcess[str]:
    """The real command line, in a process of its own (same data directory: same keys)."""
    return subprocess.run(
        [str(GONGSHU), "seal", "verify", str(path)],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )


def test_a_grant_readers_bundle_unzips_validates_and_verifies(
    db: Session,
    api: TestClient,
    bureau_admin: Person,
    other_officer: Person,
    entry: Dataset,
    version: DatasetVersion,
    tmp_path: Path,
) -> None:
    grant = _grant(db, bureau_admin, other_officer, entry)
    headers = api_headers(api, other_officer)
    answer = api.get(f"/api/v1/data/{entry.code}/export.csv.zip?{PURPOSE}", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    assert answer.headers["X-Gongshu-Fingerprint"] == grant.fingerprint
    stem = entry.code.replace("/", "-")
    assert (
        f'filename="{stem}-v1-{grant.fingerprint[:8]}.csv.zip"'
        in (answer.headers["content-disposition"])
    )
    files = _unzip(answer.content, tmp_path)
    assert sorted(files) == ["data.csv", "data.csv.sig.json", "datapackage.json"]

    # data.csv is exactly what export.csv writes for the same reader and parameters.
    plain = api.get(f"/api/v1/data/{entry.code}/export.csv?{PURPOSE}", headers=headers)
    assert files["data.csv"] == plain.content
    clear = [r for r in all_rows() if r["district"] == "河东区"]
    assert files["data.csv"].decode("utf-8-sig").count("\r\n") == 1 + len(clear)

    package = json.loads(files["datapackage.json"])
    resource = package["resources"][0]
    assert resource["path"] == "data.csv" and "commentChar" not in resource["dialect"]
    assert resource["bytes"] == len(files["data.csv"])
    assert resource["hash"] == "sha256:" + hashlib.sha256(files["data.csv"]).hexdigest()
    # Attribution: source agency, entry code, version, acquisition date, licence.
    provider = db.get(Agency, entry.agency_id)
    assert provider is not None
    assert package["sources"][0]["title"] == provider.name
    about = package["gongshu"]
    assert (about["code"], about["version"]) == (entry.code, 1)
    assert about["acquired_at"] == version.created_at.replace(tzinfo=None).isoformat()
    assert package["licenses"][0]["name"] == "gongshu-share"  # shared, not open
    assert about["fingerprint"] == grant.fingerprint
    assert about["export_id"] == answer.headers["X-Gongshu-Export-Id"]
    assert about["rows"] == len(clear)
    fields = {f["name"]: f for f in resource["schema"]["fields"]}
    assert list(fields) == [
        "credit_code", "name", "district", "staff", "founded", "note", "mobile",
    ]  # fmt: skip
    # Masked for this reader: text, and no constraint the masked value could break.
    assert fields["mobile"] == {"name": "mobile", "title": "联系电话", "type": "string"}
    assert fields["founded"]["type"] == "date" and fields["staff"]["type"] == "integer"

    report = validate(str(tmp_path / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    assert report.tasks[0].stats["rows"] == len(clear)

    verified = _seal_verify(tmp_path / "data.csv")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    signature = json.loads(files["data.csv.sig.json"])
    assert signature["signed"]["fingerprint"] == grant.fingerprint
    assert signature["signed"]["export_id"] == about["export_id"]
    assert signature["digest"] == hashlib.sha256(files["data.csv"]).hexdigest()

    # Both digests are in the chain: the bundle's and its data.csv's.
    recorded = db.scalars(select(AuditEntry).where(AuditEntry.action == "data.export_digest")).all()
    bundle_entry = next(e for e in recorded if e.changes["export_id"] == about["export_id"])
    assert bundle_entry.changes["format"] == "zip"
    assert bundle_entry.changes["digest"] == hashlib.sha256(answer.content).hexdigest()
    assert bundle_entry.changes["csv_digest"] == signature["digest"]
    assert bundle_entry.changes["csv_bytes"] == len(files["data.csv"])

    # One changed byte: the descriptor's hash and the seal both catch it.
    changed = files["data.csv"].replace("河东区".encode(), "河西区".encode(), 1)
    (tmp_path / "data.csv").write_bytes(changed)
    tampered = validate(str(tmp_path / "datapackage.json"))
    assert not tampered.valid
    assert "hash-count" in {e[0] for e in tampered.flatten(["type"])}
    refused = _seal_verify(tmp_path / "data.csv")
    assert refused.returncode == 1 and "digest" in (refused.stdout + refused.stderr).lower()


def test_labels_as_titles_and_the_providers_own_bundle(
    api: TestClient, officer: Person, entry: Dataset, version: DatasetVersion, tmp_path: Path
) -> None:
    """The provider reads in the clear (constraints and the key stay); with `_header=label`
    the descriptor names the columns as the file does."""
    answer = api.get(
        f"/api/v1/data/{entry.code}/export.csv.zip?_header=label&district=兰山区&{PURPOSE}",
        headers=api_headers(api, officer),
    )
    assert answer.status_code == 200, answer.text
    files = _unzip(answer.content, tmp_path)
    header = files["data.csv"].decode("utf-8-sig").split("\r\n", 1)[0]
    assert header.startswith('"统一社会信用代码","企业名称","区县"')
    package: dict[str, Any] = json.loads(files["datapackage.json"])
    schema = package["resources"][0]["schema"]
    assert [f["name"] for f in schema["fields"]][:3] == ["统一社会信用代码", "企业名称", "区县"]
    assert schema["primaryKey"] == ["统一社会信用代码"]
    report = validate(str(tmp_path / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    assert report.tasks[0].stats["rows"] == len(
        [r for r in all_rows() if r["district"] == "兰山区"]
    )
    assert _seal_verify(tmp_path / "data.csv").returncode == 0


def test_the_bundle_goes_through_the_gate(
    api: TestClient, other_officer: Person, entry: Dataset, version: DatasetVersion
) -> None:
    """No grant, no bundle; the parameters are checked as for any export."""
    headers = api_headers(api, other_officer)
    refused = api.get(f"/api/v1/data/{entry.code}/export.csv.zip?{PURPOSE}", headers=headers)
    assert refused.status_code == 403
    assert api.get(f"/api/v1/data/{entry.code}/export.csv.zip").status_code == 401
    unknown = api.get(f"/api/v1/data/999999/export.csv.zip?{PURPOSE}", headers=headers)
    assert unknown.status_code == 404


def test_the_bundle_streams_in_bounded_memory(settings: Settings) -> None:
    """400,000 rows (~60 MB of CSV) go into the ZIP as they come: Python memory stays under
    16 MB, and the ZIP reads back to exactly the CSV the rows make."""
    schema = pa.schema([("n", pa.int64()), ("text", pa.string())])
    words = pa.array([f"临沂市第{i}号企业有限公司，经营范围很长很长" * 3 for i in range(20_000)])

    def rows() -> Iterator[pa.RecordBatch]:
        for start in range(0, 400_000, 20_000):
            numbers = pa.array(range(start, start + 20_000), type=pa.int64())
            yield pa.record_batch([numbers, words], names=["n", "text"])

    meta = exports.ExportMeta("202001/0007", "企业登记信息", 3, "0" * 32, utcnow())
    signer = StreamSigner(platform_seal(settings), name=bundle.DATA_MEMBER)
    plain = hashlib.sha256()
    size = 0
    for chunk in exports.stream("csv", rows(), meta, schema=schema):
        plain.update(chunk)
        size += len(chunk)
    data = bundle.DataFile()
    zipped = hashlib.sha256()
    written = 0
    tracemalloc.start()
    try:
        for chunk in bundle.write(
            exports.stream("csv", rows(), meta, schema=schema),
            signer=signer,
            describe=lambda d: {"bytes": d.size},
            written_at=meta.exported_at,
            data=data,
        ):
            zipped.update(chunk)
            written += len(chunk)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size > 40 * 2**20 and 0 < written < size  # deflated
    assert (data.size, data.sha256) == (size, plain.hexdigest())
    assert signer.finish()["digest"] == plain.hexdigest()
    assert peak < 16 * 2**20, f"Python peak {peak / 2**20:.1f} MiB"
