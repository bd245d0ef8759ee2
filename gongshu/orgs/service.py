"""Writes to regions and agencies. Each function checks who acts, validates, changes the
rows and records its audit entry in one transaction.

Rules:

* regions need ``region.manage`` (the system admin, the CLI); a code is a well-formed
  GB/T 2260 code and unique; the city has no parent, a district's parent is the city and
  its code starts with the city's first four digits;
* agencies need ``agency.manage``; a district bureau admin (not city-scoped) manages only
  the agencies of its own district, before and after the change;
* an agency's credit code passes the GB 32100 check (the message names the expected check
  character) and is stored upper-case; names and credit codes are unique, reported on the
  field, never as a database error;
* the chief data officer (首席数据官) is an active user of that same agency.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gongshu.audit.service import diff, record, snapshot
from gongshu.auth.actor import Actor
from gongshu.auth.models import User
from gongshu.auth.permissions import Perm, in_region_scope, require
from gongshu.db import unit_of_work
from gongshu.errors import NotFound, PermissionDenied, ValidationFailed
from gongshu.i18n import N_, translate
from gongshu.identifiers import check_credit_code, check_region_code
from gongshu.orgs import regions as seed
from gongshu.orgs.models import Agency, Region, RegionLevel
from gongshu.orgs.schemas import AgencyCreate, AgencyUpdate, RegionCreate, RegionUpdate

__all__ = [
    "AGENCY_FIELDS",
    "REGION_FIELDS",
    "create_agency",
    "create_region",
    "deactivate_agency",
    "seed_regions",
    "set_active",
    "update_agency",
    "update_region",
]

REGION_FIELDS = ("code", "name", "level", "parent_id")
AGENCY_FIELDS = (
    "name",
    "short_name",
    "credit_code",
    "region_id",
    "kind",
    "domain",
    "description",
    "address",
    "phone",
    "chief_data_officer_id",
    "is_active",
)

M_INVALID = N_("提交的内容有误，请按提示修改")
M_REGION_NOT_FOUND = N_("行政区划不存在")
M_AGENCY_NOT_FOUND = N_("机构不存在")
M_REGION_CODE_TAKEN = N_("行政区划代码 {code} 已存在")
M_CITY_HAS_PARENT = N_("市级区划不能有上级区划")
M_CITY_CODE = N_("市级区划代码应以 00 结尾")
M_DISTRICT_PARENT = N_("区县必须隶属于一个市级区划")
M_DISTRICT_CODE = N_("区县代码不能以 00 结尾")
M_DISTRICT_PREFIX = N_("区县代码应以所属市级区划代码的前 4 位（{prefix}）开头")
M_OUT_OF_SCOPE = N_("只能管理本区县的机构")
M_NAME_BLANK = N_("机构名称不能为空")
M_NAME_TAKEN = N_("机构名称“{name}”已被使用")
M_CODE_TAKEN = N_("统一社会信用代码 {code} 已被“{name}”使用")
M_CODE_TAKEN_SHORT = N_("统一社会信用代码已被其他机构使用")
M_NAME_TAKEN_SHORT = N_("机构名称已被其他机构使用")
M_PHONE = N_("联系电话格式不正确，只能包含数字、空格、+、-、括号")
M_CDO_NOT_MEMBER = N_("首席数据官必须是本机构的在职用户")
M_CDO_ON_CREATE = N_("新建机构时还没有本机构用户，请在建立后再指定首席数据官")
M_NOT_NULL = N_("此项不能为空")

_NOT_NULL = tuple(f for f in AGENCY_FIELDS if f != "chief_data_officer_id")
_PHONE_RE = re.compile(r"^[0-9+\-() ]*$")


# --- regions ------------------------------------------------------------------------------


def _region_or_404(session: Session, region_id: int) -> Region:
    region = session.get(Region, region_id)
    if region is None:
        raise NotFound(M_REGION_NOT_FOUND)
    return region


def _check_region(
    session: Session,
    code: str,
    level: RegionLevel,
    parent_id: int | None,
    *,
    exclude_id: int | None = None,
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    checked = check_region_code(code)
    if not checked.ok:
        errors["code"] = [issue.localized() for issue in checked.errors]
        return errors
    taken = session.scalar(select(Region.id).where(Region.code == code))
    if taken is not None and taken != exclude_id:
        errors["code"] = [translate(M_REGION_CODE_TAKEN, code=code)]
    if level is RegionLevel.CITY:
        if parent_id is not None:
            _add(errors, "parent_id", M_CITY_HAS_PARENT)
        if not code.endswith("00"):
            _add(errors, "code", M_CITY_CODE)
        return errors
    parent = session.get(Region, parent_id) if parent_id is not None else None
    if parent is None or parent.level is not RegionLevel.CITY:
        _add(errors, "parent_id", M_DISTRICT_PARENT)
        return errors
    if code.endswith("00"):
        _add(errors, "code", M_DISTRICT_CODE)
    elif code[:4] != parent.code[:4] and not (
        parent.code.endswith("0000") and code[:2] == parent.code[:2]
    ):
        _add(errors, "code", M_DISTRICT_PREFIX, prefix=parent.code[:4])
    return errors


def _add(errors: dict[str, list[str]], field: str, message: str, **params: Any) -> None:
    """Collect a message for a field, translated now because it may carry params."""
    errors.setdefault(field, []).append(translate(message, None, **params))


def _raise_if(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationFailed(M_INVALID, errors)


def create_region(session: Session, actor: Actor, data: RegionCreate) -> Region:
    """Add the city or one of its districts/counties. Needs ``region.manage``."""
    require(actor, Perm.REGION_MANAGE)
    _raise_if(_check_region(session, data.code, data.level, data.parent_id))
    with unit_of_work(session):
        region = Region(code=data.code, name=data.name, level=data.level, parent_id=data.parent_id)
        session.add(region)
        session.flush()
        record(
            session,
            actor,
            "region.create",
            "region",
            region.id,
            label=region.name,
            changes=diff({}, snapshot(region, REGION_FIELDS)),
        )
    return region


def update_region(session: Session, actor: Actor, region_id: int, data: RegionUpdate) -> Region:
    """Rename a region or correct its code (GB/T 2260 revisions). Needs ``region.manage``."""
    require(actor, Perm.REGION_MANAGE)
    region = _region_or_404(session, region_id)
    before = snapshot(region, REGION_FIELDS)
    code = data.code if data.code is not None else region.code
    _raise_if(_check_region(session, code, region.level, region.parent_id, exclude_id=region.id))
    with unit_of_work(session):
        region.code = code
        if data.name is not None:
            region.name = data.name
        changes = diff(before, snapshot(region, REGION_FIELDS))
        if changes:
            session.flush()
            record(
                session,
                actor,
                "region.update",
                "region",
                region.id,
                label=region.name,
                changes=changes,
            )
    return region


def seed_regions(session: Session, actor: Actor) -> list[Region]:
    """Create 临沂市 and its 12 districts/counties where missing (idempotent)."""
    require(actor, Perm.REGION_MANAGE)
    existing = {r.code: r for r in session.scalars(select(Region))}
    city = existing.get(seed.CITY.code) or create_region(
        session,
        actor,
        RegionCreate(code=seed.CITY.code, name=seed.CITY.name, level=RegionLevel.CITY),
    )
    out = [city]
    for code, name in seed.DISTRICTS:
        region = existing.get(code) or create_region(
            session,
            actor,
            RegionCreate(code=code, name=name, level=RegionLevel.DISTRICT, parent_id=city.id),
        )
        out.append(region)
    return out


# --- agencies -----------------------------------------------------------------------------


def _agency_or_404(session: Session, agency_id: int) -> Agency:
    agency = session.get(Agency, agency_id)
    if agency is None:
        raise NotFound(M_AGENCY_NOT_FOUND)
    return agency


def _require_scope(actor: Actor, region_ids: Iterable[int | None]) -> None:
    for region_id in region_ids:
        if not in_region_scope(actor, region_id):
            raise PermissionDenied(M_OUT_OF_SCOPE)


def _check_agency(
    session: Session, values: dict[str, Any], agency: Agency | None
) -> dict[str, list[str]]:
    """Validate the final values of an agency; normalises ``credit_code`` in place."""
    errors: dict[str, list[str]] = {}
    exclude = agency.id if agency is not None else None
    for key in _NOT_NULL:
        if key in values and values[key] is None:
            _add(errors, key, M_NOT_NULL)
    name = values.get("name")
    if name is not None:
        if not name.strip():
            _add(errors, "name", M_NAME_BLANK)
        else:
            other = session.scalar(select(Agency.id).where(func.lower(Agency.name) == name.lower()))
            if other is not None and other != exclude:
                _add(errors, "name", M_NAME_TAKEN, name=name)
    if values.get("credit_code") is not None:
        checked = check_credit_code(values["credit_code"])
        values["credit_code"] = checked.value
        if not checked.ok:
            errors["credit_code"] = [issue.localized() for issue in checked.errors]
        else:
            holder = session.execute(
                select(Agency.id, Agency.name).where(Agency.credit_code == checked.value)
            ).first()
            if holder is not None and holder.id != exclude:
                _add(errors, "credit_code", M_CODE_TAKEN, code=checked.value, name=holder.name)
    region_id = values.get("region_id")
    if region_id is not None and session.get(Region, region_id) is None:
        _add(errors, "region_id", M_REGION_NOT_FOUND)
    if not _PHONE_RE.match(values.get("phone") or ""):
        _add(errors, "phone", M_PHONE)
    officer_id = values.get("chief_data_officer_id")
    if officer_id is not None:
        if agency is None:
            _add(errors, "chief_data_officer_id", M_CDO_ON_CREATE)
        else:
            user = session.get(User, officer_id)
            if user is None or not user.is_active or user.agency_id != agency.id:
                _add(errors, "chief_data_officer_id", M_CDO_NOT_MEMBER)
    return errors


def _flush_unique(session: Session) -> None:
    """Flush, turning a lost race on a unique column into the same message as the check."""
    try:
        session.flush()
    except IntegrityError as exc:
        text = str(exc.orig)
        if "credit_code" in text:
            raise ValidationFailed.single("credit_code", M_CODE_TAKEN_SHORT) from exc
        if "name" in text:
            raise ValidationFailed.single("name", M_NAME_TAKEN_SHORT) from exc
        raise


def create_agency(session: Session, actor: Actor, data: AgencyCreate) -> Agency:
    """Register a public body (公共管理和服务机构). Needs ``agency.manage``; a district bureau
    admin registers only agencies of its own district."""
    require(actor, Perm.AGENCY_MANAGE)
    _require_scope(actor, [data.region_id])
    values = data.model_dump()
    _raise_if(_check_agency(session, values, None))
    with unit_of_work(session):
        agency = Agency(**values)
        session.add(agency)
        _flush_unique(session)
        record(
            session,
            actor,
            "agency.create",
            "agency",
            agency.id,
            label=agency.name,
            changes=diff({}, snapshot(agency, AGENCY_FIELDS)),
        )
    return agency


def update_agency(session: Session, actor: Actor, agency_id: int, data: AgencyUpdate) -> Agency:
    """Change an agency's fields (only those sent). Needs ``agency.manage`` in the agency's
    region and, when it moves, in the new one. Changes to ``is_active`` are recorded as
    ``agency.update`` too; ``set_active`` records ``agency.activate``/``agency.deactivate``."""
    require(actor, Perm.AGENCY_MANAGE)
    agency = _agency_or_404(session, agency_id)
    sent = data.model_dump(exclude_unset=True)
    _require_scope(actor, [agency.region_id, sent.get("region_id", agency.region_id)])
    before = snapshot(agency, AGENCY_FIELDS)
    values = {**{k: getattr(agency, k) for k in AGENCY_FIELDS}, **sent}
    _raise_if(_check_agency(session, values, agency))
    with unit_of_work(session):
        for key in sent:
            setattr(agency, key, values[key])
        changes = diff(before, snapshot(agency, AGENCY_FIELDS))
        if changes:
            _flush_unique(session)
            record(
                session,
                actor,
                "agency.update",
                "agency",
                agency.id,
                label=agency.name,
                changes=changes,
            )
    return agency


def set_active(session: Session, actor: Actor, agency_id: int, active: bool) -> Agency:
    """Reactivate or deactivate (撤销) an agency; it stays in the records and the catalog.

    Needs ``agency.manage`` in the agency's region. Nothing is recorded when nothing changes.
    """
    require(actor, Perm.AGENCY_MANAGE)
    agency = _agency_or_404(session, agency_id)
    _require_scope(actor, [agency.region_id])
    if agency.is_active == active:
        return agency
    with unit_of_work(session):
        agency.is_active = active
        session.flush()
        record(
            session,
            actor,
            "agency.activate" if active else "agency.deactivate",
            "agency",
            agency.id,
            label=agency.name,
            changes={"is_active": [not active, active]},
        )
    return agency


def deactivate_agency(session: Session, actor: Actor, agency_id: int) -> Agency:
    """Shorthand for ``set_active(…, False)``."""
    return set_active(session, actor, agency_id, False)
