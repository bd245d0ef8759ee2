"""Searching the catalog, and the pinyin overrides that searches by pinyin depend on.

``search_datasets`` is the one entry point for the catalog list page, ``GET /api/v1/datasets``,
``gongshu catalog list`` and (later) the portal. How a query runs (docs/search.md has more):

1. the text is cut into token groups (``gongshu.search.tokens.parse_query``) and the tokens
   no entry has are dropped (``_present``);
2. the matching entries and their scores: one token's rows, or the rows of the rarest token
   probed for the others, or one ``GROUP BY dataset_id HAVING …`` (``_match``);
3. one grouped scan counts them per facet key and score, narrowed on ``search_facet`` by
   visibility (the catalog's ``visible_clause``) and the filters; PostgreSQL rolls the
   counts up per facet itself (``GROUPING SETS``), SQLite in Python (``_count``). A query
   whose driving token is rare fetches its few matches once instead (``_fetch_small``);
4. the page is read score level by score level, each in the order's own index or gathered
   and sorted, always ending in the unique code, so both databases agree on order; its
   entries are loaded as plain rows (``gongshu.search.hits``).

A public search keeps what steps 1–4 found (counts, facets, the page's ids) per process under
the index token, until the index changes (``gongshu.search.cache``); its entries are always
loaded afresh.

User text never reaches SQL except as bound parameters.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    false,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import Subquery, visitors

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
    ResourceFormat,
    ShareType,
    UpdateCycle,
)
from gongshu.db import unit_of_work
from gongshu.errors import NotFound, PermissionDenied, ValidationFailed
from gongshu.i18n import N_, current_language, translate
from gongshu.jobs import service as jobs
from gongshu.labels import label
from gongshu.orgs.models import Agency, Region
from gongshu.portal.openness import public_clause
from gongshu.search import cache, indexer
from gongshu.search.hits import DatasetHit, among, load_hits
from gongshu.search.models import (
    FACET_COLUMNS,
    PinyinOverride,
    SearchDoc,
    SearchFacet,
    SearchTag,
    SearchToken,
)
from gongshu.search.schemas import (
    FACET_NAMES,
    MAX_WINDOW,
    TAG_FACET,
    TAG_FACET_SIZE,
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
from gongshu.settings import get_settings

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
    "format": ResourceFormat,
}
_FACET = SearchFacet.__table__
_TOKEN = SearchToken.__table__
_DOC = SearchDoc.__table__
_TAG = SearchTag.__table__
_DATASET = Dataset.__table__


@dataclass(frozen=True)
class FacetCount:
    """One value of a facet, its display label and how many matching entries have it."""

    value: str
    label: str
    count: int


@dataclass(frozen=True)
class SearchResult:
    """One page of matching entries (with their agencies and fields), with facets."""

    items: list[DatasetHit]
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
    t = _TOKEN.c
    if len(parsed.tokens) == 1:
        # One token: (token, dataset_id) is unique, so no grouping is needed at all.
        return select(
            t.dataset_id.label("dataset_id"),
            t.weight.label("score"),
            t.facet_id.label("facet_id"),
        ).where(t.token == parsed.tokens[0])
    singles = _singles(parsed)
    if df is not None and singles:
        driver = min(singles, key=lambda k: (df.get(k, _DF_CAP), k))
        r = _TOKEN.alias("r").c
        o = _TOKEN.alias("o").c
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
            x = _TOKEN.alias(f"g{i}").c
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
        return select(_TOKEN.c.dataset_id).where(false())
    return select(_match(parsed).subquery().c.dataset_id)


#: Document frequencies are counted up to this many (enough to tell rare from common).
_DF_CAP = 20_000


def _present(conn: Connection, parsed: ParsedQuery) -> tuple[ParsedQuery, dict[str, int]]:
    """The query without the tokens no entry has, and how common each token is (capped).

    One short index range per token. A token no entry has can neither match nor score; a
    reading left with an empty group can never match and is dropped. "xinxi" (``p:xinxi``
    or the word ``a:xinxi``) usually comes out as one token, which needs no grouping.
    Counts matter only to choose the token that drives a query of several groups; of the
    alternatives of one group (``xx``: ``i:xx`` or ``a:xx``) it is only asked whether any
    entry has them: one index probe rather than up to ``_DF_CAP`` entries of a common token.
    """
    tokens = parsed.tokens
    if len(tokens) < 2:
        return parsed, {}
    t = _TOKEN.c
    joins = any(len(plan.groups) > 1 for plan in parsed.plans)
    counted = [
        select(func.count())
        .select_from(
            select(t.dataset_id).where(t.token == k).limit(_DF_CAP if joins else 1).subquery()
        )
        .scalar_subquery()
        for k in tokens
    ]
    found = dict(zip(tokens, (int(n) for n in conn.execute(select(*counted)).one()), strict=True))
    df = found if joins else {}
    present = {k for k, n in found.items() if n}
    if len(present) == len(tokens):
        return parsed, df
    plans: list[Plan] = []
    for plan in parsed.plans:
        groups = tuple(g & present for g in plan.groups)
        if all(groups) and Plan(groups) not in plans:
            plans.append(Plan(groups))
    return ParsedQuery(tuple(plans)), df


def _singles(parsed: ParsedQuery) -> list[str]:
    """The tokens that are a group by themselves in the query's only reading."""
    if len(parsed.plans) != 1:
        return []
    return [next(iter(g)) for g in parsed.plans[0].groups if len(g) == 1]


