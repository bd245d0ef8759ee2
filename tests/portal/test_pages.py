"""The public portal's pages over HTTP, anonymous: home, search (Chinese and pinyin, facets,
paging), agencies, themes, an entry's page (preview through the gate, masked; a conditional
entry shows no rows), the developers' guide."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.auth.actor import Actor
from gongshu.catalog.models import Level, Sensitivity
from gongshu.gate.rules import set_rule
from gongshu.masking import Technique
from gongshu.orgs.models import Agency
from gongshu.portal.naming import agency_slug, dataset_slug, theme_slug
from gongshu.search import SearchQuery, search_datasets
from tests.portal.city import EXTRA_ROUTES, OpenCity


def page(client: TestClient, url: str) -> str:
    answer = client.get(url)
    assert answer.status_code == 200, answer.text[:2000]
    return answer.text


def results(html: str) -> list[str]:
    """The titles of the listed entries, in order."""
    return re.findall(r'<h3><a href="/dataset/[^"]+">([^<]+)</a></h3>', html)


def test_home_for_anonymous_visitors(client: TestClient, open_city: OpenCity) -> None:
    html = page(client, "/")
    assert "<h1>" in html and html.count("<h1") == 1
    figures = re.findall(r'<div class="num">([\d,]+)</div>', html)
    # open entries, agencies, records (25 companies + 30 air + 1 permit)
    assert figures[:3] == [str(len(open_city.public)), "2", "56"]
    assert f'href="/theme/{theme_slug("交通")}"' in html
    assert "常住人口基本信息" not in html
    assert 'action="/dataset"' in html


def test_search_in_chinese_and_pinyin_public_only(client: TestClient, open_city: OpenCity) -> None:
    assert results(page(client, "/dataset?q=空气")) == ["空气质量监测数据"]
    assert results(page(client, "/dataset?q=kongqi")) == ["空气质量监测数据"]
    assert results(page(client, "/dataset?q=kqzl")) == ["空气质量监测数据"]
    # Published, but general_4 and not opened; a draft: never listed.
    for q in ("常住人口", "renkou", "企业年度报告"):
        assert results(page(client, f"/dataset?q={q}")) == []
    everything = page(client, "/dataset?per_page=100")
    assert f"共 {len(open_city.public)} 条" in everything
    assert "常住人口" not in everything


def test_search_facets_sort_and_paging(client: TestClient, open_city: OpenCity) -> None:
    html = page(client, "/dataset")
    for facet in ("domain", "agency_id", "update_cycle", "open_type"):
        assert f'data-facet="{facet}"' in html
    assert len(results(html)) == len(open_city.public)
    first = page(client, "/dataset?per_page=10&sort=title")
    assert len(results(first)) == 10 and "第 1 / 2 页" in first
    assert 'href="/dataset?sort=title&amp;per_page=10&amp;page=2"' in first
    second = results(page(client, "/dataset?per_page=10&sort=title&page=2"))
    assert len(second) == len(open_city.public) - 10
    assert not set(second) & set(results(first))
    traffic = results(page(client, "/dataset?domain=交通&sort=updated"))
    assert len(traffic) == EXTRA_ROUTES
    conditional = results(page(client, "/dataset?open_type=conditional"))
    assert conditional == ["排污许可证信息"]
    # A hand-made bad filter is dropped, not an error.
    assert client.get("/dataset?open_type=nonsense&q=kongqi").status_code == 200


def facet_counts(html: str, name: str) -> dict[str, int]:
    """The values and counts a facet section of the page lists."""
    section = html.split(f'data-facet="{name}"', 1)[1].split("</section>", 1)[0]
    found = re.findall(
        r'<a href="[^"]+"[^>]*>([^<]+)</a> <span class="count">(\d+)</span>', section
    )
    return {label: int(n) for label, n in found}


def test_format_and_tag_facets_show_and_filter(client: TestClient, open_city: OpenCity) -> None:
    html = page(client, "/dataset")
    assert facet_counts(html, "format") == {"数据库": len(open_city.public)}
    tags = facet_counts(html, "tag")
    assert tags["企业登记"] == 1  # the draft 企业年度报告信息 carries it too: not counted
    assert "人口" not in tags  # an entry the public may not see
    assert 'href="/dataset?tag=%E4%BC%81%E4%B8%9A%E7%99%BB%E8%AE%B0"' in html
    tagged = page(client, "/dataset?tag=企业登记")
    assert results(tagged) == ["企业登记基本信息"]
    assert "facet-clear" in tagged.split('data-facet="tag"', 1)[1].split("</section>", 1)[0]
    assert results(page(client, "/dataset?format=database&q=gongjiao")) == results(
        page(client, "/dataset?q=gongjiao")
    )
    assert results(page(client, "/dataset?format=api")) == []
    theme = page(client, f"/theme/{theme_slug('生态环境')}")
    assert facet_counts(theme, "tag") == {"排污许可": 1, "实时数据": 1, "空气质量": 1}


def test_public_search_needs_no_login_and_keeps_the_catalog_rule(
    db: Session, open_city: OpenCity
) -> None:
    found = search_datasets(db, None, SearchQuery(q="人口"), public=True)
    assert found.total == 0
    bureau = Actor.system("pytest")
    assert search_datasets(db, bureau, SearchQuery(q="常住人口")).total == 1


def test_agencies_and_themes(client: TestClient, db: Session, open_city: OpenCity) -> None:
    html = page(client, "/organization")
    market = db.get(Agency, open_city.market)
    assert market is not None
    assert f'href="/organization/{agency_slug(market)}"' in html
    agency_page = page(client, f"/organization/{agency_slug(market)}?q=qiye")
    assert results(agency_page) == ["企业登记基本信息"]
    assert "<h1>临沂市市场监督管理局</h1>" in agency_page
    theme = page(client, f"/theme/{theme_slug('生态环境')}")
    assert set(results(theme)) == {"空气质量监测数据", "排污许可证信息"}
    assert client.get("/theme/no-such-theme").status_code == 404
    assert client.get("/organization/91370000000000000x").status_code == 404


def mask_credit_codes(db: Session) -> None:
    """The security admin masks credit codes at level 1 (masked for every masked reader,
    the public included; by default level 1 is read in the clear)."""
    set_rule(db, Actor.system("pytest"), Level.GENERAL_1, Sensitivity.CREDIT_CODE, Technique.HASH)


def test_dataset_page_preview_is_masked_and_audited(
    client: TestClient, db: Session, open_city: OpenCity
) -> None:
    companies = open_city.companies
    assert companies is not None
    mask_credit_codes(db)
    html = page(client, f"/dataset/{dataset_slug(companies.code)}")
    assert "<h1>企业登记基本信息</h1>" in html
    for text in ("统一社会信用代码", "市场主体的统一社会信用代码", "临沂市市场监督管理局", "每日"):
        assert text in html
    preview = html.split('class="data preview-table"')[1].split("</table>")[0]
    assert preview.count("<tr>") == 11  # header and 10 rows
    # credit codes are masked for the public: the clear values never reach the page
    for row in open_city.company_rows[:10]:
        assert row["credit_code"] not in html
    assert "已脱敏" in preview
    assert "<svg" in html  # a chart of a numeric column
    assert f"resource_id={companies.id}-csv" in html
    assert f"/dataset/{dataset_slug(companies.code)}/download.csv" in html
    assert "引用方式" in html and companies.code in html.split("portal-citation")[1]
    reads = db.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "data.read", AuditEntry.object_id == str(companies.id)
        )
    ).all()
    assert reads and reads[-1].actor_id == 0


def test_conditional_entry_shows_no_rows(client: TestClient, open_city: OpenCity) -> None:
    permits = open_city.permits
    assert permits is not None
    html = page(client, f"/dataset/{dataset_slug(permits.code)}")
    assert "91371300PW0001" not in html
    assert "preview-table" not in html
    assert f'href="/dataset/{dataset_slug(permits.code)}/apply"' in html
    assert "申请使用" in html
    assert client.get(f"/dataset/{dataset_slug(permits.code)}/download.csv").status_code == 403


def test_hidden_entries_are_not_found(client: TestClient, open_city: OpenCity) -> None:
    for hidden in (open_city.people, open_city.draft):
        assert hidden is not None
        assert client.get(f"/dataset/{dataset_slug(hidden.code)}").status_code == 404
        assert client.get(f"/dataset/{dataset_slug(hidden.code)}/download.csv").status_code == 404


def test_developers_page(client: TestClient, open_city: OpenCity) -> None:
    html = page(client, "/developers")
    assert "/api/3/action/package_search" in html and "datapackage.json" in html


def test_signed_in_readers_read_as_themselves(client: TestClient, open_city: OpenCity) -> None:
    """The provider of the conditional entry reads its rows on the portal page (the gate's
    provider step); staff keep their 工作台 on ``/``."""
    permits = open_city.permits
    assert permits is not None
    provider = {"X-API-Key": open_city.other_key}  # the ecology bureau's officer
    html = client.get(f"/dataset/{dataset_slug(permits.code)}", headers=provider).text
    assert "91371300PW0001" in html and "preview-table" in html
    assert "申请使用" not in html
    download = client.get(f"/dataset/{dataset_slug(permits.code)}/download.csv", headers=provider)
    assert download.status_code == 200 and b"91371300PW0001" in download.content
    home = client.get("/", headers=provider).text
    assert "portal-hero" not in home
