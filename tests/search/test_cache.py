"""Public search counts kept per process under the index token, and dropped when it changes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from gongshu.catalog.models import Dataset
from gongshu.search import SearchQuery, SearchResult, cache, indexer, search_datasets
from gongshu.settings import get_settings


def _public(db: Session, **kw: Any) -> SearchResult:
    return search_datasets(db, None, SearchQuery.model_validate(kw), public=True)


def _shown(result: SearchResult) -> tuple[Any, ...]:
    facets = {name: [(f.value, f.count) for f in values] for name, values in result.facets.items()}
    return result.total, [d.title for d in result.items], facets


@contextmanager
def _statements(db: Session) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = db.get_bind()

    def note(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def _counted(statements: list[str]) -> bool:
    """Whether the matches were counted (a grouped scan), not taken from the cache."""
    return any("GROUP BY" in s for s in statements)


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def test_a_repeated_public_search_is_served_from_the_cache(
    db: Session, corpus: dict[str, Dataset]
) -> None:
    first = _public(db, q="监测")
    with _statements(db) as sql:
        again = _public(db, q="监测")
    assert not _counted(sql)
    assert _shown(again) == _shown(first)
    # Another page, sort, filter or language is another search.
    with _statements(db) as sql:
        _public(db, q="监测", tag="环境")
    assert _counted(sql)


def test_an_index_change_is_seen_at_once(db: Session, corpus: dict[str, Dataset]) -> None:
    before = _public(db, q="监测")
    token = indexer.state_token(db.connection())
    corpus["排污许可信息"].title = "排污许可监测信息"
    db.commit()
    assert indexer.state_token(db.connection()) != token
    after = _public(db, q="监测")
    assert after.total == before.total + 1
    assert "排污许可监测信息" in [d.title for d in after.items]
    db.delete(corpus["排污许可信息"])
    db.commit()
    assert _public(db, q="监测").total == before.total


def test_uncommitted_changes_are_never_kept(db: Session, corpus: dict[str, Dataset]) -> None:
    token = indexer.state_token(db.connection())
    corpus["排污许可信息"].title = "排污许可监测信息"
    db.flush()
    assert indexer.has_changes(db)
    # The session sees its own change, and what it saw is not kept for others.
    with _statements(db) as sql:
        mine = _public(db, q="监测")
        _public(db, q="监测")
    assert "排污许可监测信息" in [d.title for d in mine.items]
    assert sum(_counted([s]) for s in sql) >= 2
    db.rollback()
    assert indexer.state_token(db.connection()) == token
    assert "排污许可监测信息" not in [d.title for d in _public(db, q="监测").items]


def test_commits_that_leave_the_index_alone_keep_the_token(
    db: Session, corpus: dict[str, Dataset]
) -> None:
    token = indexer.state_token(db.connection())
    db.commit()
    assert indexer.state_token(db.connection()) == token
    corpus["排污许可信息"].tags = ["许可"]
    db.commit()
    assert indexer.state_token(db.connection()) != token


def test_the_cache_can_be_turned_off(
    db: Session, corpus: dict[str, Dataset], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GONGSHU_SEARCH_CACHE_ENTRIES", "0")
    get_settings.cache_clear()
    try:
        _public(db, q="监测")
        with _statements(db) as sql:
            _public(db, q="监测")
        assert _counted(sql)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
