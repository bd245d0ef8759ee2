"""Atom feeds: well-formed, with ids, dates and links, and only public entries."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.orgs.models import Agency
from gongshu.portal.naming import agency_slug, dataset_slug, theme_slug
from gongshu.store.storage import get_storage
from tests.portal.city import OpenCity, write_rows

A = "{http://www.w3.org/2005/Atom}"
HIDDEN = ("常住人口基本信息", "企业年度报告信息")


def _feed(client: TestClient, path: str) -> ET.Element:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{A}feed"
    for name in ("id", "title", "updated"):
        assert (root.findtext(f"{A}{name}") or "").strip(), name
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{A}link")}
    assert links["self"] and links["self"].endswith(path)
    assert root.find(f"{A}author/{A}name") is not None
    ids = [e.findtext(f"{A}id") or "" for e in root.findall(f"{A}entry")]
    assert len(ids) == len(set(ids)) and all(i.startswith("urn:uuid:") for i in ids)
    for entry in root.findall(f"{A}entry"):
        assert entry.findtext(f"{A}updated") and entry.findtext(f"{A}title")
        assert entry.find(f"{A}link[@rel='alternate']") is not None
    return root


def _titles(root: ET.Element) -> str:
    return " ".join(e.findtext(f"{A}title") or "" for e in root.findall(f"{A}entry"))


def test_feeds_show_public_entries_only(
    client: TestClient, db: Session, open_city: OpenCity
) -> None:
    latest = _feed(client, "/feeds/latest.atom")
    text = _titles(latest)
    assert "空气质量监测数据" in text and "辐射环境监测点位" in text
    for title in HIDDEN:
        assert title not in text

    agency = db.get(Agency, open_city.ecology)
    assert agency is not None
    org = _titles(_feed(client, f"/feeds/organization/{agency_slug(agency)}.atom"))
    assert "排污许可证信息" in org and "企业登记基本信息" not in org

    theme = _titles(_feed(client, f"/feeds/theme/{theme_slug('生态环境')}.atom"))
    assert "空气质量监测数据" in theme and "公交线路" not in theme
    assert client.get(f"/feeds/theme/{theme_slug('人口')}.atom").status_code == 404
    assert open_city.people is not None and open_city.draft is not None
    for hidden in (open_city.people, open_city.draft):
        assert client.get(f"/feeds/dataset/{dataset_slug(hidden.code)}.atom").status_code == 404


def test_dataset_feed_lists_its_versions(
    client: TestClient, db: Session, open_city: OpenCity
) -> None:
    companies = open_city.companies
    assert companies is not None
    path = f"/feeds/dataset/{dataset_slug(companies.code)}.atom"
    assert len(_feed(client, path).findall(f"{A}entry")) == 1
    write_rows(db, Actor.system("pytest"), get_storage(), companies, open_city.company_rows[:3])
    root = _feed(client, path)
    entries = root.findall(f"{A}entry")
    assert len(entries) == 2
    assert "（第 2 版）" in (entries[0].findtext(f"{A}title") or "")
    assert root.findtext(f"{A}updated") == entries[0].findtext(f"{A}updated")
