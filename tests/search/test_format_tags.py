"""The format and tag facets: counted over the matches the reader may see, and filtering."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu.catalog.models import Dataset, ResourceFormat
from gongshu.search import SearchQuery, SearchResult, search_datasets
from gongshu.search.models import SearchTag
from tests.factories import Person, api_headers, login

Search = Callable[..., SearchResult]


def _facet(result: SearchResult, name: str) -> dict[str, int]:
    return {f.value: f.count for f in result.facets[name]}


def _tag(db: Session, corpus: dict[str, Dataset], tags: dict[str, list[str]]) -> None:
    for title, values in tags.items():
        corpus[title].tags = values
    corpus["地表水水质监测数据"].format = ResourceFormat.API
    corpus["北京市空气质量监测数据"].format = ResourceFormat.SPREADSHEET
    db.commit()


TAGS = {
    "北京市空气质量监测数据": ["环境", "空气", " 环境 "],
    "地表水水质监测数据": ["环境", "水"],
    "排污许可信息": ["环境"],
    "公共建筑空调能耗监测数据": ["能源"],
    "空气污染源清单": ["环境", "草稿专用"],  # a draft of another agency
}


def test_format_counts_and_filters(db: Session, corpus: dict[str, Dataset], search: Search) -> None:
    _tag(db, corpus, TAGS)
    result = search("监测")
    assert _facet(result, "format") == {"spreadsheet": 1, "database": 1, "api": 1}
    # Enum facets keep the cataloguing guide's order, with their labels.
    assert [f.label for f in result.facets["format"]] == ["电子表格", "数据库", "服务接口"]
    narrowed = search("监测", format="api")
    assert [d.title for d in narrowed.items] == ["地表水水质监测数据"]
    assert _facet(narrowed, "format") == {"api": 1}
    assert search("", format="database").total == 10  # the two drafts too, for the platform
    assert search("", format="image").total == 0


def test_tags_count_filter_and_follow_edits(
    db: Session, corpus: dict[str, Dataset], search: Search
) -> None:
    _tag(db, corpus, TAGS)
    everything = search("")
    # Most common first, ties in code point order (the same on both databases).
    assert [(f.value, f.count) for f in everything.facets["tag"]] == [
        ("环境", 4),
        ("水", 1),
        ("空气", 1),
        ("能源", 1),
        ("草稿专用", 1),
    ]
    # With words, only the matches' tags; "环境" once per entry although listed twice.
    assert _facet(search("监测"), "tag") == {"环境": 2, "空气": 1, "水": 1, "能源": 1}
    water = search("", tag="水")
    assert [d.title for d in water.items] == ["地表水水质监测数据"]
    assert _facet(water, "tag") == {"环境": 1, "水": 1}
    assert _facet(water, "format") == {"api": 1}
    assert search("监测", tag="环境", format="spreadsheet").total == 1
    assert search("公交", tag="环境").total == 0
    assert search("", tag="无此标签").total == 0
    # A rare word (few matches fetched at once) counts the same way.
    assert _facet(search("shuizhi"), "tag") == {"环境": 1, "水": 1}
    corpus["排污许可信息"].tags = ["许可"]
    db.commit()
    assert search("", tag="环境").total == 3
    assert search("", tag="许可").total == 1
    db.delete(corpus["排污许可信息"])
    db.commit()
    left = select(func.count()).select_from(SearchTag).where(SearchTag.tag == "许可")
    assert db.scalar(left) == 0
    assert not search("", with_facets=False).facets["tag"]


def test_public_never_counts_a_hidden_entrys_tags(db: Session, corpus: dict[str, Dataset]) -> None:
    _tag(db, corpus, TAGS)

    def public(**kw: object) -> SearchResult:
        return search_datasets(db, None, SearchQuery.model_validate(kw), public=True)

    counts = _facet(public(), "tag")
    assert "草稿专用" not in counts
    assert counts["环境"] == 3  # not the draft's
    assert public(tag="草稿专用").total == 0
    assert _facet(public(q="污染"), "tag") == {"环境": 1}


def test_staff_list_api_and_export_offer_format_and_tags(
    client: TestClient, db: Session, corpus: dict[str, Dataset], officer: Person
) -> None:
    _tag(db, corpus, TAGS)
    login(client, officer)
    page = client.get("/catalog?tag=环境")
    assert page.status_code == 200
    assert 'data-facet="format"' in page.text and 'data-facet="tag"' in page.text
    assert "地表水水质监测数据" in page.text and "公交线路及站点信息" not in page.text
    # The export link carries the filters, the format one renamed (format names the file's).
    assert "resource_format=api" in client.get("/catalog?format=api").text
    exported = client.get("/catalog/export?format=csv&tag=环境&resource_format=api")
    assert exported.status_code == 200
    text = exported.content.decode("utf-8-sig")
    assert "地表水水质监测数据" in text and "排污许可信息" not in text
    answer = client.get(
        "/api/v1/datasets", params={"tag": "环境"}, headers=api_headers(client, officer)
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["total"] == 3  # the other agency's draft is not the officer's to see
    assert {f["value"]: f["count"] for f in body["facets"]["tag"]}["环境"] == 3
    assert {f["value"] for f in body["facets"]["format"]} == {"spreadsheet", "database", "api"}
