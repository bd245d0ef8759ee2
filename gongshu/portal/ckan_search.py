"""``package_search``: CKAN's dataset search over the public catalog.

Words (``q``) are matched by the catalog's own search (``gongshu.search.service.
matching_ids``: Chinese substrings, pinyin, initials), so a CKAN client finds what the
search box finds; relevance (``score``) is the sum of the matched tokens' weights, as in
the catalog search (title 8, field labels 4, agency 2, description 1).

Two ways to answer, with the same results:

- **indexed** (``_indexed``): when every filter is one the search index holds
  (``organization``, ``owner_org``, ``groups``, ``tags``, ``update_cycle``, ``open_type``,
  one value, not negated), every facet too (``tags`` with a ``facet.limit`` of at most 20),
  the order is ``name``, ``title_string``, ``score desc``, ``metadata_modified desc`` or
  CKAN's default ``score desc, metadata_modified desc``, and the window ends within
  ``MAX_WINDOW``, the catalog's indexed search of public entries
  (``search_datasets(public=True)``) counts, facets and pages, so it scales to 100,000
  entries like the portal's search page;
- **in memory** (otherwise: formats, negations, several values, sorting by dates,
  deep offsets): one query reads the light columns of every public entry the words match;
  the filter expression (``fq``), facets, sorting and paging are applied to those rows in
  Python before the page's packages are loaded (two more queries).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.catalog.models import Dataset, OpenType
from gongshu.labels import label
from gongshu.orgs.models import Agency
from gongshu.portal import naming
from gongshu.portal.ckan import action, package_dicts
from gongshu.portal.ckan_schemas import Params, Term, parse_fq, parse_sort, split_query
from gongshu.portal.openness import public_clause
from gongshu.search import indexer
from gongshu.search.models import SearchDoc, SearchToken
from gongshu.search.schemas import (
    MAX_WINDOW,
    TAG_FACET,
    TAG_FACET_SIZE,
    SearchQuery,
    SortKey,
)
from gongshu.search.service import matching_ids, search_datasets
from gongshu.search.tokens import parse_query
from gongshu.settings import get_settings
from gongshu.store.models import DatasetHead, DatasetVersion

MAX_ROWS = 1000
DEFAULT_ROWS = 10
DEFAULT_FACET_LIMIT = 50
DEFAULT_SORT = "score desc, metadata_modified desc"
#: Fields ``fq`` (and ``field:value`` words of ``q``) may name.
FQ_FIELDS = frozenset(
    {
        "organization",
        "owner_org",
        "groups",
        "tags",
        "res_format",
        "license_id",
        "name",
        "id",
        "dataset_type",
        "capacity",
        "state",
        "update_cycle",
        "open_type",
    }
)
#: ``q`` words of these fields are searched as plain words.
TEXT_FIELDS = frozenset({"text", "title", "notes"})
SORT_FIELDS = frozenset(
    {"score", "metadata_modified", "metadata_created", "title_string", "name", "id"}
)
FACET_FIELDS = frozenset(
    {"organization", "groups", "tags", "res_format", "license_id", "update_cycle", "open_type"}
)


@dataclass(frozen=True)
class Candidate:
    """What filtering, faceting and sorting need of one public entry."""

    id: int
    code: str
    agency_id: int
    agency_slug: str
    agency_name: str
    domain: str
    tags: tuple[str, ...]
    open_type: str
    update_cycle: str
    created: dt.datetime
    modified: dt.datetime
    title_sort: str
    formats: tuple[str, ...]
    score: int = 0

    def values(self, field: str) -> tuple[str, ...]:
        """The entry's values of an ``fq``/facet field."""
        if field == "organization":
            return (self.agency_slug,)
        if field == "owner_org":
            return (str(self.agency_id),)
        if field == "groups":
            return (naming.theme_slug(self.domain),) if self.domain else ()
        if field == "tags":
            return self.tags
        if field == "res_format":
            return self.formats
        if field == "license_id":
            return (get_settings().open_license_id,)
        if field == "name":
            return (naming.dataset_slug(self.code),)
        if field == "id":
            return (str(self.id),)
        if field == "dataset_type":
            return ("dataset",)
        if field == "capacity":
            return ("public",)
        if field == "state":
            return ("active",)
        if field == "update_cycle":
            return (self.update_cycle,)
        if field == "open_type":
            return (self.open_type,)
        return ()


