"""Keeping the search index fresh: the same transaction that changes an entry re-indexes it.

A listener on every session's ``after_flush`` collects the catalog entries a flush touched —
new, changed or deleted entries, changed or removed fields, renamed agencies, a new live
version (its time is the entry's last update). ``sync`` rewrites their ``search_token``,
``search_doc`` and ``search_tag`` rows with Core statements on the session's own
connection: before the transaction commits, and before anything in it reads the index (every
reader calls ``sync`` first), so an entry that a workflow flushes five times in one
transaction is indexed once. No service has to remember to call it, and a rolled-back write
leaves no trace in the index. ``reindex`` rebuilds everything (``gongshu search reindex``)
or a given set.

A session whose transaction changed the index sets a new ``search_state`` token as the last
statement before it commits (``before_commit``), so the token and the rows change together
and the token's row is locked only for the commit itself; processes cache public search
counts under it (``gongshu.search.cache``).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, delete, event, func, insert, inspect, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, UOWTransaction

from gongshu.catalog.models import Dataset, Field
from gongshu.orgs.models import Agency
from gongshu.search.models import (
    FACET_COLUMNS,
    TAG_CHARS,
    PinyinOverride,
    SearchDoc,
    SearchFacet,
    SearchState,
    SearchTag,
    SearchToken,
)
from gongshu.search.tokens import Overrides, document_tokens, title_sort_key
from gongshu.store.models import DatasetHead, DatasetVersion

_BATCH = 500
_DOC_COLUMNS = ("code", *FACET_COLUMNS, "updated_at")

FacetValues = tuple[Any, ...]


def facet_values(row: Any) -> FacetValues:
    """The facet values of a row (mapping or object) as stored: enums as strings."""
    get = row.get if isinstance(row, dict) else lambda n: getattr(row, n)
    return tuple(getattr(v, "value", v) for v in (get(n) for n in FACET_COLUMNS))


def facet_ids(conn: Connection, combos: Iterable[FacetValues]) -> dict[FacetValues, int]:
    """The facet key of each combination, adding the ones never seen before.

    Concurrent writers may add the same combination: the insert skips what already exists.
    """
    wanted = set(combos)
    if not wanted:
        return {}
    agencies = sorted({c[0] for c in wanted})
    columns = [getattr(SearchFacet, n) for n in FACET_COLUMNS]

    def known() -> dict[FacetValues, int]:
        rows = conn.execute(
            select(SearchFacet.id, *columns).where(SearchFacet.agency_id.in_(agencies))
        )
        return {tuple(r[1:]): int(r[0]) for r in rows if tuple(r[1:]) in wanted}

    found = known()
    missing = wanted - set(found)
    if missing:
        values = [dict(zip(FACET_COLUMNS, c, strict=True)) for c in sorted(missing, key=str)]
        dialect = conn.dialect.name
        if dialect == "postgresql":
            conn.execute(pg_insert(SearchFacet).on_conflict_do_nothing(), values)
        elif dialect == "sqlite":
            conn.execute(sqlite_insert(SearchFacet).on_conflict_do_nothing(), values)
        else:  # pragma: no cover - the platform runs on SQLite and PostgreSQL only
            conn.execute(insert(SearchFacet), values)
        found = known()
    return found


def load_overrides(conn: Connection | Session) -> Overrides:
    rows = conn.execute(select(PinyinOverride.phrase, PinyinOverride.pinyin)).all()
    return Overrides.of({str(p): str(s) for p, s in rows})


def _chunks(ids: Sequence[int], size: int = _BATCH) -> Iterable[Sequence[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def tag_values(tags: Any) -> list[str]:
    """An entry's tags as the index holds them: trimmed, cut to ``TAG_CHARS``, each once."""
    if not isinstance(tags, list):
        return []
    cut = (str(t).strip()[:TAG_CHARS].strip() for t in tags if t is not None)
    return list(dict.fromkeys(t for t in cut if t))


