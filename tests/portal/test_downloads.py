"""Downloads from an entry's portal page, anonymous: every format streamed through the gate,
with attribution where the format has room (never a line inside the CSV), audited like the
data API's exports, counted as a download, rate-limited per IP address."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from urllib.parse import unquote

import pyarrow.parquet as pq
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.dataapi.api import limiter_of
from gongshu.dataapi.ratelimit import RateLimiter
from gongshu.portal.naming import dataset_slug
from gongshu.portalstats import collector
from gongshu.settings import Settings
from tests.portal.city import OpenCity


def url(open_city: OpenCity, ext: str) -> str:
    assert open_city.companies is not None
    return f"/dataset/{dataset_slug(open_city.companies.code)}/download.{ext}"


def test_csv_download_is_plain_rows_with_attribution_in_headers(
    client: TestClient, db: Session, open_city: OpenCity
) -> None:
    companies = open_city.companies
    assert companies is not None
    collector.drain()
    answer = client.get(url(open_city, "csv"))
    assert answer.status_code == 200, answer.text
    body = answer.content
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:3] == ["credit_code", "name", "district"]
    assert len(rows) == 1 + len(open_city.company_rows)  # the header and the rows, nothing else
    assert {len(r) for r in rows} == {len(rows[0])}
    assert [r[0] for r in rows[1:]] == [r["credit_code"] for r in open_city.company_rows]
    headers = answer.headers
    assert unquote(headers["X-Gongshu-Source"]) == "临沂市市场监督管理局"
    assert headers["X-Gongshu-Dataset"] == companies.code
    assert headers["X-Gongshu-License"] and headers["X-Gongshu-Acquired"]
    assert 'filename="' in headers["Content-Disposition"]
    assert headers["Content-Disposition"].endswith('.csv"')
    # audited like the data API's exports: the export as the anonymous reader, its digest
    entries = db.scalars(
        select(AuditEntry)
        .where(AuditEntry.object_id == str(companies.id))
        .where(AuditEntry.action.in_(["data.read", "data.export_digest"]))
        .order_by(AuditEntry.seq)
    ).all()
    export = [e for e in entries if e.changes.get("operation") == "export"]
    assert export and export[-1].actor_id == 0 and export[-1].changes["format"] == "csv"
    assert export[-1].changes["export_id"] == headers["X-Gongshu-Export-Id"]
    assert any(e.action == "data.export_digest" for e in entries)
    # counted as a download of the entry
    counted = collector.drain()
    assert any(key.kind == "download" and key.dataset_id == companies.id for key in counted), (
        counted
    )


def test_xlsx_json_parquet_and_bundle_carry_attribution(
    client: TestClient, open_city: OpenCity
) -> None:
    xlsx = client.get(url(open_city, "xlsx"))
    assert xlsx.status_code == 200, xlsx.text
    wb = load_workbook(io.BytesIO(xlsx.content), read_only=True)
    about_sheet = wb.worksheets[-1]
    about = {r[0]: r[1] for r in about_sheet.iter_rows(values_only=True) if len(r) > 1}
    assert about["来源机构"] == "临沂市市场监督管理局"
    assert about["资源代码"] == open_city.companies.code  # type: ignore[union-attr]
    assert about["版本"] == 1 and about["获取日期"] and about["许可协议"]
    assert len(list(wb.worksheets[0].iter_rows())) == 1 + len(open_city.company_rows)

    doc = client.get(url(open_city, "json")).json()
    attribution = doc["attribution"]
    assert attribution["source"] == "临沂市市场监督管理局"
    assert attribution["code"] == open_city.companies.code  # type: ignore[union-attr]
    assert {"acquired", "licence", "licence_url"} <= set(attribution)
    assert len(doc["rows"]) == len(open_city.company_rows)

    parquet = client.get(url(open_city, "parquet"))
    table = pq.read_table(io.BytesIO(parquet.content))
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    assert meta["gongshu.attribution.source"] == "临沂市市场监督管理局"
    assert meta["gongshu.dataset"] == open_city.companies.code  # type: ignore[union-attr]
    assert "gongshu.attribution.licence" in meta and table.num_rows == 25

    bundle = client.get(url(open_city, "csv.zip"))
    assert bundle.status_code == 200, bundle.text
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as z:
        package = json.loads(z.read("datapackage.json"))
        data = z.read("data.csv")
    assert data.startswith(b"\xef\xbb\xbf")
    assert package["resources"][0]["path"] == "data.csv"
    assert package["licenses"] and "gongshu" in package


def test_anonymous_downloads_are_rate_limited_per_ip(
    app: FastAPI, client: TestClient, open_city: OpenCity
) -> None:
    app.state.data_api_limiter = RateLimiter(clock=lambda: 0.0)  # time stands still
    limiter = limiter_of(app)
    settings: Settings = app.state.settings
    per_minute, burst = settings.data_api_rate_per_minute, settings.data_api_burst
    while limiter.take("ip:testclient", per_minute, burst).allowed:
        pass
    refused = client.get(url(open_city, "csv"))
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert not limiter.take("ip:testclient", per_minute, burst).allowed
    assert limiter.take("ip:192.0.2.1", per_minute, burst).allowed  # another address
    limiter.reset()
    assert client.get(url(open_city, "csv")).status_code == 200
