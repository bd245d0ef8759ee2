"""The data API in the OpenAPI document: every route, its parameters and its answers."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def _params(op: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in op.get("parameters", [])}


def test_the_data_api_is_described(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    paths = spec["paths"]
    base = "/api/v1/data/{ref}"
    for path in (
        base,
        f"{base}/rows",
        f"{base}/count",
        f"{base}/aggregate",
        f"{base}/export.{{fmt}}",
        "/api/v1/data/fingerprints/{fingerprint}",
    ):
        op = paths[path]["get"]
        assert op["tags"] == ["data"] and op["summary"] and op["description"], path
        assert "200" in op["responses"], path
    rows = paths[f"{base}/rows"]["get"]
    params = _params(rows)
    assert params["_limit"]["schema"]["maximum"] == 10_000
    assert params["_limit"]["schema"]["default"] == 100
    assert params["X-Gongshu-Purpose"]["in"] == "header"
    for name in ("_sort", "_fields", "_after", "_purpose", "_version", "ref"):
        assert params[name]["description"], name
    assert "`<field>__<op>=<value>`" in rows["description"]
    answer = rows["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer["$ref"].endswith("/DataRowsPage")
    page = spec["components"]["schemas"]["DataRowsPage"]["properties"]
    assert {"rows", "next_cursor", "next_url", "version", "fields"} <= set(page)
    export = paths[f"{base}/export.{{fmt}}"]["get"]
    fmt = _params(export)["fmt"]["schema"]
    if "$ref" in fmt:
        fmt = spec["components"]["schemas"][fmt["$ref"].rsplit("/", 1)[-1]]
    assert fmt["enum"] == ["csv", "xlsx", "json", "parquet"]
    content = export["responses"]["200"]["content"]
    assert {"text/csv", "application/x-ndjson", "application/vnd.apache.parquet"} <= set(content)
    assert "formula" in export["description"] and "fingerprint" in export["description"]
    bundle = paths[f"{base}/export.csv.zip"]["get"]
    assert bundle["tags"] == ["data"] and "datapackage.json" in bundle["description"]
    assert "application/zip" in bundle["responses"]["200"]["content"]
    trace = paths["/api/v1/data/fingerprints/trace"]["post"]
    assert "SHA-256" in trace["description"]
    form = trace["requestBody"]["content"]["multipart/form-data"]["schema"]
    if "$ref" in form:
        form = spec["components"]["schemas"][form["$ref"].rsplit("/", 1)[-1]]
    assert form["required"] == ["file"]
    answer = trace["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer["$ref"].endswith("/FileTraceRead")
    aggregate = _params(paths[f"{base}/aggregate"]["get"])
    assert aggregate["_measure"]["schema"]["default"] == "count"