def _holds(term: Term, candidate: Candidate) -> bool:
    have = candidate.values(term.field)
    fold = term.field == "res_format"
    if fold:
        have = tuple(v.lower() for v in have)
    found = any(
        (v == "*" and bool(have)) or (v.lower() if fold else v) in have for v in term.values
    )
    return found != term.negated


def _candidates(session: Session, words: str) -> list[Candidate]:
    live = (
        select(DatasetVersion.dataset_id, DatasetVersion.row_count, DatasetVersion.published_at)
        .join(DatasetHead, DatasetHead.version_id == DatasetVersion.id)
        .subquery("live")
    )
    stmt = (
        select(
            Dataset.id,
            Dataset.code,
            Dataset.agency_id,
            Agency.credit_code,
            Agency.name,
            Dataset.domain,
            Dataset.tags,
            Dataset.open_type,
            Dataset.update_cycle,
            Dataset.created_at,
            Dataset.updated_at,
            SearchDoc.title_sort,
            Dataset.title,
            live.c.published_at,
        )
        .join(Agency, Agency.id == Dataset.agency_id)
        .outerjoin(SearchDoc, SearchDoc.dataset_id == Dataset.id)
        .outerjoin(live, live.c.dataset_id == Dataset.id)
        .where(public_clause())
    )
    scores: dict[int, int] = {}
    if words:
        stmt = stmt.where(Dataset.id.in_(matching_ids(words)))
        tokens = parse_query(words).tokens
        if tokens:
            t = SearchToken
            scored = (
                select(t.dataset_id, func.sum(t.weight))
                .where(t.token.in_(tokens), t.dataset_id.in_(matching_ids(words)))
                .group_by(t.dataset_id)
            )
            scores = {int(i): int(s or 0) for i, s in session.execute(scored)}
    out = []
    for row in session.execute(stmt):
        (id_, code, agency_id, credit, agency_name, domain, tags, open_type, cycle) = row[:9]
        created, updated, title_sort, title, published = row[9:]
        has_data = published is not None and OpenType(open_type) is OpenType.UNCONDITIONAL
        out.append(
            Candidate(
                id=int(id_),
                code=str(code),
                agency_id=int(agency_id),
                agency_slug=str(credit).lower(),
                agency_name=str(agency_name),
                domain=str(domain or ""),
                tags=tuple(str(t) for t in tags or [] if str(t).strip()),
                open_type=getattr(open_type, "value", str(open_type)),
                update_cycle=getattr(cycle, "value", str(cycle)),
                created=created,
                modified=max(updated, published) if published is not None else updated,
                title_sort=str(title_sort or title),
                formats=tuple(f.upper() for f in naming.DOWNLOAD_FORMATS) if has_data else (),
                score=scores.get(int(id_), 0),
            )
        )
    return out


_SORT_KEYS: dict[str, Callable[[Candidate], Any]] = {
    "score": lambda c: c.score,
    "metadata_modified": lambda c: c.modified,
    "metadata_created": lambda c: c.created,
    "title_string": lambda c: c.title_sort,
    "name": lambda c: naming.dataset_slug(c.code),
    "id": lambda c: c.id,
}


def _ordered(items: list[Candidate], spec: list[tuple[str, bool]]) -> list[Candidate]:
    """Sorted by ``spec`` (stable sorts from the last key back), ties by resource code."""
    out = sorted(items, key=lambda c: c.code)
    for name, desc in reversed(spec):
        out.sort(key=_SORT_KEYS[name], reverse=desc)
    return out


def _display(field: str, value: str, by_slug: dict[str, str]) -> str:
    if field == "organization":
        return by_slug.get(value, value)
    if field == "groups":
        return by_slug.get(value, value)
    if field in ("update_cycle", "open_type"):
        return label(value)
    if field == "license_id":
        return get_settings().open_license_title
    return value