def _rare(parsed: ParsedQuery, df: dict[str, int]) -> bool:
    """Whether ``_match`` is driven by a token that fewer than ``_DF_CAP`` entries have."""
    if not df or len(parsed.tokens) < 2:
        return False
    singles = _singles(parsed)
    return bool(singles) and min(df.get(k, _DF_CAP) for k in singles) < _DF_CAP


def _readings(parsed: ParsedQuery) -> ColumnElement[bool] | None:
    """The HAVING condition of a multi-token query (None: any of its tokens is a match)."""
    t = _TOKEN.c
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
    t = _TOKEN.c
    if len(parsed.tokens) == 1:
        # A scalar subquery, not EXISTS: PostgreSQL would turn EXISTS into a semi-join over
        # all of the token's rows; a scalar subquery is probed per row read, in index order.
        weight = (
            select(t.weight)
            .where(t.token == parsed.tokens[0], t.dataset_id == _DOC.c.dataset_id)
            .scalar_subquery()
        )
        return weight.is_not(None) if score is None else weight == score
    sub = select(func.sum(t.weight)).where(
        t.token.in_(parsed.tokens), t.dataset_id == _DOC.c.dataset_id
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


def _where(
    visibility: ColumnElement[bool], f: SearchFilter
) -> tuple[list[ColumnElement[bool]], Select[int] | None]:
    """(conditions on ``search_facet``, allowed entry ids or None) for the visibility rule
    (the actor's, or the public one) and the filters.

    The tag filter is the only one not on a facet key: it narrows the allowed ids to the
    tag's range of ``search_tag``, which every step of a search already applies."""
    on_facet, on_ids = _on_facet(visibility)
    conditions: list[ColumnElement[bool]] = [on_facet]
    if f.state is None:  # entries withdrawn by a change request leave every list
        conditions.append(_FACET.c.state != WITHDRAWN)
    for name in FACET_NAMES:
        value = getattr(f, name)
        if value is None:
            continue
        if name in ("agency_id", "region_id") and not queries.valid_id(value):
            return [false()], on_ids
        conditions.append(_FACET.c[name] == getattr(value, "value", value))
    if f.tag is not None:
        tagged = select(_TAG.c.dataset_id).where(_TAG.c.tag == f.tag)
        if on_ids is not None:
            tagged = tagged.where(_TAG.c.dataset_id.in_(on_ids))
        on_ids = tagged
    return conditions, on_ids


def _order(sort: SortKey) -> list[Any]:
    """The order of entries of equal score (and of every page not sorted by relevance)."""
    d = _DOC.c
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


@dataclass(frozen=True)
class _Counts:
    """What the grouped scan tells: entries per score level (one level, ``None``, unless
    sorted by relevance) and per value of each facet."""

    levels: Counter[int | None]
    per: dict[str, Counter[Any]]


def _roll_up(rows: Iterable[Sequence[Any]], by_level: bool) -> _Counts:
    """Rows of (the facet values, score, entries) rolled up per facet, in Python."""
    per: dict[str, Counter[Any]] = {name: Counter() for name in FACET_NAMES}
    counters = [per[name] for name in FACET_NAMES]
    levels: Counter[int | None] = Counter()
    for row in rows:
        n = int(row[-1])
        levels[int(row[-2]) if by_level else None] += n
        for counter, value in zip(counters, row, strict=False):  # the facet values
            counter[value] += n
    return _Counts(levels, per)


#: ``grouping(<facet columns>, score)`` of the grouping set of each of them alone: every
#: argument's bit set (not grouped) but its own (the first argument is the highest bit).
_KEYS = len(FACET_NAMES) + 1
_SETS = {(1 << _KEYS) - 1 - (1 << (_KEYS - 1 - i)): i for i in range(_KEYS)}


def _count(
    conn: Connection,
    g: Any,
    facet_where: list[ColumnElement[bool]],
    by_level: bool,
    with_facets: bool,
) -> _Counts:
    """Counts per facet value and score level of the grouped scan ``g`` (facet_id, score, n),
    on the facet keys that ``facet_where`` allows.

    PostgreSQL rolls them up itself (``GROUPING SETS``): a few hundred rows, one per facet
    value, instead of thousands of (facet key, score) rows added up in Python. SQLite has no
    grouping sets; it returns the (facet key, score) rows and Python adds them up.
    """
    columns = [_FACET.c[n] for n in FACET_NAMES]
    joined = select().join_from(g, _FACET, _FACET.c.id == g.c.facet_id)
    per: dict[str, Counter[Any]] = {name: Counter() for name in FACET_NAMES}
    levels: Counter[int | None] = Counter()
    if not with_facets:
        stmt = joined.with_only_columns(g.c.score, func.sum(g.c.n)).where(*facet_where)
        for score, n in conn.execute(stmt.group_by(g.c.score)):
            levels[int(score) if by_level else None] += int(n)
        return _Counts(levels, per)
    if conn.dialect.name != "postgresql":
        stmt = joined.with_only_columns(*columns, g.c.score, g.c.n).where(*facet_where)
        return _roll_up(conn.execute(stmt), by_level)
    keys = [*columns, g.c.score]
    stmt = (
        joined.with_only_columns(*keys, func.grouping(*keys), func.sum(g.c.n))
        .where(*facet_where)
        .group_by(func.grouping_sets(*keys))
    )
    for row in conn.execute(stmt).all():
        i, n = _SETS[row[-2]], int(row[-1])
        if i == len(FACET_NAMES):
            levels[int(row[i]) if by_level else None] += n
        else:
            per[FACET_NAMES[i]][row[i]] += n
    return _Counts(levels, per)


def _fetch_small(
    conn: Connection,
    parsed: ParsedQuery,
    df: dict[str, int],
    facet_where: list[ColumnElement[bool]],
    id_where: Select[int] | None,
    by_level: bool,
) -> tuple[dict[int | None, list[int]], _Counts]:
    """The few matches of a query whose rarest token is rare: their ids per score level, and
    their counts."""
    m = _match(parsed, df).subquery("m")
    matched = conn.execute(
        select(m.c.dataset_id, m.c.score, m.c.facet_id)
        .join_from(m, _FACET, _FACET.c.id == m.c.facet_id)
        .where(*facet_where, _visible(m.c.dataset_id, id_where))
    ).all()
    small: dict[int | None, list[int]] = {}
    per_key: Counter[tuple[int, int]] = Counter()
    for dataset_id, score_of, facet_of in matched:
        per_key[int(facet_of), int(score_of)] += 1
        small.setdefault(int(score_of) if by_level else None, []).append(int(dataset_id))
    keys = sorted({f for f, _ in per_key})
    columns = [_FACET.c[n] for n in FACET_NAMES]
    values = {
        int(r[0]): tuple(r[1:])
        for r in conn.execute(select(_FACET.c.id, *columns).where(_among(conn, keys, _FACET.c.id)))
    }
    rows = [(*values[f], sc, n) for (f, sc), n in per_key.items()]
    return small, _roll_up(rows, by_level)


def _facets(conn: Connection, per: dict[str, Counter[Any]]) -> dict[str, list[FacetCount]]:
    """The facets as shown: values labelled, enums in their own order, others by count."""
    for counter in per.values():
        counter.pop(None, None)
        counter.pop("", None)
    names: dict[str, dict[int, str]] = {"agency_id": {}, "region_id": {}}
    wanted = [
        select(literal(name), table.c.id, table.c.name).where(
            _among(conn, [int(i) for i in per[name]], table.c.id)
        )
        for name, table in (("agency_id", Agency.__table__), ("region_id", Region.__table__))
        if per[name]
    ]
    if wanted:  # both in one round trip
        for name, i, text in conn.execute(union_all(*wanted)).all():
            names[name][int(i)] = translate(str(text)) if name == "region_id" else str(text)
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


def _tag_facet(
    conn: Connection,
    facet_where: list[ColumnElement[bool]],
    id_where: Select[int] | None,
    matches: Subquery | list[int] | None,
) -> list[FacetCount]:
    """The ``TAG_FACET_SIZE`` most common tags of the matches, most common first.

    One grouped query over ``search_tag``: without words (``matches`` None) a plain GROUP BY
    over the visible entries' tag rows (each carries its entry's facet key, so visibility
    and filters are decided on ``search_facet`` as for the other facets); with words each
    match (``_match``'s subquery) probes its entry's tags, its own facet key deciding;
    the few ids already fetched passed every condition and are counted as they are.
    It costs about a microsecond per tag row or per match on SQLite (docs/search.md).
    """
    t = _TAG.c
    n = func.count().label("n")
    if isinstance(matches, list):
        if not matches:
            return []
        stmt = select(t.tag, n).where(_among(conn, matches, t.dataset_id))
    elif matches is None:
        stmt = (
            select(t.tag, n)
            .join_from(_TAG, _FACET, _FACET.c.id == t.facet_id)
            .where(*facet_where, _visible(t.dataset_id, id_where))
        )
    else:
        # Each match probes its entry's tags (``ix_search_tag_dataset_id`` holds the tag
        # too), its own facet key deciding visibility and filters.
        stmt = (
            select(t.tag, n)
            .join_from(matches, _FACET, _FACET.c.id == matches.c.facet_id)
            .join(_TAG, t.dataset_id == matches.c.dataset_id)
            .where(*facet_where, _visible(matches.c.dataset_id, id_where))
        )
    rows = conn.execute(stmt.group_by(t.tag).order_by(n.desc(), t.tag).limit(TAG_FACET_SIZE)).all()
    return [FacetCount(str(tag), str(tag), int(k)) for tag, k in rows]


#: A level of equal score is read in ``search_doc`` index order (probing each entry's tokens)
#: rather than gathered and sorted, when it is at least this dense among all entries.
_DENSE = 0.02


def _among(conn: Connection, ids: list[int], column: Any = None) -> ColumnElement[bool]:
    """``column`` (``search_doc.dataset_id``) is one of ``ids``."""
    return among(conn, ids, _DOC.c.dataset_id if column is None else column)


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


#: A cached public search keeps its matches' ids when there are at most this many.
_KEEP_IDS = 5000


def _cache_key(
    session: Session, conn: Connection, query: SearchQuery, by_level: bool
) -> tuple[Any, ...] | None:
    """What a public search's counts depend on: the database and its index token, the
    language of the labels, the words and filters (None: not to be cached, as when the
    session's own uncommitted index changes are visible to it)."""
    if indexer.has_changes(session):
        return None
    token = indexer.state_token(conn)
    if token is None:
        return None
    wanted = sorted(
        (name, str(value))
        for name, value in query.active().items()
        if name in SearchFilter.model_fields
    )
    return (
        conn.engine.url.render_as_string(hide_password=False),
        token,
        current_language.get(),
        tuple(wanted),
        by_level,
        query.with_facets,
    )


def _counted(
    conn: Connection,
    query: SearchQuery,
    parsed: ParsedQuery,
    has_words: bool,
    by_level: bool,
    facet_where: list[ColumnElement[bool]],
    id_where: Select[int] | None,
) -> (
    tuple[
        ParsedQuery,
        dict[str, int],
        _Counts,
        dict[str, list[FacetCount]],
        dict[int | None, list[int]] | None,
    ]
    | None
):
    """(the query without absent tokens, their frequencies, the counts, the facets, the
    ids per level when few) of a search; None when no entry has one of its words."""
    facets: dict[str, list[FacetCount]] = {name: [] for name in (*FACET_NAMES, TAG_FACET)}
    df: dict[str, int] = {}
    if has_words:
        parsed, df = _present(conn, parsed)
        if parsed.empty:
            return None

    # One grouped scan of the matches: how many per facet key (and score), nothing joined.
    # When the query's rarest token is rare, its few matches are fetched once instead, and
    # counted and paged from here.
    small: dict[int | None, list[int]] | None = None
    if has_words and _rare(parsed, df):
        small, counts = _fetch_small(conn, parsed, df, facet_where, id_where, by_level)
    else:
        if has_words:
            match = _match(parsed, df).subquery("m")
            grouped = (
                select(match.c.facet_id, match.c.score, func.count().label("n"))
                .where(_visible(match.c.dataset_id, id_where))
                .group_by(match.c.facet_id, match.c.score)
            )
        else:
            d = _DOC.c
            grouped = (
                select(d.facet_id, literal(None).label("score"), func.count().label("n"))
                .where(_visible(d.dataset_id, id_where))
                .group_by(d.facet_id)
            )
        counts = _count(conn, grouped.subquery("g"), facet_where, by_level, query.with_facets)
    if query.with_facets:
        facets = _facets(conn, counts.per)
        matches: Subquery | list[int] | None = None
        if small is not None:
            matches = [i for ids_ in small.values() for i in ids_]
        elif has_words:
            matches = _match(parsed, df).subquery("m")
        total = sum(counts.levels.values())
        facets[TAG_FACET] = _tag_facet(conn, facet_where, id_where, matches) if total else []
    return parsed, df, counts, facets, small


def _page_ids(
    conn: Connection,
    parsed: ParsedQuery,
    df: dict[str, int],
    levels: list[tuple[int | None, int]],
    window: tuple[int, int],
    order: list[Any],
    facet_where: list[ColumnElement[bool]],
    id_where: Select[int] | None,
    small: dict[int | None, list[int]] | None,
) -> list[int]:
    """The ids of a page of results, level by level of equal score (one level unless sorted
    by relevance). ``parsed`` has no tokens when there are no words."""
    start, size = window
    has_words = bool(parsed.tokens)
    ids: list[int] = []
    allowed = select(_FACET.c.id).where(*facet_where)
    entries = 0  # how many there are decides how to read a level, unless ids are known
    if small is None:
        entries = int(conn.execute(select(func.max(_DOC.c.dataset_id))).scalar() or 0)
    for score, n, offset, limit in _levels(levels, start, start + size):
        # A dense level is read in the order's index, checking each entry as it comes
        # (the facet check kept off its index, "+ 0", so the order's index is used);
        # a sparse one is gathered through its own index and sorted.
        dense = n >= _DENSE * entries
        facet_id = _DOC.c.facet_id + 0 if dense else _DOC.c.facet_id
        stmt = select(_DOC.c.dataset_id).where(
            facet_id.in_(allowed), _visible(_DOC.c.dataset_id, id_where)
        )
        if small is not None:  # the level's ids are known: sort just those
            stmt = select(_DOC.c.dataset_id).where(_among(conn, small[score]))
        elif has_words and dense:
            stmt = stmt.where(_probe(parsed, score))
        elif has_words:  # a few entries: gather their ids, then sort just those
            m = _match(parsed, df).subquery("m")
            level = select(m.c.dataset_id).where(m.c.facet_id.in_(allowed))
            if score is not None:
                level = level.where(m.c.score == score)
            level = level.where(_visible(m.c.dataset_id, id_where))
            found = [int(i) for i in conn.execute(level).scalars()]
            stmt = select(_DOC.c.dataset_id).where(_among(conn, found))
        page_ids = conn.execute(stmt.order_by(*order).limit(limit).offset(offset))
        ids.extend(int(i) for i in page_ids.scalars())
    return ids


def search_datasets(
    session: Session,
    actor: Actor | None,
    query: SearchQuery,
    *,
    public: bool = False,
    window: tuple[int, int] | None = None,
    ties: Literal["code", "updated"] = "code",
) -> SearchResult:
    """The catalog entries the actor may read that match ``query``: one page and facets.

    Anyone signed in may search; each sees only what ``visible_clause`` lets them read, in
    the items, the total and every facet count. Words must all match (title, description,
    field labels or agency name; pinyin and initials for titles and agency names).

    ``public=True`` searches the public entries (``gongshu.portal.openness.public_clause``)
    instead, for anyone, signed in or not (the portal and the CKAN API): the same rule for
    every reader, whatever their own rights.

    ``window=(offset, limit)`` reads that slice of the results instead of ``query.page``
    (CKAN's ``start``/``rows``); ``offset + limit`` must stay within ``MAX_WINDOW``.
    ``ties`` orders entries of equal relevance: by code, or newest first (CKAN's default
    ``score desc, metadata_modified desc``).
    """
    indexer.sync(session)
    visibility = public_clause() if public else queries.visible_clause(require_login(actor))
    parsed = parse_query(query.q)
    has_words = bool(query.q.strip())
    sort: SortKey = query.sort or ("relevance" if has_words else "code")
    per_page = query.per_page
    page = max(1, min(query.page, math.ceil(MAX_WINDOW / per_page)))
    facet_where, id_where = _where(visibility, query)
    conn = session.connection()  # Core rows: no ORM bookkeeping for counts and ids
    by_level = sort == "relevance" and has_words
    settings = get_settings()
    key = _cache_key(session, conn, query, by_level) if public else None
    small: dict[int | None, list[int]] | None = None
    if key is not None and (kept := cache.get(settings, key)) is not None:
        parsed, df, counts, kept_facets, kept_small = kept
        facets = {name: list(values) for name, values in kept_facets.items()}
        if kept_small is not None:
            small = {level: list(ids) for level, ids in kept_small.items()}
    else:
        counted = _counted(conn, query, parsed, has_words, by_level, facet_where, id_where)
        if counted is None:
            facets = {name: [] for name in (*FACET_NAMES, TAG_FACET)}
            return SearchResult([], 0, page, per_page, sort, facets)
        parsed, df, counts, facets, small = counted
        if key is not None:
            # The few matches' ids are kept too (compactly), so a rare query pages without
            # gathering them again; a common query's are not worth the memory.
            few = small is not None and sum(map(len, small.values())) <= _KEEP_IDS
            kept_small = {k: array("q", v) for k, v in small.items()} if few and small else None
            cache.put(settings, key, (parsed, df, counts, facets, kept_small))
            facets = {name: list(values) for name, values in facets.items()}
    total = sum(counts.levels.values())

    # 2. The page, level by level of equal score (one level unless sorted by relevance).
    levels = sorted(counts.levels.items(), key=lambda kv: -(kv[0] or 0))
    start, size = (page - 1) * per_page, per_page
    if window is not None:
        start, size = window
    ids: list[int] = []
    if total and start < total:
        # A public page is kept as well (its ids: the entries themselves are read afresh).
        page_key = None if key is None else (*key, sort, ties, start, size)
        if page_key is not None and (kept_ids := cache.get(settings, page_key)) is not None:
            ids = list(kept_ids)
        else:
            order = _order(ties if sort == "relevance" else sort)
            ids = _page_ids(
                conn, parsed, df, levels, (start, size), order, facet_where, id_where, small
            )
            if page_key is not None:
                cache.put(settings, page_key, tuple(ids))

    items = load_hits(conn, ids)
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
    rows = session.execute(_match(parsed).with_only_columns(_TOKEN.c.dataset_id)).scalars()
    return sorted(int(i) for i in rows)


def _refresh(session: Session, phrase: str) -> tuple[int, int | None]:
    ids = _affected(session, phrase)
    indexer.changed(session)  # the override alone changes how title sorts and tokens read
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
        indexer.changed(session)
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
