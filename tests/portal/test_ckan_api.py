"""The CKAN-compatible Action API over HTTP (test client): envelope, errors, search, lists,
and rows through the gate."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.catalog.models import Dataset, Level, OpenType
from gongshu.portal.naming import dataset_slug
from gongshu.portal.openness import is_public, public_actor, public_entries_query
from tests.portal.city import EXTRA_ROUTES, OpenCity


def call(client: TestClient, action: str, key: str = "", post: bool = False, **params: Any):
    headers = {"Authorization": key} if key else {}
    if post:
        return client.post(f"/api/3/action/{action}", json=params, headers=headers)
    query = {
        k: json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v
        for k, v in params.items()
    }
    return client.get(f"/api/action/{action}", params=query, headers=headers)


def ok(response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert body["help"].endswith(
        "/api/3/action/help_show?name=" + response.url.path.rsplit("/", 1)[-1]
    )
    return body["result"]


def failed(response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error"]["__type"] == kind
    return dict(body["error"])


def titles(result: dict[str, Any]) -> list[str]:
    return [p["title"] for p in result["results"]]


# --- who is public ---------------------------------------------------------------------------


def test_the_public_rule(db: Session, open_city: OpenCity) -> None:
    public = set(db.scalars(public_entries_query()))
    assert {d.id for d in public} == {d.id for d in open_city.public}
    for dataset in db.scalars(select(Dataset)):
        assert is_public(dataset) == (dataset in public), dataset.title
    people = open_city.people
    assert people is not None
    # general_4 is never opened, whatever its open type says.
    people.open_type = OpenType.UNCONDITIONAL
    db.flush()
    assert not is_public(people)
    assert people.id not in set(db.scalars(public_entries_query().with_only_columns(Dataset.id)))
    people.level = Level.GENERAL_1
    db.flush()
    assert is_public(people)


def test_the_public_reader_is_not_the_system() -> None:
    actor = public_actor("req-1", "127.0.0.1")
    assert actor.user_id == 0 and not actor.is_system
    assert actor.roles == {"public"} and actor.api_key_id is None


# --- packages --------------------------------------------------------------------------------


def test_package_show_by_id_name_and_code(client: TestClient, open_city: OpenCity) -> None:
    companies = open_city.companies
    assert companies is not None
    for ref in (str(companies.id), dataset_slug(companies.code), companies.code):
        package = ok(call(client, "package_show", id=ref))
        assert package["id"] == str(companies.id)
        assert package["name"] == "102001-0001"
        assert package["title"] == "企业登记基本信息"
        assert package["organization"]["title"] == "临沂市市场监督管理局"
        assert package["organization"]["name"] == package["organization"]["name"].lower()
        assert [t["name"] for t in package["tags"]] == ["企业登记", "营商环境"]
        assert package["groups"][0]["title"] == "市场监管"
        assert package["license_id"] == "CC-BY-4.0" and package["isopen"] is True
        extras = {e["key"]: e["value"] for e in package["extras"]}
        assert extras["code"] == "102001/0001" and extras["update_cycle"] == "daily"
        formats = [r["format"] for r in package["resources"]]
        assert formats == ["CSV", "XLSX", "JSON", "PARQUET"]
        active = [r["datastore_active"] for r in package["resources"]]
        assert active == [True, False, False, False]
        assert package["resources"][0]["url"].endswith("/dataset/102001-0001/download.csv")
        assert package["resources"][0]["package_id"] == str(companies.id)


def test_conditional_entries_show_without_resources(
    client: TestClient, open_city: OpenCity
) -> None:
    assert open_city.permits is not None
    package = ok(call(client, "package_show", post=True, id=str(open_city.permits.id)))
    assert package["resources"] == [] and package["isopen"] is False
    extras = {e["key"]: e["value"] for e in package["extras"]}
    assert extras["open_type"] == "conditional"
    assert extras["open_conditions"] == "用于环境研究，签署数据使用协议"


@pytest.mark.parametrize("which", ["people", "draft"])
def test_hidden_entries_are_not_found(client: TestClient, open_city: OpenCity, which: str) -> None:
    dataset = getattr(open_city, which)
    error = failed(call(client, "package_show", id=str(dataset.id)), 404, "Not Found Error")
    assert error["message"].startswith("Not found: ")
    failed(call(client, "resource_show", id=f"{dataset.id}-csv"), 404, "Not Found Error")
    names = ok(call(client, "package_list"))
    assert dataset_slug(dataset.code) not in names


def test_package_list_and_resource_show(client: TestClient, open_city: OpenCity) -> None:
    names = ok(call(client, "package_list"))
    assert names == sorted(dataset_slug(d.code) for d in open_city.public)
    assert ok(call(client, "package_list", limit=3, offset=2)) == names[2:5]
    companies = open_city.companies
    assert companies is not None
    resource = ok(call(client, "resource_show", id=f"{companies.id}-parquet"))
    assert resource["format"] == "PARQUET" and resource["datastore_active"] is False
    failed(call(client, "resource_show", id="nonsense"), 404, "Not Found Error")


# --- search ----------------------------------------------------------------------------------


def test_search_finds_chinese_and_pinyin_like_the_catalog(
    client: TestClient, open_city: OpenCity
) -> None:
    for q in ("空气", "空气质量", "kongqi", "kong qi", "kqzl"):
        assert titles(ok(call(client, "package_search", q=q))) == ["空气质量监测数据"], q
    # Words must all match; hidden entries never match.
    assert ok(call(client, "package_search", q="企业"))["count"] == 1
    assert ok(call(client, "package_search", q="人口"))["count"] == 0
    assert ok(call(client, "package_search", q="公交"))["count"] == EXTRA_ROUTES


def test_q_star_matches_everything_and_pages(client: TestClient, open_city: OpenCity) -> None:
    total = len(open_city.public)
    everything = ok(call(client, "package_search", q="*:*", rows=1000))
    assert everything["count"] == total == len(everything["results"])
    assert ok(call(client, "package_search"))["count"] == total
    seen: list[str] = []
    for start in range(0, total, 4):
        page = ok(call(client, "package_search", q="*:*", rows=4, start=start, sort="name asc"))
        seen.extend(p["name"] for p in page["results"])
    assert seen == sorted(dataset_slug(d.code) for d in open_city.public)
    # rows above 1000 are capped, as CKAN does.
    assert len(ok(call(client, "package_search", rows=5000))["results"]) == total


def test_fq_filters_and_combinations(client: TestClient, open_city: OpenCity) -> None:
    package = ok(call(client, "package_show", id=str(open_city.air.id)))  # type: ignore[union-attr]
    eco = package["organization"]["name"]

    def count(fq: str, **extra: Any) -> int:
        return int(ok(call(client, "package_search", fq=fq, **extra))["count"])

    assert count(f"organization:{eco}") == 3
    assert count("tags:公交") == EXTRA_ROUTES
    assert count('tags:"空气质量"') == 1
    assert count("res_format:CSV") == 2
    assert count("res_format:csv") == 2
    assert count("groups:sheng-tai-huan-jing") == 2
    assert count(f"+organization:{eco} +res_format:CSV") == 1
    assert count(f"organization:{eco} AND groups:sheng-tai-huan-jing") == 2
    assert count(f"organization:{eco} -res_format:CSV") == 2
    assert count("tags:(空气质量 OR 排污许可)") == 2
    assert count("+dataset_type:dataset") == len(open_city.public)
    assert count("tags:公交", q="*:*") == EXTRA_ROUTES
    assert count("", fq_list=["tags:公交", "groups:jiao-tong"]) == EXTRA_ROUTES
    # q may carry filters too.
    assert ok(call(client, "package_search", q="tags:空气质量"))["count"] == 1

    error = failed(call(client, "package_search", fq="nonsense:1"), 400, "Search Query Error")
    assert "nonsense" in error["message"]
    failed(call(client, "package_search", fq="tags:a OR tags:b"), 400, "Search Query Error")
    failed(call(client, "package_search", sort="popularity desc"), 400, "Search Query Error")
    failed(call(client, "package_search", rows="many"), 409, "Validation Error")


def test_sort_and_facets(client: TestClient, open_city: OpenCity) -> None:
    by_title = ok(call(client, "package_search", rows=1000, sort="title_string asc"))
    assert titles(by_title)[0] == "辐射环境监测点位"  # fu… before gong…, kong…, pai…, qi…
    assert titles(by_title)[-1] == "企业登记基本信息"
    newest = ok(call(client, "package_search", rows=1000, sort="metadata_modified desc"))
    modified = [p["metadata_modified"] for p in newest["results"]]
    assert modified == sorted(modified, reverse=True)
    relevant = ok(call(client, "package_search", q="空气", sort="score desc"))
    assert titles(relevant) == ["空气质量监测数据"]

    result = ok(
        call(
            client,
            "package_search",
            **{"facet.field": ["organization", "tags", "res_format", "groups"], "rows": 0},
        )
    )
    assert result["results"] == []
    assert result["facets"]["res_format"] == {"CSV": 2, "JSON": 2, "PARQUET": 2, "XLSX": 2}
    assert result["facets"]["tags"]["公交"] == EXTRA_ROUTES
    assert result["facets"]["groups"]["jiao-tong"] == EXTRA_ROUTES
    orgs = result["search_facets"]["organization"]["items"]
    assert {o["display_name"] for o in orgs} == {"临沂市市场监督管理局", "临沂市生态环境局"}
    assert sum(o["count"] for o in orgs) == len(open_city.public)
    limited = ok(call(client, "package_search", **{"facet.field": ["tags"], "facet.limit": 2}))
    assert len(limited["facets"]["tags"]) == 2


# --- organizations, groups, tags, status -------------------------------------------------------


def test_organization_group_and_tag_lists(client: TestClient, open_city: OpenCity) -> None:
    names = ok(call(client, "organization_list"))
    assert len(names) == 2
    full = ok(call(client, "organization_list", all_fields=True, sort="package_count desc"))
    assert [o["title"] for o in full] == ["临沂市市场监督管理局", "临沂市生态环境局"]
    assert [o["package_count"] for o in full] == [EXTRA_ROUTES + 1, 3]
    shown = ok(call(client, "organization_show", id=full[1]["name"], include_datasets=True))
    assert shown["title"] == "临沂市生态环境局"
    assert {p["title"] for p in shown["packages"]} == {
        "空气质量监测数据",
        "排污许可证信息",
        "辐射环境监测点位",
    }
    assert ok(call(client, "organization_show", id=str(open_city.market)))["package_count"] == 13
    failed(call(client, "organization_show", id="nobody"), 404, "Not Found Error")

    groups = ok(call(client, "group_list", all_fields=True))
    assert {g["name"]: g["title"] for g in groups} == {
        "jiao-tong": "交通",
        "sheng-tai-huan-jing": "生态环境",
        "shi-chang-jian-guan": "市场监管",
    }
    group = ok(call(client, "group_show", id="jiao-tong", include_datasets=True))
    assert group["package_count"] == EXTRA_ROUTES == len(group["packages"])

    tags = ok(call(client, "tag_list"))
    assert "公交" in tags and "人口" not in tags  # the general_4 entry's tag stays hidden
    assert ok(call(client, "tag_list", query="空气")) == ["空气质量"]
    failed(call(client, "tag_list", vocabulary_id="x"), 409, "Validation Error")


def test_status_help_and_unknown_actions(client: TestClient, open_city: OpenCity) -> None:
    status = ok(call(client, "status_show"))
    assert status["ckan_version"].startswith("2.10") and "datastore" in status["extensions"]
    assert "q" in ok(call(client, "help_show", name="package_search"))
    error = failed(client.get("/api/3/action/package_create"), 400, "Bad Request")
    assert "package_create" in error["message"]
    bad = client.post(
        "/api/3/action/package_show", content=b"{nope", headers={"content-type": "application/json"}
    )
    failed(bad, 400, "Bad Request")
    english = client.get("/api/3/action/package_show?id=0-0", headers={"Accept-Language": "en"})
    assert failed(english, 404, "Not Found Error")["message"] == (
        "Not found: The dataset does not exist or is not open"
    )
    missing = failed(call(client, "package_show"), 409, "Validation Error")
    assert missing["id"] == ["缺少参数 id"]


def test_routes_stay_out_of_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert not any("/api/3/" in p or p.startswith("/api/action") for p in paths)


# --- datastore_search --------------------------------------------------------------------------


def test_datastore_search_as_the_provider(
    client: TestClient, open_city: OpenCity, db: Session
) -> None:
    companies = open_city.companies
    assert companies is not None
    rid = f"{companies.id}-csv"
    rows = open_city.company_rows
    key = open_city.provider_key
    first = ok(call(client, "datastore_search", key, post=True, resource_id=rid, limit=10))
    assert first["total"] == len(rows)
    assert [f["id"] for f in first["fields"]][:3] == ["_id", "credit_code", "name"]
    types = {f["id"]: f["type"] for f in first["fields"]}
    assert types["capital"] == "numeric" and types["founded"] == "date"
    assert types["checked_at"] == "timestamp" and types["active"] == "bool"
    assert [r["credit_code"] for r in first["records"]] == [r["credit_code"] for r in rows[:10]]
    assert first["_links"]["next"].endswith("offset=10")

    # Offsets walk keyset pages; every row comes exactly once.
    seen = []
    for offset in range(0, len(rows), 7):
        page = ok(call(client, "datastore_search", key, resource_id=rid, limit=7, offset=offset))
        seen.extend(r["credit_code"] for r in page["records"])
    assert seen == [r["credit_code"] for r in rows]

    lanshan = [r for r in rows if r["district"] == "兰山区"]
    filtered = ok(
        call(
            client,
            "datastore_search",
            key,
            post=True,
            resource_id=rid,
            filters={"district": "兰山区"},
            sort="staff desc",
            fields=["name", "staff"],
        )
    )
    assert filtered["total"] == len(lanshan)
    assert [f["id"] for f in filtered["fields"]] == ["_id", "name", "staff"]
    staff = [r["staff"] for r in filtered["records"]]
    assert staff == sorted(
        (r["staff"] for r in lanshan), key=lambda s: (s is not None, s), reverse=True
    )
    several = ok(
        call(
            client,
            "datastore_search",
            key,
            resource_id=rid,
            filters={"district": ["兰山区", "河东区"]},
        )
    )
    assert several["total"] == len([r for r in rows if r["district"] in ("兰山区", "河东区")])

    text = ok(call(client, "datastore_search", key, resource_id=rid, q="企业12有限"))
    assert [r["name"] for r in text["records"]] == ["临沂市开放测试企业12有限公司"]
    untotalled = ok(
        call(client, "datastore_search", key, resource_id=rid, q="企业1", include_total=False)
    )
    assert "total" not in untotalled and untotalled["records"]
    by_field = ok(call(client, "datastore_search", key, resource_id=rid, q={"name": "企业1"}))
    assert by_field["total"] == len([r for r in rows if "企业1" in r["name"]])
    lists = ok(
        call(client, "datastore_search", key, resource_id=rid, limit=1, records_format="lists")
    )
    assert lists["records"][0][1] == rows[0]["credit_code"]

    failed(
        call(client, "datastore_search", key, resource_id=rid, filters={"nope": 1}),
        409,
        "Validation Error",
    )
    failed(
        call(client, "datastore_search", key, resource_id=rid, offset=10**6),
        409,
        "Validation Error",
    )
    failed(call(client, "datastore_search", key, resource_id="1-xml"), 404, "Not Found Error")
    assert open_city.permits is not None
    # A conditional entry's rows: found, but only an approved applicant reads them.
    failed(
        call(client, "datastore_search", key, resource_id=f"{open_city.permits.id}-csv"),
        403,
        "Authorization Error",
    )
    reads = db.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "data.read", AuditEntry.object_id == str(companies.id)
        )
    ).all()
    assert reads, "every read goes through the gate and is audited"


def test_datastore_search_as_the_bureau_and_as_another_agency(
    client: TestClient, open_city: OpenCity
) -> None:
    companies = open_city.companies
    assert companies is not None
    rid = f"{companies.id}-csv"
    bureau = ok(call(client, "datastore_search", open_city.bureau_key, resource_id=rid, limit=5))
    assert len(bureau["records"]) == 5
    # Another agency's officer has no grant, but the rows are open to everyone.
    other = ok(call(client, "datastore_search", open_city.other_key, resource_id=rid, limit=5))
    assert len(other["records"]) == 5
    # The conditionally opened entry's rows are not open, but this officer's agency provides
    # them (the gate's provider rule); the market bureau's officer was refused above.
    permits = open_city.permits
    assert permits is not None
    own = ok(call(client, "datastore_search", open_city.other_key, resource_id=f"{permits.id}-csv"))
    assert [r["permit_no"] for r in own["records"]] == ["91371300PW0001"]
    failed(
        call(client, "datastore_search", "gsk_nonsense", resource_id=rid),
        403,
        "Authorization Error",
    )
    headers = {"X-CKAN-API-Key": open_city.bureau_key}
    response = client.get(
        f"/api/3/action/datastore_search?resource_id={rid}&limit=2", headers=headers
    )
    assert len(ok(response)["records"]) == 2


def test_anonymous_datastore_search_reads_open_rows_through_the_gate(
    client: TestClient, open_city: OpenCity, db: Session
) -> None:
    """The public reads an unconditional entry's rows without an account: the gate's open
    rule, recorded as the anonymous reader on the open basis."""
    companies = open_city.companies
    assert companies is not None
    result = ok(call(client, "datastore_search", resource_id=f"{companies.id}-csv", limit=5))
    assert result["total"] == len(open_city.company_rows)
    assert len(result["records"]) == 5
    reads = db.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "data.read", AuditEntry.object_id == str(companies.id)
        )
    ).all()
    assert reads and {e.actor_id for e in reads} == {0}
    assert {e.changes["basis"] for e in reads} == {"open"}


def test_anonymous_datastore_search_is_refused_on_a_conditional_entry(
    client: TestClient, open_city: OpenCity, db: Session
) -> None:
    """Conditionally opened rows go only to approved applicants: the public is refused by
    the gate, and the refusal is recorded."""
    permits = open_city.permits
    assert permits is not None and permits.open_type == "conditional"
    response = call(client, "datastore_search", resource_id=f"{permits.id}-csv")
    assert response.status_code in (403, 404)
    assert not response.json()["success"]
