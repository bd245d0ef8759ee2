"""The OpenAPI document is complete: every operation is described and tagged."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_openapi_describes_every_operation(client: TestClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    paths = spec["paths"]
    for expected in (
        "/api/v1/auth/token",
        "/api/v1/users",
        "/api/v1/agencies",
        "/api/v1/regions",
        "/api/v1/datasets",
        "/api/v1/datasets/{dataset_id}",
        "/api/v1/catalog/export",
        "/api/v1/audit/entries",
        "/api/v1/api-keys",
    ):
        assert expected in paths, expected
    for path, operations in paths.items():
        assert path.startswith("/api/v1/"), f"page route leaked into the API spec: {path}"
        for method, op in operations.items():
            assert op.get("summary"), f"{method.upper()} {path} has no summary"
            assert op.get("tags"), f"{method.upper()} {path} has no tag"
            assert any(code in op["responses"] for code in ("200", "201", "202", "204")), (
                f"{method.upper()} {path} documents no success response"
            )
