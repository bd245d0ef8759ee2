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
    Connection,
    Integer,
    Select,
    and_,
    any_,
    bindparam,
    case,
    false,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, aliased, selectinload
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
from gongshu.search.models import (
    FACET_COLUMNS,
    PinyinOverride,
    SearchDoc,
    SearchFacet,
    SearchToken,
)
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
    Plan,
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
_FACET = SearchFacet.__table__
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


def _match(parsed: ParsedQuery, df: dict[str, int] | None = None) -> Select[int, int, int]:
    """(dataset_id, score, facet_id) of the entries that satisfy any reading of the query.

    With one reading that has a one-token group, the rows of the rarest such token drive
    the query (``df``: how common each token is) and the other groups are probed through
    the primary key, instead of grouping the rows of every token.
    """
    t = SearchToken
    if len(parsed.tokens) == 1:
        # One token: (token, dataset_id) is unique, so no grouping is needed at all.
        return select(
            t.dataset_id.label("dataset_id"),
            t.weight.label("score"),
            t.facet_id.label("facet_id"),
        ).where(t.token == parsed.tokens[0])
    singles = [next(iter(g)) for g in parsed.plans[0].groups if len(g) == 1]
    if df is not None and len(parsed.plans) == 1 and singles:
        driver = min(singles, key=lambda k: (df.get(k, 0), k))
        r = aliased(SearchToken, name="r")
        o = aliased(SearchToken, name="o")
        others = [k for k in parsed.tokens if k != driver]
        extra = (
            select(func.coalesce(func.sum(o.weight), 0))
            .where(o.token.in_(others), o.dataset_id == r.dataset_id)
            .scalar_subquery()
        )
        conditions: list[ColumnElement[bool]] = [r.token == driver]
        for i, g in enumerate(parsed.plans[0].groups):
            if driver in g:
                continue
            x = aliased(SearchToken, name=f"g{i}")
            conditions.append(
                select(x.dataset_id)
                .where(x.token.in_(sorted(g)), x.dataset_id == r.dataset_id)
                .exists()
            )
        return select(
            r.dataset_id.label("dataset_id"),
            (r.weight + extra).label("score"),
            r.facet_id.label("facet_id"),
        ).where(*conditions)
    stmt = (
        select(
            t.dataset_id.label("dataset_id"),
            func.sum(t.weight).label("score"),
            func.min(t.facet_id).label("facet_id"),
        )
        .where(t.token.in_(parsed.tokens))
        .group_by(t.dataset_id)
    )
    readings = _readings(parsed)
    return stmt if readings is None else stmt.having(readings)


def matching_ids(text: str) -> Select[int]:
    """The ids of the entries a search box's text matches, as a subquery for other lists
    (the catalog export filters with it, so an export holds what the search showed)."""
    parsed = parse_query(text)
    if not parsed.plans or not parsed.tokens:
        return select(SearchToken.dataset_id).where(false())
    return select(_match(parsed).subquery().c.dataset_id)


#: Document frequencies are counted up to this many (enough to tell rare from common).
_DF_CAP = 5000


def _present(conn: Connection, parsed: ParsedQuery) -> tuple[ParsedQuery, dict[str, int]]:
    """The query without the tokens no entry has, and how common each token is (capped).

    One short index range per token. A token no entry has can neither match nor score; a
    reading left with an empty group can never match and is dropped. "xinxi" (``p:xinxi``
    or the word ``a:xinxi``) usually comes out as one token, which needs no grouping.
    """
    tokens = parsed.tokens
    if len(tokens) < 2:
        return parsed, {}
    t = SearchToken
    counted = [
        select(func.count())
        .select_from(select(t.dataset_id).where(t.token == k).limit(_DF_CAP).subquery())
        .scalar_subquery()
        for k in tokens
    ]
    df = dict(zip(tokens, (int(n) for n in conn.execute(select(*counted)).one()), strict=True))
    present = {k for k, n in df.items() if n}
    if len(present) == len(tokens):
        return parsed, df
    plans: list[Plan] = []
    for plan in parsed.plans:
        groups = tuple(g & present for g in plan.groups)
        if all(groups) and Plan(groups) not in plans:
            plans.append(Plan(groups))
    return ParsedQuery(tuple(plans)), df


def _rare(parsed: ParsedQuery, df: dict[str, int]) -> bool:
    """Whether ``_match`` is driven by a token that fewer than ``_DF_CAP`` entries have."""
    if not df or len(parsed.plans) != 1 or len(parsed.tokens) < 2:
        return False
    singles = [next(iter(g)) for g in parsed.plans[0].groups if len(g) == 1]
    return bool(singles) and min(df.get(k, _DF_CAP) for k in singles) < _DF_CAP