def index_rows(
    ids: Sequence[int], conn: Connection, overrides: Overrides
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``search_doc``, ``search_token`` and ``search_tag`` rows of the given entries
    (as they are now)."""
    docs: list[dict[str, Any]] = []
    tokens: list[dict[str, Any]] = []
    tags: list[dict[str, Any]] = []
    columns = [getattr(Dataset, c) for c in _DOC_COLUMNS]
    rows = conn.execute(
        select(
            Dataset.id,
            Dataset.title,
            Dataset.description,
            Agency.name,
            Dataset.tags,
            DatasetVersion.published_at,
            *columns,
        )
        .join(Agency, Agency.id == Dataset.agency_id)
        .outerjoin(DatasetHead, DatasetHead.dataset_id == Dataset.id)
        .outerjoin(DatasetVersion, DatasetVersion.id == DatasetHead.version_id)
        .where(Dataset.id.in_(ids))
    ).all()
    labels: dict[int, list[str]] = {}
    for dataset_id, text in conn.execute(
        select(Field.dataset_id, Field.label).where(Field.dataset_id.in_(ids))
    ):
        labels.setdefault(int(dataset_id), []).append(str(text))
    values_of = {int(r[0]): dict(zip(_DOC_COLUMNS, r[6:], strict=True)) for r in rows}
    keys = facet_ids(conn, (facet_values(v) for v in values_of.values()))
    for row in rows:
        dataset_id, title, description, agency_name, tag_list, published_at = row[:6]
        values = values_of[int(dataset_id)]
        facet_id = keys[facet_values(values)]
        docs.append(
            {
                "dataset_id": dataset_id,
                "code": values["code"],
                "title_sort": title_sort_key(title, overrides),
                "facet_id": facet_id,
                # The last change to the entry's metadata or its data (the live version):
                # what "newest first" and CKAN's metadata_modified mean.
                "updated_at": max(values["updated_at"], published_at or values["updated_at"]),
            }
        )
        weights = document_tokens(
            title=title,
            description=description,
            labels=labels.get(dataset_id, ()),
            agency_name=agency_name,
            code=values["code"],
            overrides=overrides,
        )
        tokens.extend(
            {"token": t, "dataset_id": dataset_id, "weight": w, "facet_id": facet_id}
            for t, w in sorted(weights.items())
        )
        tags.extend(
            {"tag": t, "dataset_id": dataset_id, "facet_id": facet_id} for t in tag_values(tag_list)
        )
    return docs, tokens, tags


def reindex_ids(conn: Connection, ids: Iterable[int], overrides: Overrides | None = None) -> int:
    """Rewrite the index rows of these entries (deleted entries just lose theirs)."""
    unique = sorted(set(ids))
    if not unique:
        return 0
    overrides = overrides if overrides is not None else load_overrides(conn)
    for chunk in _chunks(unique):
        conn.execute(delete(SearchToken).where(SearchToken.dataset_id.in_(chunk)))
        conn.execute(delete(SearchTag).where(SearchTag.dataset_id.in_(chunk)))
        conn.execute(delete(SearchDoc).where(SearchDoc.dataset_id.in_(chunk)))
        docs, tokens, tags = index_rows(chunk, conn, overrides)
        if docs:
            conn.execute(insert(SearchDoc), docs)
        if tokens:
            conn.execute(insert(SearchToken), tokens)
        if tags:
            conn.execute(insert(SearchTag), tags)
    return len(unique)


def reindex_all(session: Session) -> int:
    """Rebuild the whole index in the session's transaction; returns the entries indexed."""
    sync(session)
    changed(session)
    conn = session.connection()
    conn.execute(delete(SearchToken))
    conn.execute(delete(SearchTag))
    conn.execute(delete(SearchDoc))
    ids = [int(i) for i in conn.execute(select(Dataset.id).order_by(Dataset.id)).scalars()]
    return reindex_ids(conn, ids)


def index_counts(session: Session) -> tuple[int, int]:
    """(catalog entries, indexed entries): unequal means ``gongshu search reindex`` is due."""
    sync(session)
    entries = int(session.scalar(select(func.count()).select_from(Dataset)) or 0)
    indexed = int(session.scalar(select(func.count()).select_from(SearchDoc)) or 0)
    return entries, indexed


def _changed(obj: object, names: Iterable[str]) -> bool:
    state = inspect(obj)
    return any(state.attrs[n].history.has_changes() for n in names)


def touched_datasets(session: Session) -> set[int]:
    """Ids of the entries whose index rows a flush made stale."""
    ids: set[int] = set()
    agencies: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Dataset):
            if obj.id is not None:
                ids.add(obj.id)
        elif isinstance(obj, Field | DatasetHead):
            if obj.dataset_id is not None:
                ids.add(obj.dataset_id)
        elif isinstance(obj, Agency) and obj in session.dirty and _changed(obj, ("name",)):
            agencies.add(obj.id)
    if agencies:
        conn = session.connection()
        ids.update(
            int(i)
            for i in conn.execute(select(Dataset.id).where(Dataset.agency_id.in_(agencies)))
            .scalars()
            .all()
        )
    return ids


