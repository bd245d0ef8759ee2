"""The return flow: a city entry's district field → one filtered grant per district body,
kept in line with the settings and with agencies created later."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.catalog.models import Dataset
from gongshu.errors import Conflict, PermissionDenied, ValidationFailed
from gongshu.orgs import service as orgs_service
from gongshu.orgs.models import Agency, Region, RegionLevel
from gongshu.orgs.schemas import RegionCreate
from gongshu.share import issuing, return_flow
from gongshu.share.grants import active_grants
from gongshu.share.models import Grant, GrantKind, GrantStatus
from gongshu.share.schemas import ReturnFlowSet, ShareRequestCreate
from tests.factories import SYSTEM, Person
from tests.share.conftest import actions, ask


def flow_grants(db: Session, dataset: Dataset, *, active: bool = True) -> list[Grant]:
    stmt = select(Grant).where(Grant.dataset_id == dataset.id, Grant.kind == GrantKind.RETURN_FLOW)
    if active:
        stmt = stmt.where(Grant.status == GrantStatus.ACTIVE)
    return list(db.scalars(stmt.order_by(Grant.id)))


@pytest.fixture
def luozhuang(db: Session, city: Region) -> Region:
    return orgs_service.create_region(
        db,
        SYSTEM,
        RegionCreate(code="371311", name="罗庄区", level=RegionLevel.DISTRICT, parent_id=city.id),
    )


def test_enable_issues_one_filtered_grant_per_district_body(
    db: Session,
    conditional: Dataset,
    district: Region,
    district_agency: Agency,
    luozhuang: Region,
    make_agency: Callable[..., Agency],
    other_agency: Agency,
    bureau_admin: Person,
    district_officer: Person,
) -> None:
    luozhuang_body = make_agency("罗庄区教育和体育局", region=luozhuang)
    districts = return_flow.districts_of(db, conditional)
    assert [d.code for d in districts] == ["371302", "371311"]
    assert return_flow.region_fields(conditional, districts) == ["district_code"]
    defaults = return_flow.default_value_map(conditional, "district_code", districts)
    assert defaults == {"371302": "371302", "371311": "371311"}

    flow, issued, revoked = return_flow.set_return_flow(
        db,
        bureau_admin.actor,
        conditional.id,
        ReturnFlowSet(field_name="district_code", value_map=defaults),
    )
    assert (issued, revoked) == (2, 0) and flow.enabled
    by_agency = {g.agency_id: g for g in flow_grants(db, conditional)}
    assert set(by_agency) == {district_agency.id, luozhuang_body.id}  # no city body
    assert by_agency[district_agency.id].row_filter == [["district_code", "eq", "371302"]]
    assert by_agency[luozhuang_body.id].row_filter == [["district_code", "eq", "371311"]]
    assert by_agency[district_agency.id].fields is None
    assert by_agency[district_agency.id].expires_at is None
    assert active_grants(db, other_agency.id, conditional.id) == []
    assert actions(db, "dataset", conditional.id)[-1] == "return_flow.enable"

    # Only 兰山区 now, by name: 罗庄区 loses its grant, 兰山区's is replaced.
    _flow, issued, revoked = return_flow.set_return_flow(
        db,
        bureau_admin.actor,
        conditional.id,
        ReturnFlowSet(field_name="district_code", value_map={"371302": "兰山区", "371311": ""}),
    )
    assert (issued, revoked) == (1, 2)
    [only] = flow_grants(db, conditional)
    assert only.agency_id == district_agency.id
    assert only.row_filter == [["district_code", "eq", "兰山区"]]

    # A return-flow grant is not revoked on its own: the settings would issue it again.
    with pytest.raises(Conflict):
        issuing.revoke_grant(db, bureau_admin.actor, only.id, "不需要")

    assert return_flow.disable_return_flow(db, bureau_admin.actor, conditional.id) == 1
    assert flow_grants(db, conditional) == []
    assert actions(db, "dataset", conditional.id)[-1] == "return_flow.disable"
    with pytest.raises(Conflict):
        return_flow.disable_return_flow(db, bureau_admin.actor, conditional.id)


def test_agencies_created_later_get_their_grant(
    db: Session,
    conditional: Dataset,
    district: Region,
    make_agency: Callable[..., Agency],
    make_person: Callable[..., Person],
    bureau_admin: Person,
) -> None:
    return_flow.set_return_flow(
        db,
        bureau_admin.actor,
        conditional.id,
        ReturnFlowSet(field_name="district_code", value_map={"371302": "371302"}),
    )
    assert flow_grants(db, conditional) == []  # no district body yet
    first = make_agency("兰山区应急管理局", region=district)
    assert return_flow.sync_return_flows(db, bureau_admin.actor) == (1, 0)
    assert [g.agency_id for g in flow_grants(db, conditional)] == [first.id]
    assert actions(db, "dataset", conditional.id)[-1] == "return_flow.sync"
    assert return_flow.sync_return_flows(db, bureau_admin.actor) == (0, 0)

    # On demand: a new body's user asks for the entry and gets its district's rows at once.
    from gongshu.auth.models import Role

    second = make_agency("兰山区卫生健康局", region=district)
    asker = make_person(Role.AGENCY_OFFICER, agency=second)
    ask(db, asker, conditional)
    mine = [g for g in flow_grants(db, conditional) if g.agency_id == second.id]
    assert len(mine) == 1 and mine[0].row_filter == [["district_code", "eq", "371302"]]


def test_only_the_city_bureau_and_city_entries(
    db: Session,
    conditional: Dataset,
    make_dataset: Callable[..., Dataset],
    publish: Callable[..., Dataset],
    district_officer: Person,
    district_admin: Person,
    bureau_admin: Person,
) -> None:
    data = ReturnFlowSet(field_name="district_code", value_map={"371302": "371302"})
    with pytest.raises(PermissionDenied):
        return_flow.set_return_flow(db, district_admin.actor, conditional.id, data)
    with pytest.raises(ValidationFailed):
        return_flow.set_return_flow(
            db, bureau_admin.actor, conditional.id, ReturnFlowSet(field_name="nope")
        )
    with pytest.raises(ValidationFailed):
        return_flow.set_return_flow(
            db,
            bureau_admin.actor,
            conditional.id,
            ReturnFlowSet(field_name="district_code", value_map={"999999": "x"}),
        )
    district_entry = publish(
        make_dataset(by=district_officer, title="兰山区农贸市场名录"), by=district_officer
    )
    with pytest.raises(Conflict):
        return_flow.set_return_flow(db, bureau_admin.actor, district_entry.id, data)
    assert ShareRequestCreate(dataset_id=1).fields == []
