"""The return flow (数据回流): a city-level entry serves each district's bodies the rows of
their own district.

The city bureau enables it per entry: it names the entry's region field (one whose
values are district codes or names — a field with the ``region_code`` identifier is
proposed first) and, for each district, the value that field holds there (by default the
district's code for a ``region_code`` field, else its name). Then every active agency of a
mapped district holds one grant of kind ``return_flow`` on the entry, with the row filter
``[[field, "eq", value]]``, every field (masked as the gate decides) and no end.

The grants follow the settings: saving them again revokes grants that no longer match and
issues the missing ones; disabling revokes them all. Agencies created later get theirs from
the sweep job (``sync_return_flows``, also ``gongshu share return-flow sync``) or at once
when one of their users requests the entry. Audited ``return_flow.enable``,
``return_flow.disable`` and ``return_flow.sync``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu.audit import service as audit
from gongshu.auth.actor import Actor
from gongshu.auth.permissions import Perm, require
from gongshu.catalog.models import Dataset, DatasetState
from gongshu.catalog.service import get_dataset
from gongshu.db import unit_of_work
from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.gate import service as gate
from gongshu.i18n import N_, translate
from gongshu.ingest.spec import IdentifierKind
from gongshu.notices.service import notify
from gongshu.orgs.models import Agency, Region
from gongshu.share import issuing, rules
from gongshu.share.models import Grant, GrantKind, GrantStatus, ReturnFlow
from gongshu.share.schemas import ReturnFlowSet

__all__ = [
    "default_value_map",
    "disable_return_flow",
    "districts_of",
    "ensure_for_agency",
    "field_values",
    "get_flow",
    "list_flows",
    "region_fields",
    "set_return_flow",
    "sync_return_flows",
]

PURPOSE = N_("数据回流：本区县数据")
M_CITY_ONLY = N_("只有市级大数据主管部门可以设置数据回流")
M_NOT_CITY_ENTRY = N_("只有市级单位的目录条目可以设置数据回流")
M_NOT_PUBLISHED = N_("只有已发布的目录条目可以设置数据回流")
M_NO_FIELD = N_("信息项“{name}”不在该目录条目中")
M_NOT_DISTRICT = N_("“{code}”不是本市的区县代码")
M_VALUE_LONG = N_("取值不能超过 200 个字符")
M_NO_VALUES = N_("请至少为一个区县填写该信息项的取值")
M_NOT_ENABLED = N_("该目录条目未启用数据回流")
M_INVALID = N_("数据回流设置有误，请按提示修改")
M_DISABLED_REASON = N_("数据回流已停用")
M_CHANGED_REASON = N_("数据回流设置已变更")
VALUE_MAX = 200

NOTICE_ENABLED = N_("数据回流已开通：{name}")
NOTICE_ENABLED_BODY = N_("本单位可使用“{name}”中本区县（{field} = {value}）的数据。")


def _require(actor: Actor | None) -> Actor:
    if actor is None or not rules.city_bureau(actor):
        raise PermissionDenied(M_CITY_ONLY)
    return actor


def districts_of(session: Session, dataset: Dataset) -> list[Region]:
    """The districts under the entry's (city) region, by code."""
    stmt = select(Region).where(Region.parent_id == dataset.region_id).order_by(Region.code)
    return list(session.scalars(stmt))


def region_fields(dataset: Dataset, districts: Sequence[Region]) -> list[str]:
    """Fields that look like a region field: the ``region_code`` identifier first, then
    fields whose allowed values include district codes or names."""
    codes = {d.code for d in districts} | {d.name for d in districts}
    first = [f.name for f in dataset.fields if f.identifier == IdentifierKind.REGION_CODE.value]
    then = [
        f.name
        for f in dataset.fields
        if f.name not in first and codes.intersection(str(c) for c in f.choices or [])
    ]
    return first + then


def default_value_map(
    dataset: Dataset, field_name: str, districts: Sequence[Region]
) -> dict[str, str]:
    """District code → the value the field holds there: the code for a ``region_code``
    field or one whose choices hold codes, the name otherwise."""
    field = next((f for f in dataset.fields if f.name == field_name), None)
    choices = {str(c) for c in (field.choices if field is not None else [])}
    by_code = field is not None and (
        field.identifier == IdentifierKind.REGION_CODE.value
        or any(d.code in choices for d in districts)
        or not choices
    )
    return {d.code: d.code if by_code else d.name for d in districts}


def get_flow(session: Session, dataset_id: int) -> ReturnFlow | None:
    return session.scalars(select(ReturnFlow).where(ReturnFlow.dataset_id == dataset_id)).first()


@dataclass(frozen=True)
class FlowRow:
    flow: ReturnFlow
    dataset: Dataset
    grants: int


