"""Accounts and roles: who may create and edit whom, separation of duties, audit entries."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.audit.service import verify
from gongshu.auth import service
from gongshu.auth.models import PasswordHistory, Role, User
from gongshu.auth.permissions import ADMIN_TRIAD, BUREAU_GRANTABLE, ROLE_PERMISSIONS
from gongshu.auth.schemas import PasswordChange, UserCreate, UserUpdate
from gongshu.errors import NotFound, PermissionDenied, ValidationFailed
from gongshu.orgs.models import Agency, Region
from tests.factories import PASSWORD, SYSTEM, Person


def _new(username: str, **kw: object) -> UserCreate:
    data: dict[str, object] = {"username": username, "display_name": "新用户", "password": PASSWORD}
    data.update(kw)
    return UserCreate.model_validate(data)


def _actions(db: Session, user_id: int) -> list[str]:
    stmt = (
        select(AuditEntry.action)
        .where(AuditEntry.object_type == "user", AuditEntry.object_id == str(user_id))
        .order_by(AuditEntry.seq)
    )
    return list(db.scalars(stmt))


# --- separation of duties ------------------------------------------------------------------


def test_triad_permission_sets_are_disjoint() -> None:
    for a, b in itertools.combinations(sorted(ADMIN_TRIAD), 2):
        assert not ROLE_PERMISSIONS[a] & ROLE_PERMISSIONS[b], (a, b)


@pytest.mark.parametrize("pair", list(itertools.combinations(sorted(ADMIN_TRIAD), 2)))
def test_no_account_holds_two_triad_roles(
    db: Session, city: Region, pair: tuple[Role, Role]
) -> None:
    with pytest.raises(ValidationFailed) as info:
        service.create_user(db, SYSTEM, _new("triad2", roles=list(pair)))
    assert "三员分立" in info.value.errors["roles"][0]


@pytest.mark.parametrize("triad", sorted(ADMIN_TRIAD))
def test_triad_role_holds_no_other_role(db: Session, city: Region, triad: Role) -> None:
    with pytest.raises(ValidationFailed):
        service.create_user(db, SYSTEM, _new("triadx", roles=[triad, Role.AUDITOR]))


def test_set_roles_keeps_separation(
    db: Session, system_admin: Person, security_admin: Person
) -> None:
    with pytest.raises(ValidationFailed):
        service.set_roles(
            db, security_admin.actor, system_admin.user.id, [Role.SYSTEM_ADMIN, Role.AUDIT_ADMIN]
        )
    with pytest.raises(ValidationFailed):
        service.set_roles(
            db, security_admin.actor, system_admin.user.id, [Role.SYSTEM_ADMIN, Role.BUREAU_ADMIN]
        )
    assert system_admin.user.roles == {Role.SYSTEM_ADMIN}


def test_agency_roles_need_an_agency(db: Session, city: Region) -> None:
    with pytest.raises(ValidationFailed) as info:
        service.create_user(db, SYSTEM, _new("noagency", roles=[Role.AGENCY_OFFICER]))
    assert "所属机构" in info.value.errors["roles"][0]


# --- who grants what ---------------------------------------------------------------------------


def test_only_security_admin_grants_admin_roles(
    db: Session,
    make_person: Callable[..., Person],
    system_admin: Person,
    bureau_admin: Person,
    security_admin: Person,
) -> None:
    target = make_person()
    for granter in (system_admin, bureau_admin):
        with pytest.raises(PermissionDenied):
            service.set_roles(db, granter.actor, target.user.id, [Role.BUREAU_ADMIN])
        with pytest.raises(PermissionDenied):
            service.create_user(
                db, granter.actor, _new(f"grantee{granter.user.id}", roles=[Role.AUDITOR])
            )
    user = service.set_roles(db, security_admin.actor, target.user.id, [Role.BUREAU_ADMIN])
    assert user.roles == {Role.BUREAU_ADMIN}
    assert _actions(db, target.user.id)[-1] == "user.set_roles"
    # Nobody changes their own roles.
    with pytest.raises(PermissionDenied):
        service.set_roles(db, security_admin.actor, security_admin.user.id, [Role.SECURITY_ADMIN])


def test_security_admin_cannot_create_accounts(db: Session, security_admin: Person) -> None:
    with pytest.raises(PermissionDenied):
        service.create_user(db, security_admin.actor, _new("bysec"))


def test_bureau_admin_grants_agency_roles(
    db: Session, bureau_admin: Person, agency: Agency
) -> None:
    user = service.create_user(
        db, bureau_admin.actor, _new("officer1", agency_id=agency.id, roles=[Role.AGENCY_OFFICER])
    )
    assert user.roles == {Role.AGENCY_OFFICER}
    assert user.region_id == agency.region_id
    user = service.set_roles(
        db, bureau_admin.actor, user.id, [Role.AGENCY_OFFICER, Role.AGENCY_CONSUMER]
    )
    assert user.roles == {Role.AGENCY_OFFICER, Role.AGENCY_CONSUMER}
    assert user.roles <= BUREAU_GRANTABLE


def test_officer_cannot_manage_users(db: Session, officer: Person, agency: Agency) -> None:
    with pytest.raises(PermissionDenied):
        service.create_user(db, officer.actor, _new("byofficer", agency_id=agency.id))


# --- district scope --------------------------------------------------------------------------


def test_district_admin_scope(
    db: Session,
    district_admin: Person,
    district: Region,
    district_agency: Agency,
    agency: Agency,
    officer: Person,
    make_person: Callable[..., Person],
) -> None:
    actor = district_admin.actor
    assert not actor.city_scope and actor.region_id == district.id
    # Its own district: allowed; region defaults to the district.
    mine = service.create_user(db, actor, _new("lanshan1", roles=[Role.PUBLIC]))
    assert mine.region_id == district.id
    local = service.create_user(
        db,
        actor,
        _new("lanshan2", agency_id=district_agency.id, roles=[Role.AGENCY_OFFICER]),
    )
    assert local.region_id == district.id
    # A city agency or the city region: denied.
    with pytest.raises(PermissionDenied):
        service.create_user(db, actor, _new("cityx", agency_id=agency.id))
    with pytest.raises(PermissionDenied):
        service.update_user(db, actor, officer.user.id, UserUpdate(display_name="改名"))
    with pytest.raises(PermissionDenied):
        service.set_roles(db, actor, officer.user.id, [Role.AGENCY_CONSUMER])
    # Only roles from BUREAU_GRANTABLE, and not over another district admin.
    with pytest.raises(PermissionDenied):
        service.set_roles(db, actor, local.id, [Role.AGENCY_OFFICER, Role.BUREAU_ADMIN])
    peer = make_person(Role.BUREAU_ADMIN, region=district)
    with pytest.raises(PermissionDenied):
        service.update_user(db, actor, peer.user.id, UserUpdate(is_active=False))
    # The city bureau admin covers the district.
    updated = service.update_user(db, SYSTEM, local.id, UserUpdate(display_name="兰山专管员"))
    assert updated.display_name == "兰山专管员"


# --- the account's own rules -----------------------------------------------------------------


def test_username_unique_is_validation_error(db: Session, bureau_admin: Person) -> None:
    with pytest.raises(ValidationFailed) as info:
        service.create_user(db, SYSTEM, _new(bureau_admin.username.upper()))
    assert info.value.errors == {"username": ["用户名已被使用"]}


def test_create_user_audited_without_password(db: Session, bureau_admin: Person) -> None:
    user = service.create_user(db, bureau_admin.actor, _new("audited1", email="a@example.cn"))
    entry = db.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "user.create", AuditEntry.object_id == str(user.id)
        )
    ).one()
    assert entry.actor_id == bureau_admin.user.id
    assert entry.changes["username"] == [None, "audited1"]
    assert "password" not in str(entry.changes) and PASSWORD not in str(entry.changes)
    assert verify(db).ok


def test_create_user_checks_policy(db: Session, city: Region) -> None:
    with pytest.raises(ValidationFailed) as info:
        service.create_user(db, SYSTEM, _new("weakling", password="weakling123"))
    assert "password" in info.value.errors
    assert db.scalar(select(User).where(User.username == "weakling")) is None


def test_update_and_deactivate(
    db: Session, bureau_admin: Person, officer: Person, other_agency: Agency
) -> None:
    token, _ = service.start_session(db, officer.user, "127.0.0.1", "pytest")
    assert service.actor_for_session_token(db, token) is not None
    user = service.update_user(
        db, bureau_admin.actor, officer.user.id, UserUpdate(is_active=False, phone="13800138000")
    )
    assert not user.is_active and user.phone == "13800138000"
    assert service.actor_for_session_token(db, token) is None
    entry = db.scalars(
        select(AuditEntry).where(AuditEntry.action == "user.update").order_by(AuditEntry.seq.desc())
    ).first()
    assert entry is not None and entry.changes["is_active"] == [True, False]
    # Moving the officer to another agency follows that agency's region.
    moved = service.update_user(
        db, bureau_admin.actor, officer.user.id, UserUpdate(agency_id=other_agency.id)
    )
    assert moved.agency_id == other_agency.id and moved.region_id == other_agency.region_id
    # An officer cannot lose its agency.
    with pytest.raises(ValidationFailed):
        service.update_user(db, bureau_admin.actor, officer.user.id, UserUpdate(agency_id=None))
    with pytest.raises(ValidationFailed):
        service.update_user(
            db, bureau_admin.actor, bureau_admin.user.id, UserUpdate(is_active=False)
        )
    with pytest.raises(NotFound):
        service.update_user(db, bureau_admin.actor, 999999, UserUpdate(phone="1"))


def test_triad_accounts_edited_only_by_system_admin(
    db: Session, bureau_admin: Person, system_admin: Person, audit_admin: Person
) -> None:
    with pytest.raises(PermissionDenied):
        service.update_user(db, bureau_admin.actor, audit_admin.user.id, UserUpdate(phone="1"))
    service.update_user(db, system_admin.actor, audit_admin.user.id, UserUpdate(phone="1"))


def test_change_password_and_history(db: Session, officer: Person) -> None:
    with pytest.raises(ValidationFailed) as info:
        service.change_password(
            db, officer.actor, PasswordChange(current_password="wrong", new_password="Xx-1234567")
        )
    assert "current_password" in info.value.errors
    # The current password is in the history.
    with pytest.raises(ValidationFailed) as info:
        service.change_password(
            db, officer.actor, PasswordChange(current_password=PASSWORD, new_password=PASSWORD)
        )
    assert "new_password" in info.value.errors
    current = PASSWORD
    for i in range(6):
        new = f"Rotate-Pass-{i}x"
        service.change_password(
            db, officer.actor, PasswordChange(current_password=current, new_password=new)
        )
        current = new
    # Only the last five are kept and compared: the first password is usable again.
    rows = db.scalars(select(PasswordHistory).where(PasswordHistory.user_id == officer.user.id))
    assert len(list(rows)) == 5
    service.change_password(
        db, officer.actor, PasswordChange(current_password=current, new_password=PASSWORD)
    )
    assert _actions(db, officer.user.id).count("user.password_change") == 7


def test_reset_password_and_unlock(
    db: Session, security_admin: Person, officer: Person, other_officer: Person
) -> None:
    service.reset_password(db, security_admin.actor, officer.user.id, "Reset-Pass-2026")
    user = service.authenticate(
        db, service.get_settings(), officer.username, "Reset-Pass-2026", None
    )
    assert user.id == officer.user.id
    with pytest.raises(PermissionDenied):
        service.reset_password(db, other_officer.actor, officer.user.id, "Reset-Pass-2027")
    service.unlock_user(db, security_admin.actor, officer.user.id)
    assert _actions(db, officer.user.id)[-2:] == ["auth.login", "user.unlock"]


def test_actor_for_user(
    db: Session, officer: Person, district_admin: Person, agency: Agency, district: Region
) -> None:
    actor = service.actor_for_user(officer.user)
    assert actor.roles == {Role.AGENCY_OFFICER}
    assert actor.agency_id == agency.id and actor.city_scope
    actor = service.actor_for_user(district_admin.user)
    assert actor.region_id == district.id and not actor.city_scope
    assert not actor.needs_totp_enrollment
