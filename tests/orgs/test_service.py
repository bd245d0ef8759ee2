"""Region and agency writes: permissions, scope, validation, uniqueness, audit."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.audit.service import history
from gongshu.auth.models import Role
from gongshu.errors import NotAuthenticated, NotFound, PermissionDenied, ValidationFailed
from gongshu.identifiers import make_credit_code
from gongshu.orgs import regions as seed
from gongshu.orgs import service
from gongshu.orgs.models import Agency, AgencyKind, Region, RegionLevel
from gongshu.orgs.schemas import AgencyCreate, AgencyUpdate, RegionCreate, RegionUpdate
from tests.factories import SYSTEM, Person

VALID_CODE = "91110000600037341L"


def agency_data(region: Region, **kw: object) -> AgencyCreate:
    data: dict[str, object] = {
        "name": "临沂市大数据局",
        "credit_code": make_credit_code("11371300MB9999999"),
        "region_id": region.id,
        "kind": AgencyKind.GOVERNMENT,
    }
    data.update(kw)
    return AgencyCreate.model_validate(data)


def count_agencies(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(Agency)) or 0)


# --- regions ------------------------------------------------------------------------------


def test_city_and_district_are_created_and_audited(db: Session, district: Region) -> None:
    assert district.parent is not None and district.parent.code == "371300"
    (entry,) = history(db, "region", district.id)
    assert entry.action == "region.create"
    assert entry.changes["code"] == [None, "371302"]


@pytest.mark.parametrize(
    ("code", "level", "parent", "field"),
    [
        ("3713", RegionLevel.DISTRICT, True, "code"),
        ("991302", RegionLevel.DISTRICT, True, "code"),
        ("371302", RegionLevel.DISTRICT, False, "parent_id"),
        ("371300", RegionLevel.DISTRICT, True, "code"),  # a district code cannot end in 00
        ("370102", RegionLevel.DISTRICT, True, "code"),  # not under 3713
        ("371400", RegionLevel.CITY, True, "parent_id"),  # a city has no parent
        ("371401", RegionLevel.CITY, False, "code"),  # a city code ends in 00
    ],
)
def test_region_rules(
    db: Session, city: Region, code: str, level: RegionLevel, parent: bool, field: str
) -> None:
    with pytest.raises(ValidationFailed) as exc:
        service.create_region(
            db,
            SYSTEM,
            RegionCreate(
                code=code, name="某区", level=level, parent_id=city.id if parent else None
            ),
        )
    assert field in exc.value.errors


def test_district_parent_must_be_a_city(db: Session, district: Region) -> None:
    with pytest.raises(ValidationFailed) as exc:
        service.create_region(
            db,
            SYSTEM,
            RegionCreate(code="371303", name="某区", level="district", parent_id=district.id),
        )
    assert "parent_id" in exc.value.errors


def test_region_code_is_unique(db: Session, district: Region) -> None:
    with pytest.raises(ValidationFailed) as exc:
        service.create_region(
            db,
            SYSTEM,
            RegionCreate(
                code="371302", name="重复", level="district", parent_id=district.parent_id
            ),
        )
    assert exc.value.errors["code"] == ["行政区划代码 371302 已存在"]


def test_regions_need_region_manage(db: Session, city: Region, bureau_admin: Person) -> None:
    with pytest.raises(PermissionDenied):
        service.create_region(
            db,
            bureau_admin.actor,
            RegionCreate(code="371303", name="某区", level="district", parent_id=city.id),
        )


def test_update_region(db: Session, district: Region) -> None:
    service.update_region(db, SYSTEM, district.id, RegionUpdate(name="兰山区（新）"))
    assert district.name == "兰山区（新）"
    entries = history(db, "region", district.id)
    assert entries[-1].action == "region.update"
    assert entries[-1].changes == {"name": ["兰山区", "兰山区（新）"]}
    with pytest.raises(NotFound):
        service.update_region(db, SYSTEM, 999999, RegionUpdate(name="x"))


def test_seed_regions_is_idempotent(db: Session, district: Region) -> None:
    made = service.seed_regions(db, SYSTEM)
    assert [r.code for r in made] == [seed.CITY.code, *(d.code for d in seed.DISTRICTS)]
    again = service.seed_regions(db, SYSTEM)
    assert [r.id for r in again] == [r.id for r in made]
    assert db.scalar(select(func.count()).select_from(Region)) == 13


# --- agencies: create ---------------------------------------------------------------------


def test_create_agency_normalises_and_audits(db: Session, city: Region) -> None:
    agency = service.create_agency(
        db, SYSTEM, agency_data(city, credit_code=" 91110000600037341l ", name="  临沂市大数据局 ")
    )
    assert agency.credit_code == VALID_CODE
    assert agency.name == "临沂市大数据局"
    (entry,) = history(db, "agency", agency.id)
    assert entry.action == "agency.create"
    assert entry.actor_name == SYSTEM.name
    assert entry.object_label == "临沂市大数据局"
    assert entry.changes["credit_code"] == [None, VALID_CODE]
    assert entry.changes["kind"] == [None, "government"]


def test_bad_check_char_names_the_expected_one(db: Session, city: Region) -> None:
    with pytest.raises(ValidationFailed) as exc:
        service.create_agency(db, SYSTEM, agency_data(city, credit_code="91110000600037341A"))
    (message,) = exc.value.errors["credit_code"]
    assert message.startswith("统一社会信用代码校验位错误")
    assert "“L”" in message
    assert count_agencies(db) == 0


@pytest.mark.parametrize("code", ["9111000060003734", "91110000600037341I", "9111000060003734-L"])
def test_malformed_credit_codes(db: Session, city: Region, code: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        service.create_agency(db, SYSTEM, agency_data(city, credit_code=code))
    assert exc.value.errors["credit_code"]


def test_duplicate_name_and_code_are_field_errors(
    db: Session, city: Region, agency: Agency
) -> None:
    with pytest.raises(ValidationFailed) as exc:
        service.create_agency(db, SYSTEM, agency_data(city, name=agency.name))
    assert exc.value.errors["name"] == [f"机构名称“{agency.name}”已被使用"]
    with pytest.raises(ValidationFailed) as exc:
        service.create_agency(db, SYSTEM, agency_data(city, credit_code=agency.credit_code.lower()))
    assert exc.value.errors["credit_code"] == [
        f"统一社会信用代码 {agency.credit_code} 已被“{agency.name}”使用"
    ]
    assert count_agencies(db) == 1


def test_unknown_region_and_bad_phone(db: Session, city: Region) -> None:
    data = agency_data(city, phone="<script>")
    data.region_id = 999999
    with pytest.raises(ValidationFailed) as exc:
        service.create_agency(db, SYSTEM, data)
    assert set(exc.value.errors) == {"region_id", "phone"}


def test_overlong_name_is_refused_by_the_schema() -> None:
    from gongshu.validation import parse

    with pytest.raises(ValidationFailed) as exc:
        parse(
            AgencyCreate,
            {"name": "局" * 10000, "credit_code": VALID_CODE, "region_id": 1, "kind": "government"},
        )
    assert exc.value.errors["name"] == ["长度不能超过 100 个字符"]


def test_chief_data_officer_cannot_be_set_on_create(
    db: Session, city: Region, officer: Person
) -> None:
    with pytest.raises(ValidationFailed) as exc:
        service.create_agency(db, SYSTEM, agency_data(city, chief_data_officer_id=officer.user.id))
    assert "chief_data_officer_id" in exc.value.errors


def test_anonymous_and_unprivileged_are_refused(db: Session, city: Region, officer: Person) -> None:
    with pytest.raises(NotAuthenticated):
        service.create_agency(db, None, agency_data(city))  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied):
        service.create_agency(db, officer.actor, agency_data(city))


def test_district_admin_only_in_own_district(
    db: Session, city: Region, district: Region, other_district: Region, district_admin: Person
) -> None:
    assert not district_admin.actor.city_scope
    mine = service.create_agency(
        db, district_admin.actor, agency_data(district, name="兰山区市场监督管理局")
    )
    assert mine.region_id == district.id
    for region in (city, other_district):
        with pytest.raises(PermissionDenied):
            service.create_agency(
                db,
                district_admin.actor,
                agency_data(
                    region, name="别处的局", credit_code=make_credit_code("11371300MB8888888")
                ),
            )


def test_city_bureau_admin_manages_every_district(
    db: Session, other_district: Region, bureau_admin: Person
) -> None:
    assert bureau_admin.actor.city_scope
    agency = service.create_agency(db, bureau_admin.actor, agency_data(other_district))
    assert agency.region_id == other_district.id


# --- agencies: update ---------------------------------------------------------------------


def test_update_records_a_field_diff(db: Session, agency: Agency, bureau_admin: Person) -> None:
    service.update_agency(
        db,
        bureau_admin.actor,
        agency.id,
        AgencyUpdate(short_name="市场监管局", domain="市场监管", kind=AgencyKind.INSTITUTION),
    )
    entry = history(db, "agency", agency.id)[-1]
    assert entry.action == "agency.update"
    assert entry.actor_id == bureau_admin.user.id
    assert entry.changes == {
        "domain": ["", "市场监管"],
        "kind": ["government", "institution"],
        "short_name": ["", "市场监管局"],
    }


def test_update_without_changes_records_nothing(db: Session, agency: Agency) -> None:
    before = db.scalar(select(func.count()).select_from(AuditEntry))
    service.update_agency(db, SYSTEM, agency.id, AgencyUpdate(name=agency.name))
    assert db.scalar(select(func.count()).select_from(AuditEntry)) == before


def test_update_to_a_taken_name_or_code(db: Session, agency: Agency, other_agency: Agency) -> None:
    with pytest.raises(ValidationFailed) as exc:
        service.update_agency(db, SYSTEM, agency.id, AgencyUpdate(name=other_agency.name))
    assert "name" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:
        service.update_agency(
            db, SYSTEM, agency.id, AgencyUpdate(credit_code=other_agency.credit_code)
        )
    assert "credit_code" in exc.value.errors
    # Its own name and code are not "taken".
    service.update_agency(
        db, SYSTEM, agency.id, AgencyUpdate(name=agency.name, credit_code=agency.credit_code)
    )


def test_update_refuses_null_for_required_fields(db: Session, agency: Agency) -> None:
    with pytest.raises(ValidationFailed) as exc:
        service.update_agency(
            db, SYSTEM, agency.id, AgencyUpdate.model_validate({"name": None, "kind": None})
        )
    assert set(exc.value.errors) == {"name", "kind"}


def test_unknown_agency_is_404(db: Session, city: Region) -> None:
    with pytest.raises(NotFound, match="机构不存在"):
        service.update_agency(db, SYSTEM, 999999, AgencyUpdate(name="x局"))
    with pytest.raises(NotFound):
        service.set_active(db, SYSTEM, 999999, False)


def test_district_admin_cannot_touch_or_move_to_another_district(
    db: Session,
    make_agency: Callable[..., Agency],
    district: Region,
    other_district: Region,
    district_admin: Person,
) -> None:
    theirs = make_agency("罗庄区教育和体育局", region=other_district)
    with pytest.raises(PermissionDenied):
        service.update_agency(db, district_admin.actor, theirs.id, AgencyUpdate(domain="教育"))
    with pytest.raises(PermissionDenied):
        service.set_active(db, district_admin.actor, theirs.id, False)
    mine = make_agency("兰山区教育和体育局", region=district)
    with pytest.raises(PermissionDenied):
        service.update_agency(
            db, district_admin.actor, mine.id, AgencyUpdate(region_id=other_district.id)
        )
    service.update_agency(db, district_admin.actor, mine.id, AgencyUpdate(domain="教育"))
    assert mine.domain == "教育"


def test_chief_data_officer_must_be_an_active_user_of_the_agency(
    db: Session,
    agency: Agency,
    officer: Person,
    other_officer: Person,
    make_person: Callable[..., Person],
) -> None:
    with pytest.raises(ValidationFailed) as exc:
        service.update_agency(
            db, SYSTEM, agency.id, AgencyUpdate(chief_data_officer_id=other_officer.user.id)
        )
    assert exc.value.errors["chief_data_officer_id"] == ["首席数据官必须是本机构的在职用户"]
    with pytest.raises(ValidationFailed):
        service.update_agency(db, SYSTEM, agency.id, AgencyUpdate(chief_data_officer_id=999999))
    service.update_agency(
        db, SYSTEM, agency.id, AgencyUpdate(chief_data_officer_id=officer.user.id)
    )
    assert agency.chief_data_officer_id == officer.user.id
    entry = history(db, "agency", agency.id)[-1]
    assert entry.changes == {"chief_data_officer_id": [None, officer.user.id]}
    # null clears it; an unset field leaves it alone
    service.update_agency(db, SYSTEM, agency.id, AgencyUpdate(domain="市场监管"))
    assert agency.chief_data_officer_id == officer.user.id
    service.update_agency(db, SYSTEM, agency.id, AgencyUpdate(chief_data_officer_id=None))
    assert agency.chief_data_officer_id is None


def test_inactive_user_cannot_be_chief_data_officer(
    db: Session, agency: Agency, make_person: Callable[..., Person]
) -> None:
    from gongshu.auth import service as auth_service
    from gongshu.auth.schemas import UserUpdate

    person = make_person(Role.AGENCY_OFFICER, agency=agency)
    auth_service.update_user(db, SYSTEM, person.user.id, UserUpdate(is_active=False))
    with pytest.raises(ValidationFailed):
        service.update_agency(
            db, SYSTEM, agency.id, AgencyUpdate(chief_data_officer_id=person.user.id)
        )


def test_set_active_records_activate_and_deactivate(
    db: Session, agency: Agency, bureau_admin: Person
) -> None:
    service.deactivate_agency(db, bureau_admin.actor, agency.id)
    assert not agency.is_active
    service.set_active(db, bureau_admin.actor, agency.id, False)  # no change, no entry
    service.set_active(db, bureau_admin.actor, agency.id, True)
    actions = [e.action for e in history(db, "agency", agency.id)]
    assert actions == ["agency.create", "agency.deactivate", "agency.activate"]


def test_failed_write_leaves_no_audit_entry(db: Session, agency: Agency) -> None:
    before = db.scalar(select(func.count()).select_from(AuditEntry))
    with pytest.raises(ValidationFailed):
        service.update_agency(db, SYSTEM, agency.id, AgencyUpdate(credit_code="X" * 18))
    assert db.scalar(select(func.count()).select_from(AuditEntry)) == before
    db.refresh(agency)
    assert agency.credit_code != "X" * 18
