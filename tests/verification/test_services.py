"""Verification services: who configures them, what a configuration must hold, who sees
them, the per-body rate."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.catalog.models import Dataset
from gongshu.errors import NotFound, PermissionDenied, ValidationFailed
from gongshu.settings import Settings
from gongshu.verification import service
from gongshu.verification.models import VerificationService, VerificationUsage
from gongshu.verification.schemas import CheckIn, ServiceCreate, ServiceUpdate
from tests.factories import Person
from tests.verification.data import person_id


def _create(db: Session, who: Person, dataset: Dataset, **overrides: object) -> VerificationService:
    data = {
        "code": "citizen-check",
        "name": "身份核验",
        "dataset_id": dataset.id,
        "key_field": "id_number",
        "fields": ["name"],
        **overrides,
    }
    return service.create_service(db, who.actor, ServiceCreate.model_validate(data))


def test_only_the_bureau_configures(
    db: Session,
    officer: Person,
    district_admin: Person,
    bureau_admin: Person,
    residents: Dataset,
) -> None:
    for who in (officer, district_admin):  # the entry is the city's
        with pytest.raises(PermissionDenied):
            _create(db, who, residents)
    created = _create(db, bureau_admin, residents)
    assert created.fields == ["name"] and not created.open_to_all and not created.reveal_existence
    entry = db.scalars(
        select(AuditEntry).where(AuditEntry.action == "verification_service.create")
    ).one()
    assert entry.object_id == str(created.id) and entry.changes["code"] == "citizen-check"
    updated = service.update_service(
        db,
        bureau_admin.actor,
        "citizen-check",
        ServiceUpdate(name="身份核验", key_field="id_number", fields=["name"], active=False),
    )
    assert updated.active is False
    change = db.scalars(
        select(AuditEntry).where(AuditEntry.action == "verification_service.update")
    ).one()
    assert change.changes == {"active": [True, False]}
    with pytest.raises(NotFound):
        service.check(
            db,
            bureau_admin.actor,
            "citizen-check",
            [CheckIn(key=person_id(0), claims={"name": "张三"})],
            purpose="核验",
        )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"key_field": "nope"}, "key_field"),
        ({"key_field": "name"}, "key_field"),  # not indexed
        ({"fields": ["name", "ghost"]}, "fields"),
        ({"fields": []}, "fields"),  # nothing to check
        ({"valid_until_field": "name"}, "valid_until_field"),  # not a date
        ({"status_field": "district", "status_values": []}, "status_values"),
    ],
)
def test_configuration_is_checked(
    db: Session,
    bureau_admin: Person,
    residents: Dataset,
    overrides: dict[str, object],
    field: str,
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        _create(db, bureau_admin, residents, **overrides)
    assert field in caught.value.errors


def test_codes_are_unique(db: Session, bureau_admin: Person, residents: Dataset) -> None:
    _create(db, bureau_admin, residents)
    with pytest.raises(ValidationFailed) as caught:
        _create(db, bureau_admin, residents, name="另一个")
    assert "code" in caught.value.errors


def test_lists_show_only_what_one_may_call(
    db: Session,
    make_person: Callable[..., Person],
    officer: Person,
    other_officer: Person,
    bureau_admin: Person,
    citizen_service: VerificationService,
    licence_service: VerificationService,
) -> None:
    codes = lambda who: [s.code for s in service.list_services(db, who.actor)]  # noqa: E731
    assert codes(bureau_admin) == ["citizen-name", "food-licence"]
    assert codes(officer) == ["citizen-name", "food-licence"]  # the provider
    assert codes(other_officer) == ["food-licence"]  # open to every public body
    assert codes(make_person(Role.PUBLIC)) == []
    with pytest.raises(NotFound):  # not 403: a service one may not call is not disclosed
        service.get_service(db, other_officer.actor, "citizen-name")


def test_rate_per_body(
    db: Session,
    settings: Settings,
    officer: Person,
    make_person: Callable[..., Person],
    citizen_service: VerificationService,
) -> None:
    limited = settings.model_copy(update={"verify_rate_per_minute": 3})
    colleague = make_person(Role.AGENCY_CONSUMER, agency=officer.user.agency)
    check = [CheckIn(key=person_id(0), claims={"name": "张三"})]
    for who in (officer, colleague, officer):
        service.check(db, who.actor, "citizen-name", check, purpose="核验", settings=limited)
    # The body (the agency) has used its three checks this minute, whoever asks.
    with pytest.raises(service.RateLimited) as caught:
        service.check(db, colleague.actor, "citizen-name", check, purpose="核验", settings=limited)
    assert caught.value.status_code == 429
    counted = db.scalar(select(func.sum(VerificationUsage.checks)))
    assert counted == 3  # the refused call was not counted
    verified = db.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "data.verify")
    )
    assert verified == 3
    # The platform itself is not limited.
    service.check(db, Actor.system("job"), "citizen-name", check, purpose="核验", settings=limited)
