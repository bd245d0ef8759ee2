"""The catalog service: rules, permissions, visibility, audit and concurrency."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.catalog import service
from gongshu.catalog.models import Dataset, DatasetState
from gongshu.catalog.schemas import DatasetCreate, DatasetUpdate, FieldIn
from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.orgs.models import Agency
from gongshu.validation import parse
from tests.catalog.conftest import audit_entries, count_datasets
from tests.factories import Person, dataset_input

LEGAL = "共享属性为有条件共享或不予共享时，必须填写法律法规依据；没有依据的，应当列为无条件共享"


def _fail(db: Session, actor: Actor, data: DatasetCreate) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as info:
        service.create_dataset(db, actor, data)
    return info.value.errors


# --- creation --------------------------------------------------------------------------


def test_create_starts_as_draft_of_the_officers_agency(
    db: Session, officer: Person, agency: Agency
) -> None:
    ds = service.create_dataset(db, officer.actor, dataset_input())
    assert ds.state is DatasetState.DRAFT
    assert ds.agency_id == agency.id
    assert ds.region_id == agency.region_id
    assert ds.created_by_id == officer.user.id
    assert ds.code == "102001/0001"
    assert [f.name for f in ds.fields] == ["credit_code", "name", "registered_on"]
    assert [f.position for f in ds.fields] == [0, 1, 2]
    assert ds.lock_version == 1


def test_agency_defaults_and_may_not_name_another(
    db: Session, officer: Person, other_agency: Agency, agency: Agency
) -> None:
    assert service.create_dataset(db, officer.actor, dataset_input(agency_id=agency.id))
    with pytest.raises(PermissionDenied):
        service.create_dataset(db, officer.actor, dataset_input(agency_id=other_agency.id))


def test_only_agency_officers_create(
    db: Session, bureau_admin: Person, consumer: Person, system_admin: Person
) -> None:
    for person in (bureau_admin, consumer, system_admin):
        with pytest.raises(PermissionDenied):
            service.create_dataset(db, person.actor, dataset_input())
    assert count_datasets(db) == 0


@pytest.mark.parametrize("share_type", ["conditional", "none"])
def test_restricted_sharing_needs_a_legal_basis(
    db: Session, officer: Person, share_type: str
) -> None:
    data = dataset_input(share_type=share_type, open_type="none", level="general_3")
    errors = _fail(db, officer.actor, data)
    assert errors["legal_basis"] == [LEGAL]
    assert "没有依据的，应当列为无条件共享" in errors["legal_basis"][0]
    ds = service.create_dataset(
        db,
        officer.actor,
        dataset_input(
            share_type=share_type, open_type="none", level="general_3", legal_basis="《条例》第十条"
        ),
    )
    assert ds.share_type.value == share_type


def test_opening_rules(db: Session, officer: Person) -> None:
    errors = _fail(db, officer.actor, dataset_input(open_type="conditional"))
    assert "开放条件" in errors["open_conditions"][0]
    errors = _fail(db, officer.actor, dataset_input(open_type="none"))
    assert "不予开放" in errors["open_conditions"][0]
    assert service.create_dataset(
        db, officer.actor, dataset_input(open_type="conditional", open_conditions="实名申请")
    )
    # A level that allows nothing but closed needs no extra reason for being closed.
    assert service.create_dataset(
        db,
        officer.actor,
        dataset_input(
            level="general_4", share_type="conditional", open_type="none", legal_basis="法规"
        ),
    )


@pytest.mark.parametrize(
    ("level", "share", "opened", "bad"),
    [
        ("core", "unconditional", "none", "share_type"),
        ("important", "conditional", "conditional", "open_type"),
        ("general_4", "unconditional", "none", "share_type"),
        ("general_4", "conditional", "conditional", "open_type"),
        ("general_3", "conditional", "unconditional", "open_type"),
        ("general_2", "unconditional", "conditional", "share_type"),
    ],
)
def test_level_limits_share_and_open_types(
    db: Session, officer: Person, level: str, share: str, opened: str, bad: str
) -> None:
    data = dataset_input(
        level=level,
        share_type=share,
        open_type=opened,
        legal_basis="《数据安全法》",
        open_conditions="申请",
    )
    errors = _fail(db, officer.actor, data)
    assert list(errors) == [bad]
    assert "时，不能列为" in errors[bad][0]


def test_field_rules(db: Session, officer: Person) -> None:
    key = FieldIn(name="id_no", label="编号", is_key=True, required=True)
    errors = _fail(db, officer.actor, dataset_input(fields=[]))
    assert errors["fields"] == ["至少需要一个信息项"]
    errors = _fail(
        db, officer.actor, dataset_input(fields=[key, FieldIn(name="id_no", label="重复")])
    )
    assert errors["fields.1.name"] == ["信息项名称“id_no”重复"]
    errors = _fail(db, officer.actor, dataset_input(fields=[FieldIn(name="a", label="甲")]))
    assert errors["fields"] == ["至少需要一个关键信息项（主键）"]
    errors = _fail(
        db, officer.actor, dataset_input(fields=[FieldIn(name="a", label="甲", is_key=True)])
    )
    assert errors["fields.0.required"] == ["关键信息项必须为必填项"]
    with pytest.raises(ValidationFailed) as info:
        parse(
            DatasetCreate,
            {**dataset_input().model_dump(), "fields": [{"name": "Bad Name", "label": "x"}]},
        )
    assert "fields.0.name" in info.value.errors
    assert count_datasets(db) == 0


def test_a_10000_character_title_saves_nothing(db: Session, officer: Person) -> None:
    body = dataset_input().model_dump()
    body["title"] = "长" * 10_000
    with pytest.raises(ValidationFailed) as info:
        service.create_dataset(db, officer.actor, parse(DatasetCreate, body))
    assert info.value.errors["title"] == ["长度不能超过 200 个字符"]
    # Even when the schema is bypassed, the service refuses it.
    data = dataset_input().model_copy(update={"title": "长" * 10_000})
    errors = _fail(db, officer.actor, data)
    assert errors["title"] == ["信息资源名称不能超过 200 个字符"]
    assert count_datasets(db) == 0


def test_related_codes_must_exist(db: Session, officer: Person) -> None:
    first = service.create_dataset(db, officer.actor, dataset_input())
    errors = _fail(db, officer.actor, dataset_input(related_codes=["102001/9999", "bad"]))
    assert errors["related_codes"] == [
        "关联资源代码“bad”格式不正确",
        "关联资源代码“102001/9999”不存在",
    ]
    second = service.create_dataset(
        db, officer.actor, dataset_input(related_codes=[first.code, first.code])
    )
    assert second.related_codes == [first.code]
    with pytest.raises(ValidationFailed) as info:
        service.update_dataset(
            db, officer.actor, second.id, DatasetUpdate(related_codes=[second.code])
        )
    assert info.value.errors["related_codes"] == ["不能关联本条目自身"]


def test_unknown_classification_item_is_refused(db: Session, officer: Person) -> None:
    errors = _fail(db, officer.actor, dataset_input(item_code="99"))
    assert "不在" in errors["item_code"][0]


# --- audit -----------------------------------------------------------------------------


def test_create_is_audited_with_every_value(db: Session, officer: Person) -> None:
    ds = service.create_dataset(db, officer.actor, dataset_input())
    (entry,) = audit_entries(db, ds.id)
    assert entry.action == "dataset.create"
    assert entry.actor_id == officer.user.id
    assert entry.changes["title"] == [None, "企业登记基本信息"]
    assert entry.changes["code"] == [None, ds.code]
    assert entry.changes["fields.credit_code"][0] is None
    assert entry.changes["fields.credit_code"][1]["label"] == "统一社会信用代码"


def test_update_records_a_per_field_diff(db: Session, officer: Person) -> None:
    ds = service.create_dataset(db, officer.actor, dataset_input())
    fields = [
        FieldIn(
            name="credit_code",
            label="信用代码",
            is_key=True,
            required=True,
            length=18,
            sensitivity="credit_code",
        ),
        FieldIn(name="name", label="企业名称", required=True, length=200),
        FieldIn(name="address", label="住所"),
    ]
    updated = service.update_dataset(
        db,
        officer.actor,
        ds.id,
        DatasetUpdate(lock_version=1, title="企业登记信息（新）", fields=fields),
    )
    assert updated.lock_version == 2
    assert [f.name for f in updated.fields] == ["credit_code", "name", "address"]
    entry = audit_entries(db, ds.id, "dataset.update")[0]
    changes = entry.changes
    assert changes["title"] == ["企业登记基本信息", "企业登记信息（新）"]
    assert changes["fields.credit_code.label"] == ["统一社会信用代码", "信用代码"]
    assert changes["fields.address"][0] is None and changes["fields.address"][1]["label"] == "住所"
    assert changes["fields.registered_on"][1] is None
    assert changes["fields.registered_on"][0]["data_type"] == "date"
    assert "fields.name.label" not in changes


def test_field_only_edit_moves_the_lock_version(db: Session, officer: Person) -> None:
    ds = service.create_dataset(db, officer.actor, dataset_input())
    fields = [FieldIn.model_validate(f, from_attributes=True) for f in ds.fields]
    fields[1] = fields[1].model_copy(update={"description": "登记名称"})
    updated = service.update_dataset(db, officer.actor, ds.id, DatasetUpdate(fields=fields))
    assert updated.lock_version == 2
    entry = audit_entries(db, ds.id, "dataset.update")[0]
    assert entry.changes == {"fields.name.description": ["", "登记名称"]}


def test_an_edit_that_changes_nothing_is_not_audited(db: Session, officer: Person) -> None:
    ds = service.create_dataset(db, officer.actor, dataset_input())
    service.update_dataset(db, officer.actor, ds.id, DatasetUpdate(title=ds.title))
    assert audit_entries(db, ds.id, "dataset.update") == []
    assert ds.lock_version == 1


def test_update_applies_the_same_rules(db: Session, officer: Person) -> None:
    ds = service.create_dataset(db, officer.actor, dataset_input())
    with pytest.raises(ValidationFailed) as info:
        service.update_dataset(db, officer.actor, ds.id, DatasetUpdate(share_type="conditional"))
    assert info.value.errors["legal_basis"] == [LEGAL]
    db.refresh(ds)
    assert ds.share_type.value == "unconditional"
    assert audit_entries(db, ds.id, "dataset.update") == []


def test_published_on_can_be_cleared(db: Session, officer: Person) -> None:
    ds = service.create_dataset(db, officer.actor, dataset_input(published_on="2026-01-02"))
    service.update_dataset(db, officer.actor, ds.id, DatasetUpdate(published_on=None))
    assert ds.published_on is None


# --- who may edit ----------------------------------------------------------------------


def test_stale_lock_version_is_a_conflict(db: Session, officer: Person) -> None:
    ds = service.create_dataset(db, officer.actor, dataset_input())
    service.update_dataset(db, officer.actor, ds.id, DatasetUpdate(lock_version=1, title="第一次"))
    with pytest.raises(Conflict) as info:
        service.update_dataset(
            db, officer.actor, ds.id, DatasetUpdate(lock_version=1, title="第二次")
        )
    assert "已被他人修改" in str(info.value)
    assert ds.title == "第一次"


def test_other_agency_cannot_edit(
    db: Session,
    make_dataset: Callable[..., Dataset],
    other_officer: Person,
    bureau_admin: Person,
    publish: Callable[[Dataset], Dataset],
) -> None:
    ds = make_dataset()
    with pytest.raises(NotFound):  # a draft of another agency is invisible
        service.update_dataset(db, other_officer.actor, ds.id, DatasetUpdate(title="改名"))
    with pytest.raises(PermissionDenied):
        service.update_dataset(db, bureau_admin.actor, ds.id, DatasetUpdate(title="改名"))
    publish(ds)
    with pytest.raises(PermissionDenied):  # visible now, but not theirs
        service.update_dataset(db, other_officer.actor, ds.id, DatasetUpdate(title="改名"))


def test_published_entries_are_not_edited_directly(
    db: Session,
    make_dataset: Callable[..., Dataset],
    officer: Person,
    publish: Callable[[Dataset], Dataset],
) -> None:
    ds = publish(make_dataset())
    with pytest.raises(Conflict):
        service.update_dataset(db, officer.actor, ds.id, DatasetUpdate(title="改名"))


# --- visibility ------------------------------------------------------------------------


def test_visibility_of_drafts_and_published_entries(
    db: Session,
    make_dataset: Callable[..., Dataset],
    officer: Person,
    other_officer: Person,
    bureau_admin: Person,
    district_admin: Person,
    consumer: Person,
    public_user: Person,
    publish: Callable[[Dataset], Dataset],
) -> None:
    ds = make_dataset()
    assert service.get_dataset(db, officer.actor, ds.id) is ds
    assert service.get_dataset(db, bureau_admin.actor, ds.id) is ds
    assert service.get_dataset(db, Actor.system("test"), ds.id) is ds
    for person in (other_officer, district_admin, consumer, public_user):
        with pytest.raises(NotFound, match="目录条目不存在"):
            service.get_dataset(db, person.actor, ds.id)
    publish(ds)
    for person in (other_officer, district_admin, consumer):
        assert service.get_dataset(db, person.actor, ds.id) is ds
    with pytest.raises(NotFound):
        service.get_dataset(db, public_user.actor, ds.id)


def test_district_admin_sees_its_district(
    db: Session,
    make_agency: Callable[..., Agency],
    make_person: Callable[..., Person],
    district_admin: Person,
    district: object,
) -> None:
    from gongshu.auth.models import Role

    local = make_agency("兰山区农业农村局", region=district)
    local_officer = make_person(Role.AGENCY_OFFICER, agency=local)
    ds = service.create_dataset(db, local_officer.actor, dataset_input())
    assert ds.region_id == local.region_id
    assert service.get_dataset(db, district_admin.actor, ds.id) is ds


def test_unknown_and_absurd_ids_are_not_found(db: Session, officer: Person) -> None:
    for dataset_id in (0, -1, 987654, 10**30):
        with pytest.raises(NotFound):
            service.get_dataset(db, officer.actor, dataset_id)
