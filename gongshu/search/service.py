"""Searching the catalog, and the pinyin overrides that searches by pinyin depend on.

``search_datasets`` is the one entry point for the catalog list page, ``GET /api/v1/datasets``,
``gongshu catalog list`` and (later) the portal. How a query runs:

1. the text is cut into token groups (``gongshu.search.tokens.parse_query``);
2. one ``GROUP BY dataset_id HAVING …`` over ``search_token`` finds the entries that have a
   token of every group, and sums the weights of the tokens they have (the score);
3. that set is joined to ``search_doc`` and narrowed by visibility (the catalog's
   ``visible_clause``: drafts only to their owners and reviewers) and by the filters;
4. facet counts come from one ``GROUP BY`` over the nine facet columns of that set, rolled
   up per facet in Python; the page comes from a second query ordered by score, update time,
   pinyin title or code, always ending in the unique code, so both databases agree on order.

User text never reaches SQL except as bound parameters.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Select,
    and_,
    case,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql import visitors

from gongshu.audit.service import diff, record, snapshot
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.auth.permissions import require_login
from gongshu.catalog import queries
from gongshu.catalog.models import (
    CategoryClass,
    Dataset,
    DatasetState,
    Level,
    OpenType,
    ShareType,
    UpdateCycle,
)
from gongshu.db import unit_of_work
from gongshu.errors import NotFound, PermissionDenied, ValidationFailed
from gongshu.i18n import N_, translate
from gongshu.jobs import service as jobs
from gongshu.labels import label
from gongshu.orgs.models import Agency, Region
from gongshu.search import indexer
from gongshu.search.models import PinyinOverride, SearchDoc, SearchToken
from gongshu.search.schemas import (
    FACET_NAMES,
    MAX_WINDOW,
    PinyinOverrideIn,
    SearchFilter,
    SearchQuery,
    SortKey,
)
from gongshu.search.tokens import (
    ParsedQuery,
    is_han,
    parse_query,
    plain_pinyin,
    valid_override,
)

#: Changing an override re-indexes up to this many entries at once; more go to a job.
INLINE_REINDEX_LIMIT = 2000
REINDEX_JOB = "search.reindex"
WITHDRAWN = "withdrawn"  # DatasetState.WITHDRAWN of the review workflow

OVERRIDE_NOT_FOUND = N_("拼音校正不存在")
BAD_PHRASE = N_("词语只能由汉字组成")
BAD_PINYIN = N_("拼音须为每个汉字一个音节，用空格分隔，例如 bi xian")
ADMIN_ONLY = N_("只有市级大数据主管部门管理员或系统管理员可以维护拼音校正")

_ENUMS: dict[str, type[Any]] = {
    "category_class": CategoryClass,
    "share_type": ShareType,
    "open_type": OpenType,
    "level": Level,
    "update_cycle": UpdateCycle,
    "state": DatasetState,
}
_DOC = SearchDoc.__table__
_DATASET = Dataset.__table__


@dataclass(frozen=True)
class FacetCount:
    """One value of a facet, its display label and how many matching entries have it."""

    value: str
    label: str
    count: int


@dataclass(frozen=True)
class SearchResult:
    """One page of matching entries (``Dataset`` objects, agency loaded), with facets."""

    items: list[Dataset]
    total: int
    page: int
    per_page: int
    sort: SortKey
    facets: dict[str, list[FacetCount]]

    @property
    def pages(self) -> int:
        """Pages a pager may offer (bounded: no page starts past ``MAX_WINDOW`` results)."""
        reachable = max(1, math.ceil(MAX_WINDOW / self.per_page))
        return max(1, min(math.ceil(self.total / self.per_page), reachable))


# --- the query ------------------------------------------------------------------------------


def _match(parsed: ParsedQuery) -> Select[int, int]:
    """(dataset_id, score) of the entries that satisfy any reading of the query."""
    t = SearchToken
    if len(parsed.tokens) == 1:
        # One token: (token, dataset_id) is unique, so no grouping is needed at all.
        return select(t.dataset_id.label("dataset_id"), t.weight.label("score")).where(
            t.token == parsed.tokens[0]
        )
    stmt = (
        select(t.dataset_id.label("dataset_id"), func.sum(t.weight).label("score"))
        .where(t.token.in_(parsed.tokens))
        .group_by(t.dataset_id)
    )
    only = parsed.plans[0].groups if len(parsed.plans) == 1 else ()
    if len(only) == 1:
        return stmt  # every token is an alternative of the one group: any row is a match
    readings = [
        and_(*(func.max(case((t.token.in_(sorted(g)), 1), else_=0)) == 1 for g in plan.groups))
        for plan in parsed.plans
    ]
    return stmt.having(or_(*readings))


def _on_doc(clause: ColumnElement[bool]) -> ColumnElement[bool]:
    """The catalog's visibility rule, moved from ``dataset`` onto ``search_doc`` columns.

    Should the rule one day use a column ``search_doc`` lacks, it is applied through a
    subquery on ``dataset`` instead, so that it is never bypassed.
    """
    missing = False

    def swap(element: Any, **_kw: Any) -> Any:
        nonlocal missing
        if isinstance(element, Column) and element.table is _DATASET:
            if element.name in _DOC.c:
                return _DOC.c[element.name]
            missing = True
        return None

    moved = visitors.replacement_traverse(clause, {}, swap)
    if missing:
        return SearchDoc.dataset_id.in_(select(Dataset.id).where(clause))
    return moved


def _where(actor: Actor, f: SearchFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [_on_doc(queries.visible_clause(actor))]
    if f.state is None:  # entries withdrawn by a change request leave every list
        conditions.append(SearchDoc.state != WITHDRAWN)
    for name in FACET_NAMES:
        value = getattr(f, name)
        if value is None:
            continue
        if name in ("agency_id", "region_id") and not queries.valid_id(value):
            return [false()]
        conditions.append(getattr(SearchDoc, name) == value)
    return conditions


def _order(sort: SortKey, score: ColumnElement[Any] | None) -> list[Any]:
    d = SearchDoc
    if sort == "relevance" and score is not None:
        return [score.desc(), d.code]
    if sort == "updated":
        return [d.updated_at.desc(), d.code]
    if sort == "title":
        return [d.title_sort, d.code]
    return [d.code]


def _facet_label(name: str, value: Any, names: dict[str, dict[int, str]]) -> str:
    if name in ("agency_id", "region_id"):
        return names[name].get(int(value), f"#{value}")
    if name == "domain":
        return str(value)
    return label(value)


def _facets(
    session: Session, counts: Sequence[Any], with_labels: bool = True
) -> dict[str, list[FacetCount]]:
    per: dict[str, Counter[Any]] = {name: Counter() for name in FACET_NAMES}
    counters = [per[name] for name in FACET_NAMES]
    for row in counts:
        n = int(row[-1])
        for counter, value in zip(counters, row, strict=False):
            counter[value] += n
    for counter in counters:
        counter.pop(None, None)
        counter.pop("", None)
    names: dict[str, dict[int, str]] = {"agency_id": {}, "region_id": {}}
    if per["agency_id"]:
        names["agency_id"] = {
            int(i): str(n)
            for i, n in session.execute(
                select(Agency.id, Agency.name).where(Agency.id.in_(list(per["agency_id"])))
            )
        }
    if per["region_id"]:
        names["region_id"] = {
            int(i): translate(str(n))
            for i, n in session.execute(
                select(Region.id, Region.name).where(Region.id.in_(list(per["region_id"])))
            )
        }
    out: dict[str, list[FacetCount]] = {}
    for name in FACET_NAMES:
        values = per[name]
        if name in _ENUMS:
            ordered = [m for m in _ENUMS[name] if m in values]
        else:
            ordered = sorted(values, key=lambda v: (-values[v], str(v)))
        out[name] = [
            FacetCount(str(getattr(v, "value", v)), _facet_label(name, v, names), values[v])
            for v in ordered
        ]
    return out


def search_datasets(session: Session, actor: Actor | None, query: SearchQuery) -> SearchResult:
    """The catalog entries the actor may read that match ``query``: one page and facets.

    Anyone signed in may search; each sees only what ``visible_clause`` lets them read, in
    the items, the total and every facet count. Words must all match (title, description,
    field labels or agency name; pinyin and initials for titles and agency names).
    """
    actor = require_login(actor)
    parsed = parse_query(query.q)
    has_words = bool(query.q.strip())
    sort: SortKey = query.sort or ("relevance" if has_words else "code")
    per_page = query.per_page
    page = max(1, min(query.page, math.ceil(MAX_WINDOW / per_page)))
    conditions = _where(actor, query)
    base = select().select_from(SearchDoc)
    score: ColumnElement[Any] | None = None
    if has_words:
        if parsed.empty:
            conditions = [false()]
        else:
            match = _match(parsed).subquery("m")
            base = base.join(match, match.c.dataset_id == SearchDoc.dataset_id)
            score = match.c.score
    base = base.where(*conditions)

    facets: dict[str, list[FacetCount]] = {name: [] for name in FACET_NAMES}
    conn = session.connection()  # Core rows: no ORM bookkeeping for counts and ids
    if query.with_facets:
        columns = [getattr(SearchDoc, n) for n in FACET_NAMES]
        counts = conn.execute(base.add_columns(*columns, func.count()).group_by(*columns)).all()
        total = sum(int(r[-1]) for r in counts)
        facets = _facets(session, counts)
    else:
        total = int(conn.execute(base.add_columns(func.count())).scalar() or 0)

    items: list[Dataset] = []
    if total:
        ids = [
            int(i)
            for i in conn.execute(
                base.add_columns(SearchDoc.dataset_id)
                .order_by(*_order(sort, score))
                .limit(per_page)
                .offset((page - 1) * per_page)
            ).scalars()
        ]
        if ids:
            loaded = session.scalars(
                select(Dataset).where(Dataset.id.in_(ids)).options(selectinload(Dataset.agency))
            ).all()
            by_id = {d.id: d for d in loaded}
            items = [by_id[i] for i in ids if i in by_id]
    return SearchResult(items, total, page, per_page, sort, facets)


def index_status(session: Session) -> tuple[int, int]:
    """(catalog entries, indexed entries)."""
    return indexer.index_counts(session)


def index_is_stale(session: Session) -> bool:
    entries, indexed = indexer.index_counts(session)
    return entries != indexed


def reindex(session: Session) -> int:
    """Rebuild the whole index (``gongshu search reindex``); the platform's own work."""
    with unit_of_work(session):
        return indexer.reindex_all(session)