#: ``session.info`` keys: the session's transaction has changed the index; the entries its
#: flushes touched that ``sync`` has not indexed yet.
_CHANGED = "search_index_changed"
_PENDING = "search_index_pending"
_OWNER = "search_index_owner"


def defer_to(session: Session, owner: Session) -> None:
    """Let ``owner`` index what ``session`` touches, when ``owner`` commits or reads the
    index: for a session working inside ``owner``'s transaction (one savepoint per row of a
    bulk import), so that the entries are indexed together, or not at all if ``owner``
    rolls back. ``session`` itself must not read the index."""
    session.info[_OWNER] = owner


def changed(session: Session) -> None:
    """Note that the session's transaction wrote index rows: its commit sets a new token."""
    session.info[_CHANGED] = True


def has_changes(session: Session) -> bool:
    """Whether the session holds index changes not yet committed (its reads see them, so
    they must not be cached under the committed token)."""
    return bool(session.info.get(_CHANGED))


def state_token(conn: Connection) -> str | None:
    """The index's current token (None: the row is missing, so nothing may be cached)."""
    return conn.execute(select(SearchState.token).where(SearchState.id == 1)).scalar()


def new_token(conn: Connection) -> None:
    token = secrets.token_hex(8)
    done = conn.execute(update(SearchState).where(SearchState.id == 1).values(token=token))
    if not done.rowcount:
        conn.execute(insert(SearchState).values(id=1, token=token))


def sync(session: Session) -> None:
    """Flush the session and index the entries its flushes touched. Every reader of the
    index calls this first, so that a transaction's searches see its own changes."""
    if session.new or session.dirty or session.deleted:
        session.flush()
    pending = session.info.pop(_PENDING, None)
    if pending:
        reindex_ids(session.connection(), pending)


def _after_flush(session: Session, _flush_context: UOWTransaction) -> None:
    ids = touched_datasets(session)
    if ids:
        owner = session.info.get(_OWNER, session)
        owner.info.setdefault(_PENDING, set()).update(ids)
        changed(owner)


def _before_commit(session: Session) -> None:
    # The commit's own flush comes after this event: flush first, so that its index
    # changes are seen here.
    sync(session)
    if has_changes(session):
        new_token(session.connection())


def _after_commit(session: Session) -> None:
    session.info.pop(_CHANGED, None)


def _after_soft_rollback(session: Session, previous: Any) -> None:
    if previous.parent is None:  # the whole transaction: what it touched is undone
        session.info.pop(_PENDING, None)
        session.info.pop(_CHANGED, None)


def install() -> None:
    """Listen to every session (idempotent)."""
    for name, listener in (
        ("after_flush", _after_flush),
        ("before_commit", _before_commit),
        ("after_commit", _after_commit),
        ("after_soft_rollback", _after_soft_rollback),
    ):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


install()
