"""CKAN-compatible actions over the public catalog (docs/ckan-api.md).

Each action is a function ``(session, actor, params) -> result`` registered in ``ACTIONS``
under its CKAN name; ``run`` calls one and the web layer (``gongshu.portal.interop``) wraps
the result or the error in CKAN's envelope. Everything here sees only public entries
(``gongshu.portal.openness``); rows are read only by ``datastore_search``, through the gate.

How Gongshu maps onto CKAN 2.10's objects:

- a public catalog entry is a **package** (id: the entry id as text; name: its slug);
- its agency is the **organization** (name: the credit code in lower case);
- its domain (所属领域) is a **group** (name: the domain's pinyin);
- an unconditional entry with data has four **resources**, the data API's exports (CSV,
  XLSX, JSON, Parquet; id ``<entry id>-<format>``); the CSV one is ``datastore_active``
  when the live version has rows. A conditional entry lists no resource: its rows go to
  approved applicants only.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from gongshu import __version__
from gongshu.auth.actor import Actor
from gongshu.catalog.models import Dataset
from gongshu.errors import NotFound
from gongshu.i18n import N_, translate
from gongshu.labels import label
from gongshu.orgs.models import Agency
from gongshu.portal import naming
from gongshu.portal.ckan_schemas import Params, invalid
from gongshu.portal.openness import public_clause, public_entries_query, rows_are_open
from gongshu.search.tokens import title_sort_key
from gongshu.settings import get_settings
from gongshu.store.models import DatasetHead, DatasetVersion

#: The CKAN version whose API this one follows (clients read it from ``status_show``).
CKAN_VERSION = "2.10.0"
MAX_LIST = 1000

MSG_NO_ACTION = N_("没有名为“{name}”的接口")
MSG_NO_PACKAGE = N_("数据集不存在或未开放")
MSG_NO_ORGANIZATION = N_("机构不存在")
MSG_NO_GROUP = N_("主题不存在")
MSG_NO_RESOURCE = N_("资源不存在")
MSG_VOCABULARY = N_("不支持标签词表")
MSG_LIST_SORT = N_("排序只能按 name、title 或 package_count")

Action = Callable[[Session, Actor, Params], Any]
ACTIONS: dict[str, Action] = {}


def action(fn: Action) -> Action:
    """Register ``fn`` as the CKAN action of its name."""
    ACTIONS[fn.__name__] = fn
    return fn


class UnknownAction(NotFound):
    """No action of that name (CKAN answers 400 "Bad request - Action name not known")."""


def run(session: Session, actor: Actor, name: str, data: dict[str, Any]) -> Any:
    """The result of action ``name`` for ``data`` (CKAN's parameters)."""
    fn = ACTIONS.get(name)
    if fn is None:
        raise UnknownAction(MSG_NO_ACTION, name=name[:100])
    return fn(session, actor, Params(data))


# --- shapes ------------------------------------------------------------------------------------


def iso(moment: dt.datetime | None) -> str | None:
    """A timestamp as CKAN writes it: ISO 8601 in UTC without an offset."""
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.isoformat()


def license_fields() -> dict[str, Any]:
    settings = get_settings()
    return {
        "license_id": settings.open_license_id,
        "license_title": settings.open_license_title,
        "license_url": settings.open_license_url,
    }


def organization_dict(agency: Agency, package_count: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(agency.id),
        "name": naming.agency_slug(agency),
        "title": agency.name,
        "display_name": agency.name,
        "description": agency.description,
        "image_url": "",
        "image_display_url": "",
        "created": iso(agency.created_at),
        "is_organization": True,
        "approval_status": "approved",
        "state": "active",
        "type": "organization",
    }
    if package_count is not None:
        out["package_count"] = package_count
    return out


def group_dict(
    slug: str, domains: Sequence[str], package_count: int | None = None
) -> dict[str, Any]:
    title = " / ".join(domains)
    out: dict[str, Any] = {
        "id": slug,
        "name": slug,
        "title": title,
        "display_name": title,
        "description": "",
        "image_url": "",
        "image_display_url": "",
        "is_organization": False,
        "approval_status": "approved",
        "state": "active",
        "type": "group",
    }
    if package_count is not None:
        out["package_count"] = package_count
    return out


def tag_dict(name: str) -> dict[str, Any]:
    return {
        "id": name,
        "name": name,
        "display_name": name,
        "state": "active",
        "vocabulary_id": None,
    }


def resource_id(dataset: Dataset, fmt: str) -> str:
    return f"{dataset.id}-{fmt}"


def resource_dicts(dataset: Dataset, version: DatasetVersion | None) -> list[dict[str, Any]]:
    """The entry's downloads, when its rows are open and it has data."""
    if version is None or not rows_are_open(dataset):
        return []
    out = []
    for position, fmt in enumerate(naming.DOWNLOAD_FORMATS):
        out.append(
            {
                "id": resource_id(dataset, fmt),
                "package_id": str(dataset.id),
                "name": f"{dataset.title} ({fmt.upper()})",
                "description": "",
                "format": fmt.upper(),
                "mimetype": naming.MEDIA_TYPES[fmt],
                "url": naming.export_url(dataset, fmt),
                "url_type": None,
                "datastore_active": fmt == "csv" and version.row_count > 0,
                "created": iso(version.created_at),
                "last_modified": iso(version.published_at),
                "metadata_modified": iso(version.published_at),
                "position": position,
                "state": "active",
                "size": None,
                "hash": "",
            }
        )
    return out


def _extras(dataset: Dataset, version: DatasetVersion | None) -> list[dict[str, str]]:
    pairs: list[tuple[str, str]] = [
        ("code", dataset.code),
        ("update_cycle", dataset.update_cycle.value),
        ("update_cycle_label", label(dataset.update_cycle)),
        ("open_type", dataset.open_type.value),
        ("level", dataset.level.value),
        ("category_class", dataset.category_class.value),
        ("format", dataset.format.value),
        ("domain", dataset.domain),
        ("published_on", dataset.published_on.isoformat() if dataset.published_on else ""),
        ("datapackage_url", naming.datapackage_url(dataset)),
    ]
    if dataset.open_conditions:
        pairs.append(("open_conditions", dataset.open_conditions))
    if version is not None:
        pairs.append(("version", str(version.number)))
        pairs.append(("row_count", str(version.row_count)))
    return [{"key": k, "value": v} for k, v in pairs]


def package_dict(dataset: Dataset, version: DatasetVersion | None) -> dict[str, Any]:
    """A public entry as a CKAN 2.10 package dict."""
    resources = resource_dicts(dataset, version)
    tags = [str(t) for t in dataset.tags or [] if str(t).strip()]
    modified = dataset.updated_at
    if version is not None and version.published_at > modified:
        modified = version.published_at
    agency = dataset.agency
    groups = (
        [group_dict(naming.theme_slug(dataset.domain), [dataset.domain])] if dataset.domain else []
    )
    return {
        "id": str(dataset.id),
        "name": naming.dataset_slug(dataset.code),
        "title": dataset.title,
        "notes": dataset.description,
        "type": "dataset",
        "state": "active",
        "private": False,
        "isopen": rows_are_open(dataset),
        "url": naming.dataset_url(dataset),
        "version": str(version.number) if version is not None else None,
        "author": agency.name,
        "author_email": None,
        "maintainer": agency.name,
        "maintainer_email": None,
        "metadata_created": iso(dataset.created_at),
        "metadata_modified": iso(modified),
        "owner_org": str(agency.id),
        "organization": organization_dict(agency),
        **license_fields(),
        "tags": [tag_dict(t) for t in tags],
        "num_tags": len(tags),
        "groups": groups,
        "resources": resources,
        "num_resources": len(resources),
        "extras": _extras(dataset, version),
        "relationships_as_subject": [],
        "relationships_as_object": [],
    }


def live_versions(session: Session, ids: Iterable[int]) -> dict[int, DatasetVersion]:
    """The live version of each entry that has one."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    stmt = (
        select(DatasetVersion)
        .join(DatasetHead, DatasetHead.version_id == DatasetVersion.id)
        .where(DatasetHead.dataset_id.in_(wanted))
    )
    return {v.dataset_id: v for v in session.scalars(stmt)}


def package_dicts(session: Session, ids: Sequence[int]) -> list[dict[str, Any]]:
    """Package dicts of public entries, in the order of ``ids`` (two queries in all)."""
    if not ids:
        return []
    stmt = (
        public_entries_query()
        .where(Dataset.id.in_(list(ids)))
        .options(selectinload(Dataset.agency))
    )
    found = {d.id: d for d in session.scalars(stmt)}
    versions = live_versions(session, found)
    return [package_dict(found[i], versions.get(i)) for i in ids if i in found]


def _public_or_404(session: Session, ref: str) -> Dataset:
    dataset = naming.find_public(session, ref)
    if dataset is None:
        raise NotFound(MSG_NO_PACKAGE)
    return dataset


def find_resource(
    session: Session, ref: str, *, conditional: bool = False
) -> tuple[Dataset, DatasetVersion, str]:
    """The entry, live version and format a resource id names (404 unless it exists).

    Resources are listed for open rows only; ``conditional=True`` also finds the rows of a
    public entry opened on conditions, for ``datastore_search``, where the gate serves them
    to approved applicants and refuses everyone else."""
    entry, sep, fmt = ref.strip().rpartition("-")
    if not sep or fmt not in naming.DOWNLOAD_FORMATS or not entry.isdigit():
        raise NotFound(MSG_NO_RESOURCE)
    dataset = naming.find_public(session, entry)
    version = live_versions(session, [dataset.id]).get(dataset.id) if dataset else None
    if dataset is None or version is None or not (conditional or rows_are_open(dataset)):
        raise NotFound(MSG_NO_RESOURCE)
    return dataset, version, fmt


# --- packages -----------------------------------------------------------------------------------


@action
def package_show(session: Session, actor: Actor, params: Params) -> dict[str, Any]:
    """One public dataset by ``id`` (its id, name or resource code)."""
    dataset = _public_or_404(session, params.required("id", "name_or_id", "name"))
    version = live_versions(session, [dataset.id]).get(dataset.id)
    return package_dict(dataset, version)


@action
def package_list(session: Session, actor: Actor, params: Params) -> list[str]:
    """The names of the public datasets, by name (``limit``, ``offset``)."""
    limit = params.integer("limit", MAX_LIST * 100, minimum=0)
    offset = params.integer("offset", 0)
    stmt = select(Dataset.code).where(public_clause()).order_by(Dataset.code)
    names = sorted(naming.dataset_slug(c) for c in session.scalars(stmt))
    return names[offset : offset + limit]


@action
def resource_show(session: Session, actor: Actor, params: Params) -> dict[str, Any]:
    """One resource (a download of an open dataset) by ``id``."""
    dataset, version, fmt = find_resource(session, params.required("id"))
    return next(r for r in resource_dicts(dataset, version) if r["id"] == resource_id(dataset, fmt))


# --- organizations, groups and tags -------------------------------------------------------------


def _counts_by_agency(session: Session) -> dict[int, int]:
    stmt = (
        select(Dataset.agency_id, func.count()).where(public_clause()).group_by(Dataset.agency_id)
    )
    return {int(a): int(n) for a, n in session.execute(stmt)}


def _list_sort(params: Params) -> tuple[str, bool]:
    text = params.text("sort", "title asc").strip() or "title asc"
    parts = text.split()
    key = parts[0]
    desc = len(parts) > 1 and parts[1].lower() == "desc"
    if key not in ("name", "title", "package_count") or len(parts) > 2:
        raise invalid("sort", MSG_LIST_SORT)
    return key, desc


def _sorted(items: list[dict[str, Any]], key: str, desc: bool) -> list[dict[str, Any]]:
    def sort_key(d: dict[str, Any]) -> Any:
        if key == "title":
            return (title_sort_key(str(d["title"])), d["name"])
        if key == "package_count":
            return (d.get("package_count", 0), d["name"])
        return d["name"]

    return sorted(items, key=sort_key, reverse=desc)


def _page(params: Params, items: list[Any]) -> list[Any]:
    limit = params.integer("limit", MAX_LIST, minimum=0, maximum=MAX_LIST)
    offset = params.integer("offset", 0)
    return items[offset : offset + limit]


def _list_result(params: Params, items: list[dict[str, Any]], wanted_key: str) -> list[Any]:
    names = set(params.string_list(wanted_key))
    if names:
        items = [d for d in items if d["name"] in names]
    q = params.text("q").strip().lower()
    if q:
        items = [d for d in items if q in d["name"] or q in str(d["title"]).lower()]
    key, desc = _list_sort(params)
    page = _page(params, _sorted(items, key, desc))
    if params.boolean("all_fields", False):
        return page
    return [d["name"] for d in page]


@action
def organization_list(session: Session, actor: Actor, params: Params) -> list[Any]:
    """The agencies (active ones), as names or, with ``all_fields``, as dicts with
    ``package_count`` (their public datasets). ``sort``: name, title or package_count."""
    counts = _counts_by_agency(session)
    agencies = session.scalars(select(Agency).where(Agency.is_active.is_(True)))
    items = [organization_dict(a, counts.get(a.id, 0)) for a in agencies]
    return _list_result(params, items, "organizations")


def _find_agency(session: Session, ref: str) -> Agency:
    ref = ref.strip()
    stmt = select(Agency).where(Agency.is_active.is_(True))
    if ref.isdigit() and 0 < int(ref) < 2**63:
        agency = session.scalars(stmt.where(Agency.id == int(ref))).one_or_none()
    else:
        agency = session.scalars(stmt.where(Agency.credit_code == ref.upper())).one_or_none()
    if agency is None:
        raise NotFound(MSG_NO_ORGANIZATION)
    return agency


def _datasets_of(session: Session, condition: Any) -> list[dict[str, Any]]:
    ids = session.scalars(
        select(Dataset.id).where(public_clause(), condition).order_by(Dataset.code).limit(MAX_LIST)
    )
    return package_dicts(session, list(ids))


@action
def organization_show(session: Session, actor: Actor, params: Params) -> dict[str, Any]:
    """One agency by ``id`` (its id or name); ``include_datasets`` adds its public datasets."""
    agency = _find_agency(session, params.required("id"))
    count = _counts_by_agency(session).get(agency.id, 0)
    out = organization_dict(agency, count)
    out.update(users=[], extras=[], tags=[], groups=[])
    if params.boolean("include_datasets", False):
        out["packages"] = _datasets_of(session, Dataset.agency_id == agency.id)
    return out


def themes(session: Session) -> dict[str, tuple[list[str], int]]:
    """The themes of public entries: slug → (domains, public datasets)."""
    stmt = (
        select(Dataset.domain, func.count())
        .where(public_clause(), Dataset.domain != "")
        .group_by(Dataset.domain)
    )
    out: dict[str, tuple[list[str], int]] = {}
    for domain, n in session.execute(stmt):
        slug = naming.theme_slug(str(domain))
        domains, count = out.get(slug, ([], 0))
        out[slug] = (sorted([*domains, str(domain)]), count + int(n))
    return out


@action
def group_list(session: Session, actor: Actor, params: Params) -> list[Any]:
    """The themes (所属领域) of public datasets, as names or, with ``all_fields``, dicts."""
    items = [group_dict(s, d, n) for s, (d, n) in themes(session).items()]
    return _list_result(params, items, "groups")


@action
def group_show(session: Session, actor: Actor, params: Params) -> dict[str, Any]:
    """One theme by ``id`` (its name); ``include_datasets`` adds its public datasets."""
    slug = params.required("id").lower()
    found = themes(session).get(slug)
    if found is None:
        raise NotFound(MSG_NO_GROUP)
    domains, count = found
    out = group_dict(slug, domains, count)
    if params.boolean("include_datasets", False):
        out["packages"] = _datasets_of(session, Dataset.domain.in_(domains))
    return out


@action
def tag_list(session: Session, actor: Actor, params: Params) -> list[Any]:
    """The tags of public datasets (``query``: those containing it; ``all_fields``)."""
    if params.has("vocabulary_id"):
        raise invalid("vocabulary_id", MSG_VOCABULARY)
    counts: Counter[str] = Counter()
    for tags in session.scalars(select(Dataset.tags).where(public_clause())):
        counts.update({str(t) for t in tags or [] if str(t).strip()})
    query = params.text("query", params.text("q")).strip().lower()
    names = sorted(t for t in counts if query in t.lower())
    if params.boolean("all_fields", False):
        return [tag_dict(n) for n in names]
    return names


# --- the site -----------------------------------------------------------------------------------


@action
def status_show(session: Session, actor: Actor, params: Params) -> dict[str, Any]:
    """The site: title, address, the CKAN API version followed, languages."""
    settings = get_settings()
    return {
        "site_title": translate(settings.city_name) + translate(settings.platform_name),
        "site_description": translate(N_("公共数据开放")),
        "site_url": naming.base_url(),
        "ckan_version": CKAN_VERSION,
        "gongshu_version": __version__,
        "error_emails_to": None,
        "locale_default": "zh_Hans_CN",
        "extensions": ["datastore", "dcat", "gongshu"],
    }


@action
def site_read(session: Session, actor: Actor, params: Params) -> bool:
    """Whether the site may be read (always: the public catalog is open)."""
    return True


@action
def help_show(session: Session, actor: Actor, params: Params) -> str:
    """The description of the action ``name``."""
    name = params.required("name")
    fn = ACTIONS.get(name)
    if fn is None:
        raise UnknownAction(MSG_NO_ACTION, name=name[:100])
    return inspect.getdoc(fn) or ""


# The search and DataStore actions register themselves here on import.
from gongshu.portal import ckan_datastore, ckan_search  # noqa: E402, F401

__all__ = [
    "ACTIONS",
    "CKAN_VERSION",
    "UnknownAction",
    "find_resource",
    "iso",
    "live_versions",
    "package_dict",
    "package_dicts",
    "resource_dicts",
    "run",
]
