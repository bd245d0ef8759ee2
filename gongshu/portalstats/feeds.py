"""Atom feeds (RFC 4287) of the public catalog: what is new, per entry, agency and domain.

An item of a feed is an *update*: a version of a public entry's rows being published (its
Atom id is a name-based UUID of the city, the entry's code and the version number, so it never
changes),
or, for an entry with no rows yet, the entry's publication. Only public entries appear
(:func:`gongshu.portal.openness.public_clause`); links are absolute, from the platform's
public address (``GONGSHU_BASE_URL``).

Written with the standard library's ElementTree: the format is small, and a feed library
would add a C dependency without typing for it.
"""

from __future__ import annotations

import datetime as dt
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, selectinload

from gongshu.catalog.duty_lists import SEP
from gongshu.catalog.models import Dataset
from gongshu.db import utcnow
from gongshu.errors import NotFound
from gongshu.i18n import N_, translate
from gongshu.labels import label
from gongshu.orgs.models import Agency
from gongshu.portal.naming import (
    agency_slug,
    agency_url,
    base_url,
    dataset_url,
    find_public,
    theme_slug,
    theme_url,
)
from gongshu.portal.openness import public_clause
from gongshu.settings import get_settings
from gongshu.store.models import DatasetHead, DatasetVersion

__all__ = [
    "ATOM_NS",
    "MEDIA_TYPE",
    "FeedItem",
    "agency_feed",
    "dataset_feed",
    "latest_feed",
    "theme_feed",
]

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml; charset=utf-8"
LIMIT = 50

M_NOT_FOUND = N_("订阅源不存在")
M_LATEST = N_("最新开放数据")
M_DATASET = N_("“{title}”的更新")
M_AGENCY = N_("{name}开放的数据")
M_THEME = N_("“{domain}”领域的开放数据")
M_NEW_VERSION = N_("{title}（第 {version} 版）")
M_NEW_ENTRY = N_("新开放：{title}")
M_VERSION_SUMMARY = N_("第 {version} 版，共 {rows} 条记录，更新周期：{cycle}。")
M_CHANGES = N_("新增 {added} 条，删除 {removed} 条，修改 {changed} 条。")
M_ENTRY_SUMMARY = N_("{agency}开放了“{title}”，开放属性：{open_type}，更新周期：{cycle}。")

ET.register_namespace("", ATOM_NS)


@dataclass(frozen=True)
class FeedItem:
    """One update: a version of an entry's rows (``version`` set) or the entry itself."""

    dataset: Dataset
    version: DatasetVersion | None
    updated: dt.datetime


def _id(path: str) -> str:
    """A stable Atom id: a name-based UUID of the city and the thing's path. Unlike a URL or
    a tag URI it stays valid and the same whatever address (or bare IP) serves the portal."""
    city = get_settings().city_name
    return uuid.uuid5(uuid.NAMESPACE_URL, f"gongshu:{city}:{path}").urn


def _published(dataset: Dataset) -> dt.datetime:
    return dataset.reviewed_at or dataset.updated_at or dataset.created_at


def _items(session: Session, where: ColumnElement[bool], limit: int = LIMIT) -> list[FeedItem]:
    versions = session.execute(
        select(DatasetVersion, Dataset)
        .join(Dataset, Dataset.id == DatasetVersion.dataset_id)
        .where(public_clause(), where)
        .options(selectinload(Dataset.agency))
        .order_by(DatasetVersion.published_at.desc(), DatasetVersion.id.desc())
        .limit(limit)
    ).all()
    bare = session.scalars(
        select(Dataset)
        .outerjoin(DatasetHead, DatasetHead.dataset_id == Dataset.id)
        .where(public_clause(), where, DatasetHead.dataset_id.is_(None))
        .options(selectinload(Dataset.agency))
        .order_by(Dataset.updated_at.desc(), Dataset.id.desc())
        .limit(limit)
    ).all()
    items = [FeedItem(ds, v, v.published_at) for v, ds in versions]
    items.extend(FeedItem(ds, None, _published(ds)) for ds in bare)
    items.sort(key=lambda i: i.updated, reverse=True)
    return items[:limit]


def _iso(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _sub(parent: ET.Element, name: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM_NS}}}{name}", attrs)
    if text is not None:
        element.text = text
    return element


