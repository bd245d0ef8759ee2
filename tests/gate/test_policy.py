"""The gate decides: the order of checks, grants (fields, rows, expiry, several at once),
masking by level and reader, refusals recorded as ``data.denied``, daily row quotas."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.catalog.models import Dataset, DatasetState, Sensitivity
from gongshu.db import utcnow
from gongshu.errors import PermissionDenied
from gongshu.gate import service as gate
from gongshu.gate.filters import Filter
from gongshu.gate.journal import QuotaExceeded
from gongshu.gate.policy import may_read, scope_for
from gongshu.masking import mask, pseudonym
from gongshu.orgs.models import Agency
from gongshu.settings import get_settings
from gongshu.share.models import Grant, GrantStatus
from gongshu.store.models import DatasetVersion
from gongshu.store.storage import LocalStorage
from tests.factories import Person, api_headers
from tests.gate.conftest import person, person_id

KEY = get_settings().masking_secret
MakeGrant = Callable[..., Grant]


def _last(db: Session, action: str) -> AuditEntry:
    entry = db.scalars(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq.desc())
    ).first()
    assert entry is not None
    return entry


def _count(db: Session, action: str) -> int:
    return len(db.scalars(select(AuditEntry.id).where(AuditEntry.action == action)).all())


def _all_rows(
    db: Session, who: Actor, dataset: Dataset, storage: LocalStorage, **kw: Any
) -> list[dict[str, Any]]:
    return gate.read_page(db, who, dataset, purpose="核对", limit=1000, storage=storage, **kw).rows


def test_the_order_of_checks(
    db: Session,
    officer: Person,
    bureau_admin: Person,
    grantee: Person,
    make_person: Callable[..., Person],
    people: Dataset,
    people_version: DatasetVersion,
    make_grant: MakeGrant,
    storage: LocalStorage,
) -> None:
    citizen = make_person(Role.PUBLIC)
    assert scope_for(db, Actor.system("job"), people).basis == "platform"  # type: ignore[union-attr]
    assert scope_for(db, bureau_admin.actor, people).basis == "bureau"  # type: ignore[union-attr]
    assert scope_for(db, officer.actor, people).basis == "provider"  # type: ignore[union-attr]
    # Providers, the bureau and the platform read every value in the clear.
    for reader in (Actor.system("job"), bureau_admin.actor, officer.actor):
        rows = _all_rows(db, reader, people, storage)
        assert rows[0]["person_id"] == person_id(0) and rows[0]["note"] == "第0位"
    # Another body without a grant, and a citizen, are refused — and the refusal recorded.
    denied = _count(db, "data.denied")
    for reader in (grantee.actor, citizen.actor):
        assert not may_read(db, reader, people)
        with pytest.raises(PermissionDenied) as caught:
            _all_rows(db, reader, people, storage)
        assert caught.value.message == "无权读取该数据集的数据"
    assert _count(db, "data.denied") == denied + 2
    entry = _last(db, "data.denied")
    assert entry.actor_id == citizen.user.id
    assert entry.changes["result"] == "denied" and entry.changes["grant"] is None
    assert entry.changes["reason"] == "无权读取该数据集的数据"
    assert entry.changes["operation"] == "page" and entry.changes["purpose"] == "核对"
    # With a grant, the other body reads — as a grant reader.
    grant = make_grant(people, grantee.user.agency_id)
    scope = scope_for(db, grantee.actor, people)
    assert scope is not None and scope.basis == "grant" and scope.grant_id == grant.id


def test_a_grant_reader_sees_its_fields_and_rows_masked_as_configured(
    db: Session,
    grantee: Person,
    people: Dataset,
    people_version: DatasetVersion,
    make_grant: MakeGrant,
    storage: LocalStorage,
) -> None:
    grant = make_grant(
        people,
        grantee.user.agency_id,
        fields=["person_id", "name", "mobile", "address", "district", "note"],
        clear_fields=["mobile"],
        row_filter=[["district", "eq", "兰山区"]],
    )
    rows = _all_rows(db, grantee.actor, people, storage)
    expected = [person(i) for i in range(30) if i % 3 == 0]
    assert len(rows) == len(expected) == 10
    for got, want in zip(rows, expected, strict=True):
        # general_4: ID numbers hashed, names and addresses masked, free text dropped; the
        # grant names mobile as clear; income and born are not granted at all.
        assert set(got) == {"person_id", "name", "mobile", "address", "district"}
        assert got["person_id"] == pseudonym(want["person_id"], KEY)
        assert got["name"] == mask(want["name"], _kind("name"))
        assert got["name"] != want["name"] and got["name"].startswith(want["name"][0])
        assert got["address"] == "临沂市兰山区****"
        assert got["mobile"] == want["mobile"] and got["district"] == "兰山区"
    entry = _last(db, "data.read")
    assert entry.changes["basis"] == "grant" and entry.changes["grant"] == grant.id
    assert entry.changes["result"] == "allowed" and entry.changes["rows"] == 10
    assert entry.changes["masked"] == {"person_id": "hash", "name": "mask", "address": "mask"}
    assert entry.changes["fields"] == ["person_id", "name", "mobile", "address", "district"]
    # Asking for a field the grant does not name, or a dropped one, is refused and recorded.
    for column in ("income", "note"):
        with pytest.raises(PermissionDenied) as caught:
            _all_rows(db, grantee.actor, people, storage, columns=["district", column])
        assert caught.value.message == "无权读取字段“{field}”"
        denial = _last(db, "data.denied")
        assert denial.changes["reason"] == f"无权读取字段“{column}”"
    # A filter can never reach rows outside the grant's row filter.
    assert (
        _all_rows(db, grantee.actor, people, storage, filters=[Filter("district", "eq", "河东区")])
        == []
    )


def _kind(name: str) -> Sensitivity:
    return {"name": Sensitivity.NAME}[name]


def test_expired_and_revoked_grants_deny_at_once(
    db: Session,
    grantee: Person,
    people: Dataset,
    people_version: DatasetVersion,
    make_grant: MakeGrant,
    storage: LocalStorage,
) -> None:
    grant = make_grant(people, grantee.user.agency_id, expires_at=utcnow() + dt.timedelta(hours=1))
    assert len(_all_rows(db, grantee.actor, people, storage)) == 30
    # Past its expiry the grant stops counting, even before a job marks it expired.
    grant.expires_at = utcnow() - dt.timedelta(seconds=1)
    db.flush()
    with pytest.raises(PermissionDenied):
        _all_rows(db, grantee.actor, people, storage)
    grant.expires_at = None
    grant.status = GrantStatus.REVOKED
    db.flush()
    with pytest.raises(PermissionDenied):
        _all_rows(db, grantee.actor, people, storage)
    assert _last(db, "data.denied").changes["grant"] is None
    # A grant that has not started yet does not count either.
    make_grant(people, grantee.user.agency_id, starts_at=utcnow() + dt.timedelta(days=1))
    assert not may_read(db, grantee.actor, people)


def test_an_agency_api_key_reads_through_its_agency_grant(
    db: Session,
    grantee: Person,
    other_agency: Agency,
    people: Dataset,
    people_version: DatasetVersion,
    make_grant: MakeGrant,
    storage: LocalStorage,
) -> None:
    key_actor = Actor(
        user_id=grantee.user.id,
        name="系统接口",
        roles=frozenset({Role.AGENCY_CONSUMER}),
        agency_id=other_agency.id,
        api_key_id=99,
    )
    assert not may_read(db, key_actor, people)
    make_grant(people, other_agency, fields=["district"])
    rows = _all_rows(db, key_actor, people, storage)
    assert rows[0] == {"district": "兰山区"}
    # A system actor with an API key is not the platform.
    assert not may_read(db, Actor(user_id=None, name="key", api_key_id=1), people)


def test_several_grants_one_request_one_grant(
    db: Session,
    grantee: Person,
    people: Dataset,
    people_version: DatasetVersion,
    make_grant: MakeGrant,
    storage: LocalStorage,
) -> None:
    narrow = make_grant(
        people,
        grantee.user.agency_id,
        fields=["district", "born"],
        row_filter=[["born", "lt", "1970-01-01"]],
    )
    wide = make_grant(
        people,
        grantee.user.agency_id,
        fields=["district", "name", "person_id"],
        row_filter=[["district", "eq", "河东区"]],
    )
    # No field named: the widest grant (most fields) with its own row filter.
    rows = _all_rows(db, grantee.actor, people, storage)
    assert {r["district"] for r in rows} == {"河东区"} and "born" not in rows[0]
    assert _last(db, "data.read").changes["grant"] == wide.id
    # A request naming "born" is read under the grant that has it — and its rows only.
    rows = _all_rows(db, grantee.actor, people, storage, columns=["born", "district"])
    assert rows and all(r["born"] < dt.date(1970, 1, 1) for r in rows)
    assert {r["district"] for r in rows} == {"兰山区", "罗庄区", "河东区"}
    assert _last(db, "data.read").changes["grant"] == narrow.id
    # A request no single grant covers is refused, not answered from two grants.
    with pytest.raises(PermissionDenied):
        _all_rows(db, grantee.actor, people, storage, columns=["born", "name"])


def test_masked_fields_filter_only_by_pseudonym(
    db: Session,
    grantee: Person,
    people: Dataset,
    people_version: DatasetVersion,
    make_grant: MakeGrant,
    storage: LocalStorage,
) -> None:
    make_grant(people, grantee.user.agency_id)
    hashed = pseudonym(person_id(4), KEY)
    found = _all_rows(
        db, grantee.actor, people, storage, filters=[Filter("person_id", "eq", hashed)]
    )
    assert [r["person_id"] for r in found] == [hashed]
    several = [pseudonym(person_id(i), KEY) for i in (1, 2, 29)]
    found = _all_rows(
        db, grantee.actor, people, storage, filters=[Filter("person_id", "in", several)]
    )
    assert sorted(r["person_id"] for r in found) == sorted(several)
    # The clear value matches nothing: the field is compared as pseudonyms.
    assert (
        _all_rows(
            db, grantee.actor, people, storage, filters=[Filter("person_id", "eq", person_id(4))]
        )
        == []
    )
    denied = _count(db, "data.denied")
    refusals = [
        ({"filters": [Filter("person_id", "prefix", "3713")]}, "只能按假名值等于或属于筛选"),
        ({"filters": [Filter("person_id", "gt", "0")]}, "只能按假名值等于或属于筛选"),
        ({"filters": [Filter("name", "prefix", "张")]}, "不能按它筛选或排序"),
        ({"filters": [Filter("name", "eq", "张某")]}, "不能按它筛选或排序"),
        ({"order_by": ["address"]}, "不能按它筛选或排序"),
        ({"order_by": ["-person_id"]}, "不能按它筛选或排序"),
    ]
    for kwargs, reason in refusals:
        with pytest.raises(PermissionDenied):
            _all_rows(db, grantee.actor, people, storage, **kwargs)
        assert reason in _last(db, "data.denied").changes["reason"]
    assert _count(db, "data.denied") == denied + len(refusals)
    # Clear fields filter and sort as usual.
    rows = _all_rows(
        db,
        grantee.actor,
        people,
        storage,
        filters=[
            Filter("district", "in", ["罗庄区"]),
            Filter("born", "range", ["1960-01-01", "1980-01-01"]),
        ],
        order_by=["-born"],
    )
    assert rows and [r["born"] for r in rows] == sorted((r["born"] for r in rows), reverse=True)


def test_clear_fields_make_a_field_clear(
    db: Session,
    grantee: Person,
    people: Dataset,
    people_version: DatasetVersion,
    make_grant: MakeGrant,
    storage: LocalStorage,
) -> None:
    make_grant(people, grantee.user.agency_id, clear_fields=["person_id", "name"])
    rows = _all_rows(
        db, grantee.actor, people, storage, filters=[Filter("person_id", "eq", person_id(7))]
    )
    assert [(r["person_id"], r["name"]) for r in rows] == [(person_id(7), person(7)["name"])]
    assert rows[0]["address"] != person(7)["address"]  # still masked


def test_daily_row_quota(
    db: Session,
    grantee: Person,
    people: Dataset,
    people_version: DatasetVersion,
    make_grant: MakeGrant,
    storage: LocalStorage,
) -> None:
    grant = make_grant(people, grantee.user.agency_id, daily_row_quota=12)
    first = gate.read_page(db, grantee.actor, people, purpose="核对", limit=10, storage=storage)
    assert len(first.rows) == 10
    # Only two rows are left today: a page is cut to them.
    second = gate.read_page(
        db,
        grantee.actor,
        people,
        purpose="核对",
        limit=10,
        after=first.next_cursor,
        storage=storage,
    )
    assert len(second.rows) == 2
    with pytest.raises(QuotaExceeded) as caught:
        gate.read_page(db, grantee.actor, people, purpose="核对", limit=10, storage=storage)
    assert caught.value.status_code == 429
    assert "每日 12 行" in str(caught.value)
    denial = _last(db, "data.denied")
    assert denial.changes["grant"] == grant.id and "每日 12 行" in denial.changes["reason"]
    # Counting rows returns none, so it is still answered.
    assert gate.count(db, grantee.actor, people, purpose="统计", storage=storage).rows == 30


def test_export_must_fit_the_quota_and_carries_the_fingerprint(
    db: Session,
    grantee: Person,
    people: Dataset,
    people_version: DatasetVersion,
    make_grant: MakeGrant,
    storage: LocalStorage,
) -> None:
    grant = make_grant(people, grantee.user.agency_id, daily_row_quota=20)
    with pytest.raises(QuotaExceeded):
        gate.export(db, grantee.actor, people, purpose="导出", fmt="csv", storage=storage)
    assert _last(db, "data.denied").changes["rows_asked"] == 30
    done = gate.export(
        db,
        grantee.actor,
        people,
        purpose="导出",
        fmt="csv",
        filters=[Filter("district", "eq", "兰山区")],
        storage=storage,
    )
    assert done.fingerprint == grant.fingerprint and done.rows == 10
    entry = _last(db, "data.read")
    assert entry.changes["export_id"] == done.export_id
    assert entry.changes["fingerprint"] == grant.fingerprint and entry.changes["format"] == "csv"
    batches = list(done.batches)
    assert sum(b.num_rows for b in batches) == 10
    assert batches[0].schema.equals(done.schema)


def test_the_providers_own_views_stay_with_clear_readers(
    db: Session,
    client: TestClient,
    officer: Person,
    grantee: Person,
    people: Dataset,
    make_grant: MakeGrant,
) -> None:
    people.state = DatasetState.PUBLISHED  # a draft is not even visible to other bodies
    db.flush()
    make_grant(people, grantee.user.agency_id)
    assert gate.check_read(db, grantee.actor, people).basis == "grant"
    with pytest.raises(PermissionDenied):
        gate.check_clear(db, grantee.actor, people)
    for path in ("ingestions", "versions", "ingest-profile"):
        url = f"/api/v1/datasets/{people.id}/{path}"
        assert client.get(url, headers=api_headers(client, grantee)).status_code == 403
        assert client.get(url, headers=api_headers(client, officer)).status_code == 200