def _facets(
    items: list[Candidate], fields: list[str], limit: int, mincount: int
) -> tuple[dict[str, dict[str, int]], dict[str, Any]]:
    facets: dict[str, dict[str, int]] = {}
    search_facets: dict[str, Any] = {}
    names = {c.agency_slug: c.agency_name for c in items}
    names.update({naming.theme_slug(c.domain): c.domain for c in items if c.domain})
    for field in fields:
        counts: Counter[str] = Counter()
        if field in FACET_FIELDS:
            for c in items:
                counts.update(set(c.values(field)))
        ranked = sorted(
            ((v, n) for v, n in counts.items() if n >= mincount), key=lambda vn: (-vn[1], vn[0])
        )
        if limit >= 0:
            ranked = ranked[:limit]
        facets[field] = dict(ranked)
        search_facets[field] = {
            "title": field,
            "items": [
                {"name": v, "display_name": _display(field, v, names), "count": n}
                for v, n in ranked
            ],
        }
    return facets, search_facets


#: ``fq`` fields the search index filters on, and the facets it counts (CKAN name → index).
_INDEXED_FILTERS = frozenset(
    {"organization", "owner_org", "groups", "tags", "update_cycle", "open_type"}
)
_INDEXED_FACETS = {
    "organization": "agency_id",
    "groups": "domain",
    "tags": TAG_FACET,
    "update_cycle": "update_cycle",
    "open_type": "open_type",
}
#: CKAN orders the index can read: (the search's sort, how it orders equal scores).
_INDEXED_SORTS: dict[tuple[tuple[str, bool], ...], tuple[SortKey, Literal["code", "updated"]]] = {
    (("name", False),): ("code", "code"),
    (("title_string", False),): ("title", "code"),
    (("score", True),): ("relevance", "code"),
    # CKAN's default; metadata_modified is the index's update time (metadata or live version).
    (("score", True), ("metadata_modified", True)): ("relevance", "updated"),
    (("metadata_modified", True),): ("updated", "code"),
}


def _indexed_filters(session: Session, terms: list[Term]) -> dict[str, str] | None:
    """The terms as search filters, or None when the index cannot express them."""
    out: dict[str, str] = {}
    for term in terms:
        if term.field not in _INDEXED_FILTERS or term.negated or len(term.values) != 1:
            return None
        value = term.values[0]
        if value == "*":
            return None
        if term.field == "organization":
            found = session.scalar(select(Agency.id).where(Agency.credit_code == value.upper()))
            name, value = "agency_id", str(found or 0)
        elif term.field == "owner_org":
            name = "agency_id"
            if not value.isdigit():
                return None
        elif term.field == "groups":
            domains = {
                d
                for d in session.scalars(select(Dataset.domain).where(public_clause()).distinct())
                if d and naming.theme_slug(d) == value
            }
            if len(domains) > 1:  # two domains share the name: the index filters one
                return None
            name, value = "domain", next(iter(domains), "\0")
        elif term.field == "tags":
            name = "tag"
        else:
            name = term.field
        if out.get(name, value) != value:
            return None
        out[name] = value
    return out


