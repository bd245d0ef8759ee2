"""The real ``ckanapi`` client against a real server (uvicorn on a loopback port)."""

from __future__ import annotations

import pytest
from ckanapi import NotFound, RemoteCKAN, SearchQueryError, ValidationError

from tests.portal.city import EXTRA_ROUTES
from tests.portal.conftest import Served


@pytest.fixture
def anonymous(served: Served):
    with RemoteCKAN(served.url, user_agent="gongshu-tests") as ckan:
        yield ckan


def test_search_in_chinese_and_pinyin(anonymous: RemoteCKAN) -> None:
    for q in ("空气质量", "kongqi", "kqzl"):
        result = anonymous.action.package_search(q=q)
        assert [p["title"] for p in result["results"]] == ["空气质量监测数据"], q
    buses = anonymous.action.package_search(q="公交", fq="tags:公交", rows=3)
    assert buses["count"] == EXTRA_ROUTES and len(buses["results"]) == 3


def test_paging_through_all_results(anonymous: RemoteCKAN, served: Served) -> None:
    total = anonymous.action.package_search(q="*:*", rows=0)["count"]
    assert total == len(served.city.public)
    names: list[str] = []
    start = 0
    while True:
        page = anonymous.action.package_search(q="*:*", rows=5, start=start, sort="name asc")
        if not page["results"]:
            break
        names.extend(p["name"] for p in page["results"])
        start += 5
    assert len(names) == total == len(set(names))
    assert names == sorted(names)


def test_show_a_package_and_list_organizations(anonymous: RemoteCKAN, served: Served) -> None:
    companies = served.city.companies
    assert companies is not None
    package = anonymous.action.package_show(id="102001-0001")
    assert package["title"] == "企业登记基本信息"
    assert package["resources"][0]["datastore_active"] is True
    organizations = anonymous.action.organization_list(all_fields=True)
    assert {o["title"] for o in organizations} == {"临沂市市场监督管理局", "临沂市生态环境局"}
    assert anonymous.action.organization_list() == [o["name"] for o in organizations]
    with pytest.raises(NotFound):
        anonymous.action.package_show(id=str(served.city.people.id))  # type: ignore[union-attr]
    with pytest.raises(SearchQueryError):
        anonymous.action.package_search(fq="bogus:1")
    with pytest.raises(ValidationError):
        anonymous.action.package_search(rows="many")


@pytest.mark.parametrize("who", ["provider_key", "bureau_key"])
def test_reading_rows_with_an_api_key(served: Served, who: str) -> None:
    companies = served.city.companies
    assert companies is not None
    rows = served.city.company_rows
    with RemoteCKAN(served.url, apikey=getattr(served.city, who)) as ckan:
        package = ckan.action.package_show(id=companies.code)
        resource = next(r for r in package["resources"] if r["datastore_active"])
        got: list[str] = []
        offset = 0
        while True:
            page = ckan.action.datastore_search(resource_id=resource["id"], limit=10, offset=offset)
            assert page["total"] == len(rows)
            if not page["records"]:
                break
            got.extend(r["credit_code"] for r in page["records"])
            offset += 10
        assert got == [r["credit_code"] for r in rows]
        some = ckan.action.datastore_search(
            resource_id=resource["id"], filters={"district": "罗庄区"}, fields=["name", "district"]
        )
        assert {r["district"] for r in some["records"]} == {"罗庄区"}
        assert some["total"] == len([r for r in rows if r["district"] == "罗庄区"])


def test_anonymous_client_reads_open_rows(anonymous: RemoteCKAN, served: Served) -> None:
    """The real client without a key reads an unconditional entry's rows."""
    companies = served.city.companies
    assert companies is not None
    result = anonymous.action.datastore_search(resource_id=f"{companies.id}-csv", limit=5)
    assert result["total"] == len(served.city.company_rows)
    assert len(result["records"]) == 5
