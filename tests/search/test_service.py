"""Visibility and facets, index freshness, overrides, hostile input, API, page and CLI."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gongshu.audit.models import AuditEntry
from gongshu.catalog import service as catalog_service
from gongshu.catalog.models import Dataset
from gongshu.catalog.schemas import DatasetUpdate, FieldIn
from gongshu.errors import NotAuthenticated, NotFound, PermissionDenied, ValidationFailed
from gongshu.orgs import service as orgs_service
from gongshu.orgs.models import Agency
from gongshu.orgs.schemas import AgencyUpdate
from gongshu.search import SearchResult, service
from gongshu.search.models import SearchDoc, SearchToken
from gongshu.search.schemas import PinyinOverrideIn
from tests.factories import Person, api_headers, csrf_of, login
from tests.search.conftest import SYSTEM

Search = Callable[..., SearchResult]


def _titles(result: SearchResult) -> list[str]:
    return [d.title for d in result.items]


def _facet(result: SearchResult, name: str) -> dict[str, int]:
    return {f.value: f.count for f in result.facets[name]}


# --- visibility ---------------------------------------------------------------------------


def test_drafts_of_others_never_appear_nor_count(
    corpus: dict[str, Dataset], search: Search, officer: Person, other_officer: Person
) -> None:
    mine = search("空气", actor=officer.actor, per_page=100)
    assert _titles(mine) == ["北京市空气质量监测数据"]  # 空气污染源清单 is their draft
    assert mine.total == 1
    assert _facet(mine, "state") == {"published": 1}
    assert sum(_facet(mine, "agency_id").values()) == 1
    theirs = search("空气", actor=other_officer.actor)
    assert _titles(theirs) == ["北京市空气质量监测数据", "空气污染源清单"]
    assert _facet(theirs, "state") == {"draft": 1, "published": 1}
    everything = search("", actor=officer.actor, per_page=100)
    assert "空气污染源清单" not in _titles(everything)
    assert "行政处罚信息" in _titles(everything)  # our own draft
    assert sum(_facet(everything, "state").values()) == everything.total == 11


def test_reviewers_see_drafts_consumers_see_published(
    corpus: dict[str, Dataset], search: Search, bureau_admin: Person, consumer: Person
) -> None:
    assert search("空气", actor=bureau_admin.actor).total == 2
    assert search("", actor=consumer.actor).total == 10
    with pytest.raises(NotAuthenticated):
        search("空气", actor=None)


def test_facets_count_the_matching_set_and_filter(
    corpus: dict[str, Dataset], search: Search, agency: Agency, other_agency: Agency
) -> None:
    result = search("监测")
    assert _facet(result, "agency_id") == {str(other_agency.id): 2, str(agency.id): 1}
    labels = {f.value: f.label for f in result.facets["agency_id"]}
    assert labels[str(agency.id)] == "临沂市市场监督管理局"
    assert [f.label for f in result.facets["state"]] == ["已发布"]
    assert set(result.facets) == {
        "agency_id",
        "region_id",
        "domain",
        "category_class",
        "share_type",
        "open_type",
        "level",
        "update_cycle",
        "state",
        "format",
        "tag",
    }
    narrowed = search("监测", agency_id=agency.id)
    assert _titles(narrowed) == ["公共建筑空调能耗监测数据"]
    assert _facet(narrowed, "agency_id") == {str(agency.id): 1}
    assert search("监测", agency_id=10**20).total == 0
    assert search("", state="draft").total == 2


# --- freshness ----------------------------------------------------------------------------


def test_index_follows_create_edit_and_agency_rename(
    db: Session,
    search: Search,
    make_dataset: Callable[..., Dataset],
    officer: Person,
    system_admin: Person,
    agency: Agency,
) -> None:
    ds = make_dataset(title="公交线路信息")
    assert _titles(search("gongjiao")) == ["公交线路信息"]
    catalog_service.update_dataset(
        db,
        officer.actor,
        ds.id,
        DatasetUpdate(
            lock_version=ds.lock_version,
            title="地铁线路信息",
            fields=[FieldIn(name="line", label="换乘站点", is_key=True, required=True)],
        ),
    )
    assert search("gongjiao").total == 0
    assert _titles(search("ditie")) == ["地铁线路信息"]
    assert _titles(search("换乘")) == ["地铁线路信息"]
    assert search("企业名称").total == 0  # the old field is gone from the index
    assert search("shichang jiandu").total == 1  # the agency name, in pinyin
    orgs_service.update_agency(db, SYSTEM, agency.id, AgencyUpdate(name="费县交通运输局"))
    assert _titles(search("bixian jiaotong")) == ["地铁线路信息"]
    assert search("市场监督").total == 0


def test_a_transaction_searches_its_own_unflushed_changes_and_a_rollback_leaves_none(
    db: Session, search: Search, make_dataset: Callable[..., Dataset]
) -> None:
    ds = make_dataset(title="公交线路信息")
    nested = db.begin_nested()
    ds.title = "地铁线路信息"  # not flushed, not indexed yet: the search syncs first
    assert _titles(search("ditie")) == ["地铁线路信息"]
    nested.rollback()
    assert _titles(search("gongjiao")) == ["公交线路信息"]
    assert search("ditie").total == 0


def test_every_reader_of_the_index_syncs_first() -> None:
    """A module that reads the index tables must call ``indexer.sync`` (or read through one
    that does), or its transaction's own changes would be missing from what it reads."""
    import pathlib

    root = pathlib.Path(service.__file__).resolve().parents[1]
    exempt = {"search/indexer.py", "search/models.py", "models.py"}
    for path in root.rglob("*.py"):
        name = path.relative_to(root).as_posix()
        if name in exempt or name.startswith("migrations/"):
            continue
        text = path.read_text(encoding="utf-8")
        if any(t in text for t in ("SearchDoc", "SearchToken", "SearchTag", "SearchFacet")):
            assert "indexer.sync(session)" in text, f"{name} reads the index without syncing"


