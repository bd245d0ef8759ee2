"""Entity profiles: one card per readable entry, rows as the gate hands them out (grants,
masking), nothing about unreadable entries, identifiers checked, every lookup recorded."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.auth.models import Role
from gongshu.catalog.models import Dataset
from gongshu.errors import ValidationFailed
from gongshu.profiles import queries
from tests.factories import Person, api_headers, csrf_of, login
from tests.ingest_service.conftest import code
from tests.verification import data
from tests.verification.data import grant, person_id

residents = data.residents
licences = data.licences

HOLDER = code(1)  # holds licences JY001 and JY004


def _cards(profile: queries.Profile) -> dict[str, queries.Card]:
    return {c.title: c for c in profile.cards}


def test_profile_across_entries(
    db: Session,
    officer: Person,
    bureau_admin: Person,
    licences: Dataset,
    make_dataset: Callable[..., Dataset],
    other_officer: Person,
    tmp_path: object,
) -> None:
    profile = queries.lookup(
        db, bureau_admin.actor, "credit_code", HOLDER.lower(), purpose="企业画像"
    )
    assert profile.value == HOLDER  # normalised
    card = _cards(profile)["食品经营许可信息"]
    assert card.agency == officer.user.agency.name and card.version == 1
    assert [r["licence_no"] for r in card.rows] == ["JY001", "JY004"]
    assert [c.label for c in card.columns][:2] == ["许可证编号", "经营者名称"]
    assert not any(c.masked for c in card.columns)
    # The provider sees its own entry; a body of another agency without a grant sees nothing,
    # not even that the entry holds the company.
    assert _cards(queries.lookup(db, officer.actor, "credit_code", HOLDER, purpose="核对"))
    assert (
        queries.lookup(db, other_officer.actor, "credit_code", HOLDER, purpose="核对").cards == []
    )


def test_two_entries_of_two_agencies(
    db: Session,
    bureau_admin: Person,
    other_officer: Person,
    licences: Dataset,
    tmp_path: object,
) -> None:
    from pathlib import Path

    from gongshu.catalog import service as catalog_service
    from gongshu.catalog.models import DatasetState
    from gongshu.ingest import service as ingest_service
    from tests.factories import dataset_input
    from tests.ingest_service.conftest import registry_fields

    registry = catalog_service.create_dataset(
        db, other_officer.actor, dataset_input(title="市场主体登记信息", fields=registry_fields())
    )
    registry.state = DatasetState.PUBLISHED
    db.flush()
    path = Path(str(tmp_path)) / "reg.csv"
    path.write_text(
        "统一社会信用代码,企业名称,成立日期,注册资本,企业类型\n"
        f"{HOLDER},临沂测试企业1有限公司,2020-01-02,100.5,有限责任公司\n",
        encoding="utf-8",
    )
    assert ingest_service.ingest_file(db, other_officer.actor, registry, path).version
    cards = _cards(queries.lookup(db, bureau_admin.actor, "credit_code", HOLDER, purpose="画像"))
    assert set(cards) == {"食品经营许可信息", "市场主体登记信息"}
    assert cards["市场主体登记信息"].agency == other_officer.user.agency.name
    assert cards["市场主体登记信息"].rows[0]["name"] == "临沂测试企业1有限公司"


def test_masked_as_the_gate_says(db: Session, other_officer: Person, residents: Dataset) -> None:
    given = grant(db, residents, other_officer.user.agency_id, fields=["id_number", "name"])
    # general_2, a grant reader: the ID number itself would be masked, so the entry is left
    # out (a clear answer would reveal the pseudonym of any number one chose).
    assert (
        queries.lookup(db, other_officer.actor, "citizen_id", person_id(2), purpose="核对").cards
        == []
    )
    given.clear_fields = ["id_number"]
    db.flush()
    profile = queries.lookup(db, other_officer.actor, "citizen_id", person_id(2), purpose="核对")
    card = _cards(profile)["居民身份信息"]
    # Names masked to the surname (two-character surnames whole); district not granted.
    assert card.rows == [{"id_number": person_id(2), "name": "欧阳**"}]
    assert [(c.name, c.masked) for c in card.columns] == [("id_number", False), ("name", True)]
    given.clear_fields = ["id_number", "name"]
    db.flush()
    clear = queries.lookup(db, other_officer.actor, "citizen_id", person_id(2), purpose="核对")
    assert _cards(clear)["居民身份信息"].rows[0]["name"] == "欧阳娜娜"


def test_invalid_identifiers_are_refused_before_reading(
    db: Session, bureau_admin: Person, residents: Dataset
) -> None:
    before = db.scalars(select(AuditEntry.id)).all()
    good = person_id(0)
    wrong = good[:-1] + ("1" if good[-1] != "1" else "2")
    with pytest.raises(ValidationFailed) as caught:
        queries.lookup(db, bureau_admin.actor, "citizen_id", wrong, purpose="核对")
    assert "校验位错误" in caught.value.errors["value"][0]
    with pytest.raises(ValidationFailed):
        queries.lookup(db, bureau_admin.actor, "credit_code", "91371300MA0000000Z", purpose="核对")
    with pytest.raises(ValidationFailed):
        queries.lookup(db, bureau_admin.actor, "mobile", "13800000000", purpose="核对")
    assert db.scalars(select(AuditEntry.id)).all() == before  # nothing read, nothing recorded


def test_every_lookup_is_recorded_with_its_purpose(
    db: Session, bureau_admin: Person, residents: Dataset
) -> None:
    queries.lookup(db, bureau_admin.actor, "citizen_id", person_id(0), purpose="低保资格复核")
    queries.lookup(db, bureau_admin.actor, "citizen_id", person_id(7), purpose="低保资格复核")
    searches = db.scalars(
        select(AuditEntry).where(AuditEntry.object_type == "identifier").order_by(AuditEntry.seq)
    ).all()
    assert [s.changes["purpose"] for s in searches] == ["低保资格复核"] * 2
    assert [s.changes["datasets"] for s in searches] == [[residents.id], []]
    with pytest.raises(ValidationFailed):
        queries.lookup(db, bureau_admin.actor, "citizen_id", person_id(0), purpose="")


def test_api(
    client: TestClient, bureau_admin: Person, make_person: Callable[..., Person], residents: Dataset
) -> None:
    headers = api_headers(client, bureau_admin)
    url = f"/api/v1/profiles/citizen_id/{person_id(3)}"
    found = client.get(url, headers=headers, params={"purpose": "核对身份"})
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["value"] == person_id(3) and len(body["cards"]) == 1
    assert body["cards"][0]["rows"] == [
        {"id_number": person_id(3), "name": "王五", "district": "河东区"}
    ]
    assert client.get(url, headers=headers).status_code == 422  # the purpose is asked for
    bad = client.get(
        f"/api/v1/profiles/citizen_id/{person_id(3)[:-1]}0",
        headers={**headers, "Accept-Language": "en"},
        params={"purpose": "核对身份"},
    )
    assert bad.status_code == 422 and "check" in bad.json()["error"]["message"].lower()
    citizen = api_headers(client, make_person(Role.PUBLIC))
    empty = client.get(url, headers=citizen, params={"purpose": "好奇"})
    assert empty.status_code == 200 and empty.json()["cards"] == []
    assert client.get(url, params={"purpose": "核对身份"}).status_code == 401


def test_page(client: TestClient, bureau_admin: Person, residents: Dataset) -> None:
    login(client, bureau_admin)
    form = client.get("/profiles")
    assert form.status_code == 200 and 'id="profile-form"' in form.text
    token = csrf_of(client, "/profiles")
    shown = client.post(
        "/profiles",
        data={"csrf_token": token, "kind": "citizen_id", "value": person_id(1), "purpose": "核对"},
    )
    assert shown.status_code == 200
    assert "居民身份信息" in shown.text and "李四" in shown.text and "罗庄区" in shown.text
    assert person_id(1) not in str(shown.url)  # posted, never in the address
    invalid = client.post(
        "/profiles",
        data={"csrf_token": token, "kind": "citizen_id", "value": "370000", "purpose": "核对"},
    )
    assert invalid.status_code == 422 and "身份证号应为 18 位" in invalid.text
    unpurposed = client.post(
        "/profiles",
        data={"csrf_token": token, "kind": "citizen_id", "value": person_id(1), "purpose": ""},
    )
    assert unpurposed.status_code == 422 and "用途" in unpurposed.text
    nothing = client.post(
        "/profiles",
        data={"csrf_token": token, "kind": "citizen_id", "value": person_id(9), "purpose": "核对"},
    )
    assert 'id="profile-empty"' in nothing.text
