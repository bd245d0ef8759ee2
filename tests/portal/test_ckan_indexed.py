"""CKAN ``package_search`` answers through the indexed search when it can, with exactly the
results of the general in-memory path."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gongshu.portal import ckan_search
from tests.portal.city import EXTRA_ROUTES, OpenCity

QUERIES: list[dict[str, Any]] = [
    {"q": "*:*", "rows": 7, "start": 3, "sort": "name asc"},
    {"q": "公交", "rows": 5, "sort": "title_string asc", "facet.field": '["groups"]'},
    {"q": "kongqi", "sort": "score desc"},
    {"q": "企业 信息", "sort": "score desc", "rows": 20},
    {
        "fq": "open_type:unconditional",
        "sort": "name asc",
        "rows": 100,
        "facet.field": '["organization", "update_cycle", "open_type", "groups"]',
        "facet.limit": 2,
    },
    {"fq": "groups:sheng-tai-huan-jing", "sort": "name asc"},
    {"fq": "update_cycle:nonsense", "sort": "name asc"},
]
#: CKAN's default order (``score desc, metadata_modified desc``) and newest first:
#: metadata_modified is the later of the entry's update and its live version's publication.
NEWEST_QUERIES: list[dict[str, Any]] = [
    {"q": "*:*", "rows": 50},
    {"q": "企业", "rows": 20},
    {"sort": "metadata_modified desc", "rows": 50},
]
#: Tags: a filter, and a facet counted by the index (at most its 20 most common tags).
TAG_QUERIES: list[dict[str, Any]] = [
    {"fq": "tags:企业登记", "sort": "name asc", "facet.field": '["tags", "groups"]'},
    {"q": "企业", "sort": "score desc", "facet.field": '["tags"]', "facet.limit": 20},
]


def test_indexed_and_in_memory_agree(
    client: TestClient, db: Session, open_city: OpenCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    organization = f"organization:{open_city.companies.agency.credit_code.lower()}"  # type: ignore[union-attr]
    queries = [
        *QUERIES,
        {"fq": organization, "sort": "name asc", "rows": 50},
        *TAG_QUERIES,
        *NEWEST_QUERIES,
    ]
    used: list[bool] = []
    real = ckan_search._indexed

    def spy(*args: Any, **kwargs: Any) -> Any:
        answer = real(*args, **kwargs)
        used.append(answer is not None)
        return answer

    monkeypatch.setattr(ckan_search, "_indexed", spy)
    indexed = [client.get("/api/3/action/package_search", params=q).json() for q in queries]
    # All but the unknown update cycle (an invalid enum: the general path) went indexed.
    assert used == [True] * 6 + [False, True, False, True] + [True] * 3  # facet.limit 50 > 20
    monkeypatch.setattr(ckan_search, "_indexed", lambda *a, **k: None)
    general = [client.get("/api/3/action/package_search", params=q).json() for q in queries]
    for q, a, b in zip(queries, indexed, general, strict=True):
        assert a["success"] and b["success"], (q, a, b)
        ra, rb = a["result"], b["result"]
        assert ra["count"] == rb["count"], q
        assert [p["name"] for p in ra["results"]] == [p["name"] for p in rb["results"]], q
        assert ra["facets"] == rb["facets"], q
        assert ra["search_facets"] == rb["search_facets"], q
    counts = [r["result"]["count"] for r in indexed]
    assert counts[:3] == [len(open_city.public), EXTRA_ROUTES, 1]
    assert counts[5] == 2 and counts[6] == 0 and counts[7] == 1 + EXTRA_ROUTES
    assert len(indexed[0]["result"]["results"]) == 7
    assert len(indexed[4]["result"]["facets"]["organization"]) == 2
    newest = [p["metadata_modified"] for p in indexed[12]["result"]["results"]]
    assert newest == sorted(newest, reverse=True) and len(newest) == len(open_city.public)
    # The draft 企业年度报告信息 carries 企业登记 too: never found nor counted.
    assert counts[8] == 1 and indexed[9]["result"]["facets"]["tags"]["企业登记"] == 1