def test_deleted_entries_leave_the_index(db: Session, make_dataset: Callable[..., Dataset]) -> None:
    ds = make_dataset(title="公交线路信息")
    db.delete(ds)
    db.commit()
    assert db.scalar(select(func.count()).select_from(SearchToken)) == 0
    assert db.scalar(select(func.count()).select_from(SearchDoc)) == 0


def test_reindex_rebuilds_and_status_notices_an_empty_index(
    db: Session, corpus: dict[str, Dataset], search: Search
) -> None:
    assert service.index_status(db) == (12, 12)
    db.execute(SearchDoc.__table__.delete())
    db.execute(SearchToken.__table__.delete())
    assert service.index_is_stale(db)
    assert search("空气").total == 0
    assert service.reindex(db) == 12
    assert not service.index_is_stale(db)
    assert search("空气").total == 2


# --- overrides ----------------------------------------------------------------------------


def test_overrides_take_effect_after_change(
    db: Session, corpus: dict[str, Dataset], search: Search, bureau_admin: Person
) -> None:
    assert search("bixian").total == 1 and search("feixian").total == 0
    reindexed, job = service.delete_override(db, bureau_admin.actor, "费县")
    assert reindexed >= 1 and job is None
    assert search("bixian").total == 0 and search("feixian").total == 1
    service.set_override(db, bureau_admin.actor, PinyinOverrideIn(phrase="费县", pinyin="Bì  Xian"))
    assert search("bixian").total == 1 and search("feixian").total == 0
    assert [
        o.pinyin for o in service.list_overrides(db, bureau_admin.actor) if o.phrase == "费县"
    ] == ["bi xian"]
    actions = db.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.object_type == "pinyin_override")
        .order_by(AuditEntry.id)
    ).all()
    assert actions == ["search.override_delete", "search.override_set"]


def test_overrides_are_checked_and_admin_only(
    db: Session, officer: Person, district_admin: Person, system_admin: Person
) -> None:
    for phrase, pinyin in (("费县", "bi"), ("费县", "bi xxx"), ("fx", "bi xian"), ("费县", "1 2")):
        with pytest.raises(ValidationFailed):
            service.set_override(
                db, system_admin.actor, PinyinOverrideIn(phrase=phrase, pinyin=pinyin)
            )
    for person in (officer, district_admin):
        with pytest.raises(PermissionDenied):
            service.list_overrides(db, person.actor)
    with pytest.raises(NotFound):
        service.delete_override(db, system_admin.actor, "没有")


# --- hostile input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "q",
    [
        "'",
        "' OR 1=1 --",
        '"; DROP TABLE search_token; --',
        "%",
        "_",
        "%_%",
        "\\",
        "\\'",
        "空气%",
        "kong_qi",
        "a" * 100,
        "空" * 100,
        "kq " * 33,
        "\x00",
    ],
)
def test_hostile_queries_are_harmless(
    corpus: dict[str, Dataset], search: Search, db: Session, q: str
) -> None:
    result = search(q)
    assert result.total <= 2
    assert db.scalar(select(func.count()).select_from(SearchToken)) > 0
    assert "空气" in _titles(search("空气")) or search("空气").total == 2


# --- channels -----------------------------------------------------------------------------


