"""Counts, pages and result rows agree, whichever way a search is carried out.

A search picks its strategy by how common its tokens are (the rare-token path, dense or
sparse score levels) and rolls facet counts up in SQL on PostgreSQL (GROUPING SETS) or in
Python on SQLite. Each strategy must give the same answer as every other and as a plain
count of the entries on the page.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from gongshu.catalog.models import Dataset
from gongshu.catalog.schemas import DatasetRead
from gongshu.search import SearchResult, service
from gongshu.search.hits import DatasetHit
from tests.factories import Person
from tests.search.conftest import SYSTEM
from tests.search.test_queries import QUERIES

Search = Callable[..., SearchResult]
FACETS = (
    "agency_id",
    "region_id",
    "domain",
    "category_class",
    "share_type",
    "open_type",
    "level",
    "update_cycle",
    "state",
)


def _plain_counts(db: Session, result: SearchResult) -> dict[str, dict[str, int]]:
    """The facet counts of the page's entries, counted one by one from ``dataset`` rows."""
    rows = [db.get(Dataset, hit.id) for hit in result.items]
    out: dict[str, dict[str, int]] = {}
    for name in FACETS:
        counted = Counter(str(getattr(getattr(d, name), "value", getattr(d, name))) for d in rows)
        out[name] = {v: n for v, n in counted.items() if v}
    return out


def _shown(result: SearchResult) -> dict[str, dict[str, int]]:
    return {name: {f.value: f.count for f in result.facets[name]} for name in FACETS}


@pytest.mark.parametrize("q", ["", "信息", "监测 数据", "kongqi", "kq", "gongjiao 统计", "xyz"])
def test_facet_counts_are_a_plain_count_of_the_matches(
    db: Session,
    corpus: dict[str, Dataset],
    search: Search,
    officer: Person,
    other_officer: Person,
    consumer: Person,
    q: str,
) -> None:
    for actor in (SYSTEM, officer.actor, other_officer.actor, consumer.actor):
        result = search(q, actor=actor, per_page=100)
        assert result.total == len(result.items)
        assert _shown(result) == _plain_counts(db, result)
        bare = search(q, actor=actor, per_page=100, with_facets=False)
        assert [h.id for h in bare.items] == [h.id for h in result.items]
        assert bare.total == result.total
        assert all(values == [] for values in bare.facets.values())


def test_sorted_pages_count_the_same_as_relevance(
    corpus: dict[str, Dataset], search: Search, officer: Person
) -> None:
    by_relevance = search("信息", actor=officer.actor, per_page=100)
    by_update = search("信息", actor=officer.actor, per_page=100, sort="updated")
    assert by_update.total == by_relevance.total
    assert _shown(by_update) == _shown(by_relevance)
    assert sorted(h.id for h in by_update.items) == sorted(h.id for h in by_relevance.items)


@pytest.mark.parametrize(
    ("df_cap", "dense"),
    [(1, 0.0), (1, 1.0), (10**9, 0.0), (10**9, 1.0)],
    ids=["grouped-dense", "grouped-sparse", "rare-dense", "rare-sparse"],
)
def test_every_strategy_gives_the_same_pages(
    corpus: dict[str, Dataset],
    search: Search,
    monkeypatch: pytest.MonkeyPatch,
    df_cap: int,
    dense: float,
) -> None:
    """No token is rare below a cap of 1; with a cap past any count every multi-group query
    takes the rare-token path. A density of 0 reads every score level in index order; of 1,
    gathers and sorts each level."""
    expected = {q: (search(q, per_page=100), search(q, per_page=3, page=2)) for q, _ in QUERIES}
    monkeypatch.setattr(service, "_DF_CAP", df_cap)
    monkeypatch.setattr(service, "_DENSE", dense)
    for q, titles in QUERIES:
        whole, second = search(q, per_page=100), search(q, per_page=3, page=2)
        assert [h.title for h in whole.items] == titles, q
        assert _shown(whole) == _shown(expected[q][0]), q
        assert [h.id for h in second.items] == [h.id for h in expected[q][1].items], q


def test_hits_read_as_the_entries_do(
    db: Session, corpus: dict[str, Dataset], search: Search, officer: Person
) -> None:
    result = search("", actor=officer.actor, per_page=100, sort="title")
    assert result.items and all(isinstance(h, DatasetHit) for h in result.items)
    for hit in result.items:
        entry = db.get(Dataset, hit.id)
        assert entry is not None
        assert DatasetRead.model_validate(hit) == DatasetRead.model_validate(entry)
        assert (hit.agency.id, hit.agency.name, hit.agency.short_name) == (
            entry.agency.id,
            entry.agency.name,
            entry.agency.short_name,
        )
        assert [f.name for f in hit.fields] == [f.name for f in entry.fields]
        assert hit.state == entry.state and hit.updated_at == entry.updated_at
    with pytest.raises(AttributeError):
        _ = result.items[0].no_such_column
    with pytest.raises(AttributeError):
        _ = result.items[0]._private