def list_flows(session: Session, actor: Actor | None) -> list[FlowRow]:
    """Every entry's return-flow settings with its count of active grants (the bureau)."""
    if actor is None or not rules.city_bureau(actor):
        require(actor, Perm.CATALOG_REVIEW)
    counts = dict(
        session.execute(
            select(Grant.dataset_id, func.count())
            .where(Grant.kind == GrantKind.RETURN_FLOW, Grant.status == GrantStatus.ACTIVE)
            .group_by(Grant.dataset_id)
        ).all()
    )
    rows = session.execute(
        select(ReturnFlow, Dataset)
        .join(Dataset, Dataset.id == ReturnFlow.dataset_id)
        .order_by(ReturnFlow.enabled.desc(), Dataset.code)
    ).all()
    return [FlowRow(f, d, int(counts.get(d.id, 0))) for f, d in rows]


def field_values(
    session: Session, dataset: Dataset, field_name: str, limit: int = 200
) -> list[str]:
    """The distinct values of a field in the entry's current version, read through the
    gate as the platform (audited ``data.read``, purpose ``return_flow``). Call it with no
    pending writes: the gate commits its audit entry."""
    if field_name not in {f.name for f in dataset.fields}:
        raise ValidationFailed(M_INVALID, {"field_name": [translate(M_NO_FIELD, name=field_name)]})
    seen: set[str] = set()
    try:
        batches = gate.scan(
            session,
            Actor.system("return_flow"),
            dataset,
            purpose="return_flow",
            columns=[field_name],
        )
        for batch in batches:
            for value in batch.column(0).to_pylist():
                if value is not None:
                    seen.add(str(value))
            if len(seen) >= limit:
                break
    except NotFound:
        return []
    return sorted(seen)[:limit]


# --- settings --------------------------------------------------------------------------


def _clean(session: Session, dataset: Dataset, data: ReturnFlowSet) -> dict[str, str]:
    errors: dict[str, list[str]] = {}
    if data.field_name not in {f.name for f in dataset.fields}:
        errors["field_name"] = [translate(M_NO_FIELD, name=data.field_name)]
    districts = {d.code for d in districts_of(session, dataset)}
    mapping: dict[str, str] = {}
    for code, raw in data.value_map.items():
        value = raw.strip()
        if code not in districts:
            errors.setdefault("value_map", []).append(translate(M_NOT_DISTRICT, code=code))
        elif len(value) > VALUE_MAX:
            errors.setdefault(f"value_map.{code}", []).append(translate(M_VALUE_LONG))
        elif value:
            mapping[code] = value
    if not mapping and not errors:
        errors["value_map"] = [translate(M_NO_VALUES)]
    if errors:
        raise ValidationFailed(M_INVALID, errors)
    return mapping


def _entry(session: Session, actor: Actor, dataset_id: int) -> Dataset:
    dataset = get_dataset(session, actor, dataset_id)
    region = session.get(Region, dataset.region_id)
    if region is None or not region.is_city:
        raise Conflict(M_NOT_CITY_ENTRY)
    if dataset.state is not DatasetState.PUBLISHED:
        raise Conflict(M_NOT_PUBLISHED)
    return dataset


def _desired(session: Session, flow: ReturnFlow) -> dict[int, list[list[Any]]]:
    """Agency id → the row filter its grant should carry, for every active agency of a
    mapped district."""
    stmt = (
        select(Agency.id, Region.code)
        .join(Region, Region.id == Agency.region_id)
        .where(Agency.is_active.is_(True), Region.code.in_(list(flow.value_map)))
    )
    return {
        agency_id: [[flow.field_name, "eq", flow.value_map[code]]]
        for agency_id, code in session.execute(stmt).all()
    }


def _active_grants(session: Session, dataset_id: int, agency_id: int | None = None) -> list[Grant]:
    stmt = select(Grant).where(
        Grant.dataset_id == dataset_id,
        Grant.kind == GrantKind.RETURN_FLOW,
        Grant.status == GrantStatus.ACTIVE,
    )
    if agency_id is not None:
        stmt = stmt.where(Grant.agency_id == agency_id)
    return list(session.scalars(stmt.order_by(Grant.id)))


def _reconcile(
    session: Session,
    actor: Actor,
    flow: ReturnFlow,
    dataset: Dataset,
    *,
    only_agency: int | None = None,
) -> tuple[list[Grant], list[Grant]]:
    """Revoke the flow's grants that no longer match its settings and issue the missing
    ones (in the caller's transaction). Returns (issued, revoked)."""
    desired = _desired(session, flow) if flow.enabled else {}
    if only_agency is not None:
        desired = {k: v for k, v in desired.items() if k == only_agency}
    revoked: list[Grant] = []
    holding: set[int] = set()
    for grant in _active_grants(session, dataset.id, only_agency):
        wanted = desired.get(grant.agency_id)
        if wanted is not None and grant.row_filter == wanted and grant.agency_id not in holding:
            holding.add(grant.agency_id)
            continue
        reason = M_CHANGED_REASON if flow.enabled else M_DISABLED_REASON
        issuing.end_grant(grant, GrantStatus.REVOKED, actor, reason)
        revoked.append(grant)
    issued = [
        issuing.new_grant(
            actor,
            dataset=dataset,
            agency_id=agency_id,
            kind=GrantKind.RETURN_FLOW,
            row_filter=row_filter,
            purpose=PURPOSE,
        )
        for agency_id, row_filter in sorted(desired.items())
        if agency_id not in holding and agency_id != dataset.agency_id
    ]
    issuing.add_grants(session, issued)
    for grant in issued:
        value = grant.row_filter[0][2]
        notify(
            session,
            user_ids=rules.body_ids(session, grant.agency_id),
            kind="return_flow.enabled",
            title=NOTICE_ENABLED,
            body=NOTICE_ENABLED_BODY,
            link="/share/grants",
            name=dataset.title,
            field=flow.field_name,
            value=value,
        )
    return issued, revoked