def _indexed(
    session: Session,
    words: str,
    terms: list[Term],
    spec: list[tuple[str, bool]],
    window: tuple[int, int],
    facet_fields: list[str],
    facet_limit: int,
    mincount: int,
) -> dict[str, Any] | None:
    """``package_search`` through the indexed search, or None when it cannot answer."""
    order = _INDEXED_SORTS.get(tuple(spec))
    start, rows = window
    if order is None or start + rows > MAX_WINDOW:
        return None
    sort, ties = order
    if not all(f in _INDEXED_FACETS for f in facet_fields):
        return None
    if "tags" in facet_fields and not 0 <= facet_limit <= TAG_FACET_SIZE:
        return None  # the index counts the most common tags only
    filters = _indexed_filters(session, terms)
    if filters is None:
        return None
    try:
        query = SearchQuery.model_validate(
            {"q": words, "sort": sort, "with_facets": bool(facet_fields), **filters}
        )
    except ValueError:  # an unknown enum value or a query too long: the general path
        return None
    result = search_datasets(session, None, query, public=True, window=(start, rows), ties=ties)
    slugs: dict[str, str] = {}
    if "organization" in facet_fields:
        ids = [int(v.value) for v in result.facets.get("agency_id", [])]
        slugs = {
            str(i): str(code).lower()
            for i, code in session.execute(
                select(Agency.id, Agency.credit_code).where(Agency.id.in_(ids))
            )
        }
    facets: dict[str, dict[str, int]] = {}
    search_facets: dict[str, Any] = {}
    for field in facet_fields:
        counts: Counter[str] = Counter()
        names: dict[str, str] = {}
        for v in result.facets.get(_INDEXED_FACETS[field], []):
            if field == "organization":
                key = slugs.get(v.value, v.value)
            elif field == "groups":
                key = naming.theme_slug(v.value)
            else:
                key = v.value
            counts[key] += v.count
            names.setdefault(key, v.label)
        ranked = sorted(
            ((v, n) for v, n in counts.items() if n >= mincount), key=lambda vn: (-vn[1], vn[0])
        )
        if facet_limit >= 0:
            ranked = ranked[:facet_limit]
        facets[field] = dict(ranked)
        search_facets[field] = {
            "title": field,
            "items": [
                {"name": v, "display_name": _display(field, v, names), "count": n}
                for v, n in ranked
            ],
        }
    return {
        "count": result.total,
        "facets": facets,
        "search_facets": search_facets,
        "ids": [d.id for d in result.items],
    }


@action
def package_search(session: Session, actor: Actor, params: Params) -> dict[str, Any]:
    """Search public datasets: ``q`` (words in Chinese, pinyin or initials; ``*:*`` for
    all; ``field:value`` words act as filters), ``fq``/``fq_list`` (filters: organization,
    groups, tags, res_format, license_id, name, id, update_cycle, open_type …), ``rows``
    (at most 1000), ``start``, ``sort`` (score, metadata_modified, metadata_created,
    title_string, name, id; asc or desc), ``facet.field`` (a JSON list), ``facet.limit``,
    ``facet.mincount``."""
    indexer.sync(session)
    q_terms, words = split_query(params.text("q"), FQ_FIELDS | TEXT_FIELDS)
    words.extend(v for t in q_terms if t.field in TEXT_FIELDS for v in t.values)
    terms = [t for t in q_terms if t.field not in TEXT_FIELDS]
    terms.extend(parse_fq(params.text("fq"), FQ_FIELDS))
    for fq in params.string_list("fq_list"):
        terms.extend(parse_fq(fq, FQ_FIELDS))
    sort_text = params.text("sort").strip() or DEFAULT_SORT
    spec = parse_sort(sort_text, SORT_FIELDS)
    rows = params.integer("rows", DEFAULT_ROWS, maximum=MAX_ROWS)
    start = params.integer("start", 0)
    facet_fields = params.string_list("facet.field") if params.boolean("facet", True) else []
    facet_limit = params.integer("facet.limit", DEFAULT_FACET_LIMIT, minimum=-1)
    mincount = params.integer("facet.mincount", 1)

    indexed = _indexed(
        session,
        " ".join(words),
        terms,
        spec,
        (start, rows),
        facet_fields,
        facet_limit,
        max(1, mincount),
    )
    if indexed is not None:
        return {
            "count": indexed["count"],
            "sort": sort_text,
            "facets": indexed["facets"],
            "search_facets": indexed["search_facets"],
            "results": package_dicts(session, indexed["ids"]),
        }
    matched = [c for c in _candidates(session, " ".join(words)) if all(_holds(t, c) for t in terms)]
    facets, search_facets = _facets(matched, facet_fields, facet_limit, max(1, mincount))
    page = _ordered(matched, spec)[start : start + rows]
    return {
        "count": len(matched),
        "sort": sort_text,
        "facets": facets,
        "search_facets": search_facets,
        "results": package_dicts(session, [c.id for c in page]),
    }


__all__ = ["FACET_FIELDS", "FQ_FIELDS", "MAX_ROWS", "SORT_FIELDS", "package_search"]