# --- pinyin overrides -------------------------------------------------------------------------

OVERRIDE_FIELDS = ("pinyin", "note")


def _require_admin(actor: Actor | None) -> Actor:
    actor = require_login(actor)
    if queries.is_platform(actor) or actor.has(Role.SYSTEM_ADMIN):
        return actor
    if actor.has(Role.BUREAU_ADMIN) and actor.city_scope:
        return actor
    raise PermissionDenied(ADMIN_ONLY)


def list_overrides(session: Session, actor: Actor | None) -> list[PinyinOverride]:
    """Every override, by phrase. City bureau admins and system admins."""
    _require_admin(actor)
    return list(session.scalars(select(PinyinOverride).order_by(PinyinOverride.phrase)))


def _affected(session: Session, phrase: str) -> list[int]:
    """Entries that may contain the phrase (its Han tokens): a superset is harmless."""
    parsed = parse_query(phrase)
    if parsed.empty:
        return []
    rows = session.execute(_match(parsed).with_only_columns(SearchToken.dataset_id)).scalars()
    return sorted(int(i) for i in rows)


def _refresh(session: Session, phrase: str) -> tuple[int, int | None]:
    ids = _affected(session, phrase)
    if len(ids) > INLINE_REINDEX_LIMIT:
        job = jobs.enqueue(session, REINDEX_JOB, {"phrase": phrase})
        return 0, job.id
    return indexer.reindex_ids(session.connection(), ids), None