def _summary(issued: Sequence[Grant], revoked: Sequence[Grant]) -> dict[str, object]:
    return {
        "issued": [[g.id, g.agency_id] for g in issued],
        "revoked": [[g.id, g.agency_id] for g in revoked],
    }


def set_return_flow(
    session: Session, actor: Actor | None, dataset_id: int, data: ReturnFlowSet
) -> tuple[ReturnFlow, int, int]:
    """Enable (or change) an entry's return flow and bring its grants in line (the city
    bureau). Returns the flow and how many grants were issued and revoked."""
    actor = _require(actor)
    with unit_of_work(session):
        dataset = _entry(session, actor, dataset_id)
        mapping = _clean(session, dataset, data)
        flow = get_flow(session, dataset.id)
        before: dict[str, Any] = {}
        if flow is None:
            flow = ReturnFlow(dataset_id=dataset.id, field_name=data.field_name)
            session.add(flow)
        else:
            before = audit.snapshot(flow, ("field_name", "value_map", "enabled"))
        flow.field_name = data.field_name
        flow.value_map = mapping
        flow.enabled = True
        flow.updated_by_id = actor.user_id
        session.flush()
        issued, revoked = _reconcile(session, actor, flow, dataset)
        after = audit.snapshot(flow, ("field_name", "value_map", "enabled"))
        audit.record(
            session,
            actor,
            "return_flow.enable",
            "dataset",
            dataset.id,
            label=f"{dataset.code} {dataset.title}",
            changes={**audit.diff(before, after), **_summary(issued, revoked)},
        )
    return flow, len(issued), len(revoked)


def disable_return_flow(session: Session, actor: Actor | None, dataset_id: int) -> int:
    """Disable an entry's return flow: every return-flow grant on it is revoked. Returns
    how many."""
    actor = _require(actor)
    with unit_of_work(session):
        dataset = get_dataset(session, actor, dataset_id)
        flow = get_flow(session, dataset.id)
        if flow is None or not flow.enabled:
            raise Conflict(M_NOT_ENABLED)
        flow.enabled = False
        flow.updated_by_id = actor.user_id
        session.flush()
        issued, revoked = _reconcile(session, actor, flow, dataset)
        audit.record(
            session,
            actor,
            "return_flow.disable",
            "dataset",
            dataset.id,
            label=f"{dataset.code} {dataset.title}",
            changes={"enabled": [True, False], **_summary(issued, revoked)},
        )
    return len(revoked)


def sync_return_flows(session: Session, actor: Actor | None) -> tuple[int, int]:
    """Bring every enabled flow's grants in line (agencies created, moved or deactivated
    since). Commits; one ``return_flow.sync`` entry per entry that changed. Returns (issued,
    revoked)."""
    actor = _require(actor)
    total_issued = total_revoked = 0
    with unit_of_work(session):
        rows = session.execute(
            select(ReturnFlow, Dataset)
            .join(Dataset, Dataset.id == ReturnFlow.dataset_id)
            .where(ReturnFlow.enabled.is_(True))
            .order_by(ReturnFlow.id)
        ).all()
        for flow, dataset in rows:
            issued, revoked = _reconcile(session, actor, flow, dataset)
            if issued or revoked:
                audit.record(
                    session,
                    actor,
                    "return_flow.sync",
                    "dataset",
                    dataset.id,
                    label=f"{dataset.code} {dataset.title}",
                    changes=_summary(issued, revoked),
                )
            total_issued += len(issued)
            total_revoked += len(revoked)
    return total_issued, total_revoked


def ensure_for_agency(session: Session, actor: Actor, dataset: Dataset, agency_id: int) -> None:
    """Issue the body's missing return-flow grant on the entry, if the entry has an enabled
    flow covering the body's district (in the caller's transaction, audited as a sync)."""
    flow = get_flow(session, dataset.id)
    if flow is None or not flow.enabled:
        return
    issued, revoked = _reconcile(session, actor, flow, dataset, only_agency=agency_id)
    if issued or revoked:
        audit.record(
            session,
            actor,
            "return_flow.sync",
            "dataset",
            dataset.id,
            label=f"{dataset.code} {dataset.title}",
            changes=_summary(issued, revoked),
        )