def test_api_search_keeps_its_shape_and_adds_facets(
    client: TestClient, corpus: dict[str, Dataset], officer: Person
) -> None:
    headers = api_headers(client, officer)
    body = client.get("/api/v1/datasets", params={"q": "kongqi"}, headers=headers).json()
    assert {"items", "total", "page", "per_page", "facets", "sort", "pages"} <= set(body)
    assert [d["title"] for d in body["items"]] == ["北京市空气质量监测数据"]
    assert body["facets"]["state"] == [{"value": "published", "label": "已发布", "count": 1}]
    plain = client.get("/api/v1/datasets?per_page=3&sort=title", headers=headers).json()
    assert plain["total"] == 11 and len(plain["items"]) == 3 and plain["sort"] == "title"
    assert client.get("/api/v1/datasets?sort=bogus", headers=headers).status_code == 422
    assert client.get("/api/v1/datasets?q=" + "x" * 101, headers=headers).status_code == 422
    assert client.get("/api/v1/datasets").status_code == 401


def test_api_overrides(client: TestClient, bureau_admin: Person, officer: Person) -> None:
    headers = api_headers(client, bureau_admin)
    listed = client.get("/api/v1/search/pinyin-overrides", headers=headers).json()
    assert {"phrase": "单县", "pinyin": "shan xian"}.items() <= listed[
        [o["phrase"] for o in listed].index("单县")
    ].items()
    put = client.put(
        "/api/v1/search/pinyin-overrides",
        json={"phrase": "莒南", "pinyin": "ju nan"},
        headers=headers,
    )
    assert put.status_code == 200 and put.json()["override"]["pinyin"] == "ju nan"
    bad = client.put(
        "/api/v1/search/pinyin-overrides", json={"phrase": "莒南", "pinyin": "ju"}, headers=headers
    )
    assert bad.status_code == 422
    assert client.delete("/api/v1/search/pinyin-overrides/莒南", headers=headers).status_code == 200
    assert client.delete("/api/v1/search/pinyin-overrides/莒南", headers=headers).status_code == 404
    assert client.get("/api/v1/search/status", headers=headers).json()["stale"] is False
    officer_headers = api_headers(client, officer)
    assert client.get("/api/v1/search/pinyin-overrides", headers=officer_headers).status_code == 403


def test_list_page_searches_with_facets_and_pager(
    client: TestClient, corpus: dict[str, Dataset], officer: Person
) -> None:
    login(client, officer)
    page = client.get("/catalog?q=gongjiao")
    assert page.status_code == 200
    assert "公交线路及站点信息" in page.text and "北京市空气质量监测数据" not in page.text
    assert 'data-facet="agency_id"' in page.text and 'class="count"' in page.text
    assert 'name="sort"' in page.text
    sorted_page = client.get("/catalog?sort=title&per_page=2")
    assert sorted_page.status_code == 200
    assert client.get("/catalog?q=%27%22%3C%3E%25").status_code == 200
    assert client.get("/catalog?state=bogus&q=空气").status_code == 200


def test_pinyin_admin_page(client: TestClient, bureau_admin: Person, officer: Person) -> None:
    login(client, bureau_admin)
    page = client.get("/admin/pinyin")
    assert page.status_code == 200 and "费县" in page.text and "bi xian" in page.text
    token = csrf_of(client, "/admin/pinyin")
    bad = client.post("/admin/pinyin", data={"csrf_token": token, "phrase": "莒南", "pinyin": "x"})
    assert bad.status_code == 422
    ok = client.post(
        "/admin/pinyin",
        data={"csrf_token": token, "phrase": "莒南", "pinyin": "ju nan"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert "ju nan" in client.get("/admin/pinyin").text
    gone = client.post(
        "/admin/pinyin/delete", data={"csrf_token": token, "phrase": "莒南"}, follow_redirects=False
    )
    assert gone.status_code == 303
    client.cookies.clear()
    login(client, officer)
    assert client.get("/admin/pinyin").status_code == 403


def test_cli(scratch_settings: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from gongshu.cli import app
    from gongshu.settings import get_settings

    monkeypatch.setenv("GONGSHU_DATABASE_URL", scratch_settings.sqlalchemy_url)  # type: ignore[attr-defined]
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        listed = runner.invoke(app, ["search", "overrides", "list"])
        assert listed.exit_code == 0 and "费县\tbi xian" in listed.output
        assert runner.invoke(app, ["search", "overrides", "set", "莒南", "ju nan"]).exit_code == 0
        assert runner.invoke(app, ["search", "overrides", "set", "莒南", "ju"]).exit_code == 1
        assert runner.invoke(app, ["search", "overrides", "delete", "莒南"]).exit_code == 0
        assert runner.invoke(app, ["search", "reindex"]).exit_code == 0
        assert runner.invoke(app, ["search", "status"]).exit_code == 0
        assert runner.invoke(app, ["catalog", "list", "--q", "kongqi"]).exit_code == 0
    finally:
        get_settings.cache_clear()