def _check_override(data: PinyinOverrideIn) -> tuple[str, str]:
    phrase = data.phrase.strip()
    pinyin = " ".join(plain_pinyin(data.pinyin).split())
    errors: dict[str, list[str]] = {}
    if not is_han(phrase):
        errors["phrase"] = [BAD_PHRASE]
    elif not valid_override(phrase, pinyin):
        errors["pinyin"] = [BAD_PINYIN]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], errors)
    return phrase, pinyin


def set_override(
    session: Session, actor: Actor | None, data: PinyinOverrideIn
) -> tuple[PinyinOverride, int, int | None]:
    """Add or change how a phrase reads in pinyin, and re-index the entries it touches.

    Returns the override, how many entries were re-indexed at once and, when more than
    ``INLINE_REINDEX_LIMIT`` are affected, the id of the job that re-indexes them.
    Audited as ``search.override_set``.
    """
    actor = _require_admin(actor)
    phrase, pinyin = _check_override(data)
    with unit_of_work(session):
        override = session.get(PinyinOverride, phrase)
        before = snapshot(override, OVERRIDE_FIELDS) if override else {}
        if override is None:
            override = PinyinOverride(phrase=phrase, pinyin=pinyin, note=data.note)
            session.add(override)
        else:
            override.pinyin, override.note = pinyin, data.note
        session.flush()
        changes = diff(before, snapshot(override, OVERRIDE_FIELDS))
        reindexed, job_id = _refresh(session, phrase) if changes else (0, None)
        if changes:
            record(
                session,
                actor,
                "search.override_set",
                "pinyin_override",
                phrase,
                label=phrase,
                changes=changes,
            )
    return override, reindexed, job_id


def delete_override(session: Session, actor: Actor | None, phrase: str) -> tuple[int, int | None]:
    """Remove an override (pypinyin's reading applies again) and re-index what it touched.

    Audited as ``search.override_delete``.
    """
    actor = _require_admin(actor)
    with unit_of_work(session):
        override = session.get(PinyinOverride, phrase.strip()) if phrase.strip() else None
        if override is None:
            raise NotFound(OVERRIDE_NOT_FOUND)
        before = snapshot(override, OVERRIDE_FIELDS)
        session.delete(override)
        session.flush()
        result = _refresh(session, override.phrase)
        record(
            session,
            actor,
            "search.override_delete",
            "pinyin_override",
            override.phrase,
            label=override.phrase,
            changes=diff(before, {}),
        )
    return result


@jobs.handler(REINDEX_JOB)
def _reindex_job(session: Session, payload: dict[str, Any]) -> dict[str, Any]:
    """Re-index the entries a changed override touches (or everything, without a phrase)."""
    with unit_of_work(session):
        phrase = str(payload.get("phrase") or "")
        if not phrase:
            return {"reindexed": indexer.reindex_all(session)}
        return {"reindexed": indexer.reindex_ids(session.connection(), _affected(session, phrase))}


__all__ = [
    "FacetCount",
    "SearchResult",
    "delete_override",
    "index_is_stale",
    "index_status",
    "list_overrides",
    "reindex",
    "search_datasets",
    "set_override",
]
