"""The statistics page and its JSON: public figures count public entries only; the bureau
sees every entry; the data API and CKAN's datastore_search are counted."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gongshu.orgs.models import Agency
from gongshu.portal.naming import agency_slug
from gongshu.portalstats import collector
from tests.portal.city import OpenCity


def _use(db: Session, city: OpenCity) -> None:
    assert city.companies and city.air and city.people
    for _ in range(5):
        collector.record("view", city.companies.id, city.market)
    collector.record("download", city.companies.id, city.market)
    collector.record("view", city.air.id, city.ecology)
    for _ in range(7):  # a hidden entry's use must never show publicly
        collector.record("api_call", city.people.id, city.market)
    collector.flush(db)


def test_public_figures_count_public_entries_only(
    client: TestClient, db: Session, open_city: OpenCity
) -> None:
    _use(db, open_city)
    body = client.get("/api/v1/portal/stats").json()
    totals = body["totals"]
    assert body["scope"] == "public"
    assert totals["entries"] == len(open_city.public)
    assert totals["agencies"] == 2
    assert totals["records"] == 25 + 30 + 1
    assert (totals["views"], totals["downloads"], totals["api_calls"]) == (6, 1, 0)
    assert body["top_entries"][0]["code"] == open_city.companies.code  # type: ignore[union-attr]
    assert open_city.people.id not in {e["dataset_id"] for e in body["top_entries"]}  # type: ignore[union-attr]
    assert body["daily"][-1]["views"] == 6 and len(body["daily"]) == 30
    assert sum(m["views"] for m in body["monthly"]) == 6
    market = next(a for a in body["agencies"] if a["agency_id"] == open_city.market)
    assert (market["views"], market["downloads"], market["api_calls"]) == (5, 1, 0)

    page = client.get("/stats")
    assert page.status_code == 200
    assert page.text.count("<h1") == 1 and "<svg" in page.text
    assert 'data-stat="views">6<' in page.text
    assert "常住人口基本信息" not in page.text

    agency = db.get(Agency, open_city.ecology)
    assert agency is not None
    one = client.get(f"/stats/agency/{agency_slug(agency)}")
    assert one.status_code == 200 and agency.name in one.text
    assert (
        client.get("/api/v1/portal/stats", params={"agency": agency_slug(agency)}).json()["totals"][
            "views"
        ]
        == 1
    )
    assert client.get("/stats/agency/91000000000000000x").status_code == 404

    # Everything, hidden entries included, is the bureau's view only.
    every = {"scope": "all"}
    assert client.get("/api/v1/portal/stats", params=every).status_code == 401
    officer = {"X-API-Key": open_city.provider_key}
    assert client.get("/api/v1/portal/stats", params=every, headers=officer).status_code == 403
    bureau = {"X-API-Key": open_city.bureau_key}
    everything = client.get("/api/v1/portal/stats", params={"scope": "all"}, headers=bureau)
    assert everything.status_code == 200
    assert everything.json()["totals"]["api_calls"] == 7


def test_data_api_and_ckan_calls_are_counted(client: TestClient, open_city: OpenCity) -> None:
    assert open_city.companies is not None
    code = open_city.companies.code
    key = {"X-API-Key": open_city.provider_key}
    why = {"_purpose": "test"}
    for path in ("rows", "count", "export.csv"):
        got = client.get(f"/api/v1/data/{code}/{path}", params=why, headers=key)
        assert got.status_code == 200, got.text
    resource = f"{open_city.companies.id}-csv"
    found = client.get("/api/3/action/datastore_search", params={"resource_id": resource})
    assert found.status_code == 200, found.text
    batch = collector.drain()
    counted = {(k.dataset_id, k.kind): n for k, (_agency, n) in batch.items()}
    assert counted == {
        (open_city.companies.id, "api_call"): 3,
        (open_city.companies.id, "download"): 1,
    }