def _readings(parsed: ParsedQuery) -> ColumnElement[bool] | None:
    """The HAVING condition of a multi-token query (None: any of its tokens is a match)."""
    t = SearchToken
    only = parsed.plans[0].groups if len(parsed.plans) == 1 else ()
    if len(only) == 1:
        return None  # every token is an alternative of the one group: any row is a match
    return or_(
        *(
            and_(*(func.max(case((t.token.in_(sorted(g)), 1), else_=0)) == 1 for g in plan.groups))
            for plan in parsed.plans
        )
    )


def _probe(parsed: ParsedQuery, score: int | None) -> ColumnElement[bool]:
    """A condition on a ``search_doc`` row: the entry matches (with this score, if given).

    Used when a page is read in the order of one of ``search_doc``'s indexes and most
    entries match: each row read costs one or a few primary-key look-ups in ``search_token``.
    """
    t = SearchToken
    if len(parsed.tokens) == 1:
        # A scalar subquery, not EXISTS: PostgreSQL would turn EXISTS into a semi-join over
        # all of the token's rows; a scalar subquery is probed per row read, in index order.
        weight = (
            select(t.weight)
            .where(t.token == parsed.tokens[0], t.dataset_id == SearchDoc.dataset_id)
            .scalar_subquery()
        )
        return weight.is_not(None) if score is None else weight == score
    sub = select(func.sum(t.weight)).where(
        t.token.in_(parsed.tokens), t.dataset_id == SearchDoc.dataset_id
    )
    readings = _readings(parsed)
    if readings is not None:
        sub = sub.having(readings)
    summed = sub.scalar_subquery()
    return summed.is_not(None) if score is None else summed == score


def _on_facet(clause: ColumnElement[bool]) -> tuple[ColumnElement[bool], Select[int] | None]:
    """The catalog's visibility rule, moved from ``dataset`` onto ``search_facet`` columns.

    Returns (condition on facet keys, the ids of the visible entries or None). Should the rule
    one day use a column a facet key lacks, it is applied to the entry ids through a subquery
    on ``dataset`` instead, so that it is never bypassed.
    """
    missing = False

    def swap(element: Any, **_kw: Any) -> Any:
        nonlocal missing
        if isinstance(element, Column) and element.table is _DATASET:
            if element.name in FACET_COLUMNS:
                return _FACET.c[element.name]
            missing = True
        return None

    moved = visitors.replacement_traverse(clause, {}, swap)
    if missing:
        return true(), select(Dataset.id).where(clause)
    return moved, None


def _visible(column: Any, visible_ids: Select[int] | None) -> ColumnElement[bool]:
    return true() if visible_ids is None else column.in_(visible_ids)


def _where(actor: Actor, f: SearchFilter) -> tuple[list[ColumnElement[bool]], Select[int] | None]:
    """(conditions on ``search_facet``, visible entry ids or None) for the actor and filters."""
    on_facet, on_ids = _on_facet(queries.visible_clause(actor))
    conditions: list[ColumnElement[bool]] = [on_facet]
    if f.state is None:  # entries withdrawn by a change request leave every list
        conditions.append(SearchFacet.state != WITHDRAWN)
    for name in FACET_NAMES:
        value = getattr(f, name)
        if value is None:
            continue
        if name in ("agency_id", "region_id") and not queries.valid_id(value):
            return [false()], on_ids
        conditions.append(getattr(SearchFacet, name) == getattr(value, "value", value))
    return conditions, on_ids


def _order(sort: SortKey) -> list[Any]:
    """The order of entries of equal score (and of every page not sorted by relevance)."""
    d = SearchDoc
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
                select(Agency.id, Agency.name).where(
                    _among(session.connection(), [int(i) for i in per["agency_id"]], Agency.id)
                )
            )
        }
    if per["region_id"]:
        names["region_id"] = {
            int(i): translate(str(n))
            for i, n in session.execute(
                select(Region.id, Region.name).where(
                    _among(session.connection(), [int(i) for i in per["region_id"]], Region.id)
                )
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


#: A level of equal score is read in ``search_doc`` index order (probing each entry's tokens)
#: rather than gathered and sorted, when it is at least this dense among all entries.
_DENSE = 0.02


def _among(conn: Connection, ids: list[int], column: Any = None) -> ColumnElement[bool]:
    """``column`` (``search_doc.dataset_id``) is one of ``ids``: on PostgreSQL one array
    parameter rather than hundreds, which it would parse and plan each time."""
    column = SearchDoc.dataset_id if column is None else column
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(Integer)))  # type: ignore[no-any-return]
    return column.in_(ids)  # type: ignore[no-any-return]


