"""Reads: query budgets (no N+1), ordering, counts, history view."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from gongshu.errors import NotFound
from gongshu.orgs import queries
from gongshu.orgs.models import Agency, Region
from tests.factories import Person, login


@contextmanager
def count_statements(db: Session) -> Iterator[list[str]]:
    statements: list[str] = []
    bind = db.get_bind()
    engine = bind.engine

    def before(conn: object, cursor: object, statement: str, *args: object) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def test_list_agencies_uses_three_statements(
    db: Session, make_agency: Callable[..., Agency], district: Region
) -> None:
    for n in range(6):
        make_agency(f"临沂市预算测试局{n}", region=district if n % 2 else None)
    db.expire_all()
    with count_statements(db) as statements:
        result = queries.list_agencies(db, queries.AgencyFilter(per_page=50))
        names = [a.region.name for a in result.items]  # regions already loaded
    assert len(names) == 6
    assert len(statements) == 3, statements


def test_agency_list_page_does_not_grow_with_rows(
    client: TestClient, db: Session, make_agency: Callable[..., Agency], officer: Person
) -> None:
    login(client, officer)
    client.get("/agencies")  # warm-up (templates, session)
    with count_statements(db) as few:
        assert client.get("/agencies").status_code == 200
    for n in range(8):
        make_agency(f"临沂市翻页预算局{n}")
    with count_statements(db) as many:
        assert client.get("/agencies").status_code == 200
    assert len(many) == len(few), (few, many)


def test_ordering(db: Session, make_agency: Callable[..., Agency]) -> None:
    make_agency("临沂市乙局")
    make_agency("临沂市甲局")
    asc = queries.list_agencies(db, queries.AgencyFilter(order="credit_code")).items
    desc = queries.list_agencies(db, queries.AgencyFilter(order="-credit_code")).items
    assert [a.id for a in asc] == [a.id for a in reversed(desc)]
    unknown = queries.list_agencies(db, queries.AgencyFilter(order="-password")).items
    assert [a.name for a in unknown] == sorted(a.name for a in unknown)


def test_catalog_counts(db: Session, agency: Agency, make_dataset: Callable[..., object]) -> None:
    make_dataset()
    make_dataset(title="企业年报信息")
    counts = queries.catalog_counts(db, agency.id)
    assert counts.total == 2 and counts.published == 0
    assert queries.dataset_counts(db, [agency.id]) == {agency.id: 2}


def test_get_agency_and_region_lookups(db: Session, district: Region) -> None:
    with pytest.raises(NotFound):
        queries.get_agency(db, 424242)
    with pytest.raises(NotFound):
        queries.get_region(db, 424242)
    with pytest.raises(NotFound, match="999999"):
        queries.region_by_code(db, "999999")
    assert queries.region_by_code(db, "371302").id == district.id


def test_data_officers_and_users(
    db: Session, agency: Agency, officer: Person, make_person: Callable[..., Person]
) -> None:
    from gongshu.auth.models import Role

    consumer = make_person(Role.AGENCY_CONSUMER, agency=agency)
    assert [u.id for u in queries.data_officers(db, agency.id)] == [officer.user.id]
    assert {u.id for u in queries.agency_users(db, agency.id)} == {
        officer.user.id,
        consumer.user.id,
    }