def _entry(feed: ET.Element, item: FeedItem) -> None:
    ds, version = item.dataset, item.version
    entry = _sub(feed, "entry")
    cycle = label(ds.update_cycle)
    if version is not None:
        _sub(entry, "id", _id(f"dataset/{ds.code}/v{version.number}"))
        _sub(entry, "title", translate(M_NEW_VERSION, title=ds.title, version=version.number))
        summary = translate(
            M_VERSION_SUMMARY, version=version.number, rows=f"{version.row_count:,}", cycle=cycle
        )
        if version.added is not None:
            summary += translate(
                M_CHANGES,
                added=version.added,
                removed=version.removed or 0,
                changed=version.changed or 0,
            )
    else:
        _sub(entry, "id", _id(f"dataset/{ds.code}"))
        _sub(entry, "title", translate(M_NEW_ENTRY, title=ds.title))
        summary = translate(
            M_ENTRY_SUMMARY,
            agency=ds.agency.name,
            title=ds.title,
            open_type=label(ds.open_type),
            cycle=cycle,
        )
    _sub(entry, "updated", _iso(item.updated))
    _sub(entry, "published", _iso(item.updated))
    _sub(entry, "link", rel="alternate", type="text/html", href=dataset_url(ds))
    author = _sub(entry, "author")
    _sub(author, "name", ds.agency.name)
    _sub(author, "uri", agency_url(ds.agency))
    if ds.domain:
        _sub(entry, "category", term=theme_slug(ds.domain), label=ds.domain)
    _sub(entry, "summary", summary, type="text")


def render(
    *, title: str, self_path: str, alternate: str, id_path: str, items: Sequence[FeedItem]
) -> bytes:
    """A whole feed document (UTF-8 bytes with the XML declaration)."""
    settings = get_settings()
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    feed.set("{http://www.w3.org/XML/1998/namespace}lang", "zh-CN")
    _sub(feed, "id", _id(id_path))
    _sub(feed, "title", title)
    updated = items[0].updated if items else utcnow()
    _sub(feed, "updated", _iso(updated))
    _sub(feed, "link", rel="self", type="application/atom+xml", href=base_url() + self_path)
    _sub(feed, "link", rel="alternate", type="text/html", href=alternate)
    author = _sub(feed, "author")
    _sub(author, "name", translate(settings.city_name) + translate(settings.platform_name))
    _sub(author, "uri", base_url() + "/")
    _sub(feed, "generator", "Gongshu", uri=base_url() + "/")
    for item in items:
        _entry(feed, item)
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body


def latest_feed(session: Session) -> bytes:
    """The newest updates of every public entry."""
    items = _items(session, public_clause())
    return render(
        title=translate(M_LATEST),
        self_path="/feeds/latest.atom",
        alternate=base_url() + "/dataset",
        id_path="feeds/latest",
        items=items,
    )


def dataset_feed(session: Session, slug: str) -> bytes:
    """The versions of one public entry (its slug, code or id)."""
    dataset = find_public(session, slug)
    if dataset is None:
        raise NotFound(M_NOT_FOUND)
    items = _items(session, Dataset.id == dataset.id)
    return render(
        title=translate(M_DATASET, title=dataset.title),
        self_path=f"/feeds/dataset/{slug}.atom",
        alternate=dataset_url(dataset),
        id_path=f"feeds/dataset/{dataset.code}",
        items=items,
    )


def find_agency(session: Session, ref: str) -> Agency | None:
    """The agency a portal name stands for: its slug (the credit code, any case) or its id."""
    ref = ref.strip()
    if ref.isdigit():
        return session.get(Agency, int(ref)) if 0 < int(ref) < 2**31 else None
    agency = session.scalars(
        select(Agency).where(Agency.credit_code == ref.upper()[:18])
    ).one_or_none()
    if agency is None or agency_slug(agency) != ref.lower():
        return None
    return agency


def agency_feed(session: Session, slug: str) -> bytes:
    """The updates of one agency's public entries."""
    agency = find_agency(session, slug)
    if agency is None:
        raise NotFound(M_NOT_FOUND)
    items = _items(session, Dataset.agency_id == agency.id)
    return render(
        title=translate(M_AGENCY, name=agency.name),
        self_path=f"/feeds/organization/{agency_slug(agency)}.atom",
        alternate=agency_url(agency),
        id_path=f"feeds/organization/{agency.credit_code}",
        items=items,
    )


def domains_of(session: Session, slug: str) -> list[str]:
    """The domains of public entries a theme slug stands for (two may read alike)."""
    domains = session.scalars(
        select(Dataset.domain).where(public_clause(), Dataset.domain != "").distinct()
    ).all()
    return sorted(d for d in domains if theme_slug(d) == slug)


def theme_feed(session: Session, slug: str) -> bytes:
    """The updates of the public entries of one domain (所属领域)."""
    domains = domains_of(session, slug)
    if not domains:
        raise NotFound(M_NOT_FOUND)
    items = _items(session, Dataset.domain.in_(domains))
    return render(
        title=translate(M_THEME, domain=translate(SEP).join(domains)),
        self_path=f"/feeds/theme/{slug}.atom",
        alternate=theme_url(domains[0]),
        id_path=f"feeds/theme/{slug}",
        items=items,
    )