def _levels(
    counts: Sequence[tuple[int | None, int]], start: int, stop: int
) -> list[tuple[int | None, int, int, int]]:
    """(score, entries at that score, offset, limit) of the levels a page window touches."""
    out: list[tuple[int | None, int, int, int]] = []
    seen = 0
    for score, n in counts:
        lo, hi = seen, seen + n
        if hi > start and lo < stop:
            offset = max(0, start - lo)
            out.append((score, n, offset, min(hi, stop) - lo - offset))
        seen = hi
        if seen >= stop:
            break
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
    facet_where, id_where = _where(actor, query)
    facets: dict[str, list[FacetCount]] = {name: [] for name in FACET_NAMES}
    conn = session.connection()  # Core rows: no ORM bookkeeping for counts and ids
    df: dict[str, int] = {}
    if has_words:
        parsed, df = _present(conn, parsed)
        if parsed.empty:
            return SearchResult([], 0, page, per_page, sort, facets)

    # 1. One grouped scan of the matches: how many per facet key (and score), nothing joined.
    # When the query's rarest token is rare, its few matches are fetched once instead, and
    # counted and paged from here.
    by_level = sort == "relevance" and has_words
    columns = [getattr(SearchFacet, n) for n in FACET_NAMES]
    small: dict[int | None, list[int]] | None = None
    if has_words and _rare(parsed, df):
        m = _match(parsed, df).subquery("m")
        matched = conn.execute(
            select(m.c.dataset_id, m.c.score, m.c.facet_id)
            .join_from(m, SearchFacet, SearchFacet.id == m.c.facet_id)
            .where(*facet_where, _visible(m.c.dataset_id, id_where))
        ).all()
        small = {}
        per_key: Counter[tuple[int, int]] = Counter()
        for dataset_id, score_of, facet_of in matched:
            per_key[int(facet_of), int(score_of)] += 1
            small.setdefault(int(score_of) if by_level else None, []).append(int(dataset_id))
        keys = sorted({f for f, _ in per_key})
        values = {
            int(r[0]): tuple(r[1:])
            for r in conn.execute(
                select(SearchFacet.id, *columns).where(_among(conn, keys, SearchFacet.id))
            )
        }
        rows: Sequence[Any] = [(*values[f], sc, n) for (f, sc), n in per_key.items()]
    elif has_words:
        match = _match(parsed, df).subquery("m")
        grouped = (
            select(match.c.facet_id, match.c.score, func.count().label("n"))
            .where(_visible(match.c.dataset_id, id_where))
            .group_by(match.c.facet_id, match.c.score)
        )
    else:
        d = SearchDoc
        grouped = (
            select(d.facet_id, literal(None).label("score"), func.count().label("n"))
            .where(_visible(d.dataset_id, id_where))
            .group_by(d.facet_id)
        )
    if small is None:
        g = grouped.subquery("g")
        rows = conn.execute(
            select(*columns, g.c.score, g.c.n)
            .join_from(g, SearchFacet, SearchFacet.id == g.c.facet_id)
            .where(*facet_where)
        ).all()
    total = sum(int(r[-1]) for r in rows)
    if query.with_facets:
        facets = _facets(session, [(*r[:-2], r[-1]) for r in rows])

    # 2. The page, level by level of equal score (one level unless sorted by relevance).
    by_score: Counter[int | None] = Counter()
    for r in rows:
        by_score[int(r[-2]) if by_level else None] += int(r[-1])
    levels = sorted(by_score.items(), key=lambda kv: -(kv[0] or 0))
    start = (page - 1) * per_page
    ids: list[int] = []
    if total and start < total:
        allowed = select(SearchFacet.id).where(*facet_where)
        entries = int(conn.execute(select(func.max(SearchDoc.dataset_id))).scalar() or 0)
        order = _order("code" if sort == "relevance" else sort)
        for score, n, offset, limit in _levels(levels, start, start + per_page):
            # A dense level is read in the order's index, checking each entry as it comes
            # (the facet check kept off its index, "+ 0", so the order's index is used);
            # a sparse one is gathered through its own index and sorted.
            dense = n >= _DENSE * entries
            facet_id = SearchDoc.facet_id + 0 if dense else SearchDoc.facet_id
            stmt = select(SearchDoc.dataset_id).where(
                facet_id.in_(allowed), _visible(SearchDoc.dataset_id, id_where)
            )
            if small is not None:  # the level's ids are known: sort just those
                stmt = select(SearchDoc.dataset_id).where(_among(conn, small[score]))
            elif has_words and dense:
                stmt = stmt.where(_probe(parsed, score))
            elif has_words:  # a few entries: gather their ids, then sort just those
                m = _match(parsed, df).subquery("m")
                level = select(m.c.dataset_id).where(m.c.facet_id.in_(allowed))
                if score is not None:
                    level = level.where(m.c.score == score)
                level = level.where(_visible(m.c.dataset_id, id_where))
                found = [int(i) for i in conn.execute(level).scalars()]
                stmt = select(SearchDoc.dataset_id).where(_among(conn, found))
            page_ids = conn.execute(stmt.order_by(*order).limit(limit).offset(offset))
            ids.extend(int(i) for i in page_ids.scalars())

    items: list[Dataset] = []
    if ids:
        loaded = session.scalars(
            select(Dataset).where(Dataset.id.in_(ids)).options(selectinload(Dataset.agency))
        ).all()
        by_id = {ds.id: ds for ds in loaded}
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
