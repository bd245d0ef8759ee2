"""Writes to the information-system registry (政务信息系统登记).

Each function checks who acts, validates, changes the rows and records one audit entry in
one transaction. Rules:

- officers (``catalog.edit_own``) register and edit the systems of their own agency; bureau
  admins those of the agencies in their region (a city admin: every agency); the platform
  (CLI, demo loader) any;
- a system's name is unique within its agency; its agency is active; the agency of a
  system never changes;
- a linked catalog entry belongs to the system's agency and is visible to the actor; it is
  linked at most once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.audit.service import diff, record, snapshot
from gongshu.auth.actor import Actor
from gongshu.auth.permissions import require_login
from gongshu.catalog import queries as catalog_queries
from gongshu.catalog.models import Dataset
from gongshu.db import unit_of_work
from gongshu.errors import NotFound, PermissionDenied, ValidationFailed
from gongshu.i18n import N_, translate
from gongshu.orgs.models import Agency
from gongshu.systems.models import InformationSystem, SystemDataset
from gongshu.systems.queries import get_system, may_manage
from gongshu.systems.schemas import SystemCreate, SystemLink, SystemUpdate

__all__ = [
    "SYSTEM_FIELDS",
    "create_system",
    "link_dataset",
    "unlink_dataset",
    "update_system",
]

SYSTEM_FIELDS: tuple[str, ...] = (
    "name",
    "agency_id",
    "status",
    "project_name",
    "project_number",
    "description",
    "contact",
    "contact_phone",
)
EDITABLE: tuple[str, ...] = tuple(f for f in SYSTEM_FIELDS if f != "agency_id")

INVALID = N_("提交的内容有误，请按提示修改")
NO_AGENCY = N_("请指定信息系统所属机构")
AGENCY_INACTIVE = N_("机构不存在或已停用")
NOT_ALLOWED = N_("只能登记和修改本单位（或本辖区）的信息系统")
NAME_TAKEN = N_("本机构已登记名为“{name}”的信息系统")
DATASET_NOT_FOUND = N_("目录条目不存在")
OTHER_AGENCY_DATASET = N_("只能关联本系统所属机构的目录条目")
ALREADY_LINKED = N_("该目录条目已关联到本系统")
NOT_LINKED = N_("该目录条目未关联到本系统")


def _label(system: InformationSystem) -> str:
    return system.name


def _require_manage(actor: Actor, agency: Agency) -> None:
    if not may_manage(actor, agency):
        raise PermissionDenied(NOT_ALLOWED)


def _check_name(
    session: Session, agency_id: int, name: str, exclude_id: int | None = None
) -> dict[str, list[str]]:
    stmt = select(InformationSystem.id).where(
        InformationSystem.agency_id == agency_id, InformationSystem.name == name
    )
    taken = session.scalar(stmt)
    if taken is not None and taken != exclude_id:
        return {"name": [translate(NAME_TAKEN, name=name)]}
    return {}


def create_system(session: Session, actor: Actor | None, data: SystemCreate) -> InformationSystem:
    """Register a system of the officer's own agency (admins name the agency)."""
    actor = require_login(actor)
    agency_id = data.agency_id if data.agency_id is not None else actor.agency_id
    if agency_id is None:
        raise ValidationFailed(INVALID, {"agency_id": [translate(NO_AGENCY)]})
    agency = session.get(Agency, agency_id) if catalog_queries.valid_id(agency_id) else None
    if agency is None or not agency.is_active:
        raise ValidationFailed(INVALID, {"agency_id": [translate(AGENCY_INACTIVE)]})
    _require_manage(actor, agency)
    errors = _check_name(session, agency.id, data.name)
    if errors:
        raise ValidationFailed(INVALID, errors)
    with unit_of_work(session):
        system = InformationSystem(
            agency_id=agency.id,
            created_by_id=actor.user_id,
            **data.model_dump(exclude={"agency_id"}),
        )
        session.add(system)
        session.flush()
        record(
            session,
            actor,
            "system.create",
            "information_system",
            system.id,
            label=_label(system),
            changes=diff({}, {k: v for k, v in snapshot(system, SYSTEM_FIELDS).items() if v}),
        )
    return system


def update_system(
    session: Session, actor: Actor | None, system_id: int, data: SystemUpdate
) -> InformationSystem:
    """Edit a system's name, status, project and contact (its agency stays)."""
    actor = require_login(actor)
    system = get_system(session, actor, system_id)
    _require_manage(actor, system.agency)
    values: dict[str, Any] = {
        k: v for k, v in data.model_dump(exclude_unset=True).items() if v is not None
    }
    if "name" in values:
        errors = _check_name(session, system.agency_id, values["name"], exclude_id=system.id)
        if errors:
            raise ValidationFailed(INVALID, errors)
    before = snapshot(system, EDITABLE)
    with unit_of_work(session):
        for key, value in values.items():
            setattr(system, key, value)
        changes = diff(before, snapshot(system, EDITABLE))
        if changes:
            session.flush()
            record(
                session,
                actor,
                "system.update",
                "information_system",
                system.id,
                label=_label(system),
                changes=changes,
            )
    return system


def _dataset_for(session: Session, actor: Actor, data: SystemLink) -> Dataset:
    dataset = None
    if data.dataset_id is not None:
        dataset = catalog_queries.find_visible(session, actor, data.dataset_id)
    elif data.code:
        dataset = catalog_queries.find_by_code(session, actor, data.code.strip())
    if dataset is None:
        raise NotFound(DATASET_NOT_FOUND)
    return dataset


def link_dataset(
    session: Session, actor: Actor | None, system_id: int, data: SystemLink
) -> SystemDataset:
    """Record that a system produces a catalog entry of its agency."""
    actor = require_login(actor)
    system = get_system(session, actor, system_id)
    _require_manage(actor, system.agency)
    dataset = _dataset_for(session, actor, data)
    if dataset.agency_id != system.agency_id:
        raise ValidationFailed(INVALID, {"dataset_id": [translate(OTHER_AGENCY_DATASET)]})
    if session.get(SystemDataset, (system.id, dataset.id)) is not None:
        raise ValidationFailed(INVALID, {"dataset_id": [translate(ALREADY_LINKED)]})
    with unit_of_work(session):
        link = SystemDataset(system_id=system.id, dataset_id=dataset.id)
        session.add(link)
        session.flush()
        record(
            session,
            actor,
            "system.link",
            "information_system",
            system.id,
            label=_label(system),
            changes={"datasets": [None, f"{dataset.code} {dataset.title}"]},
        )
    return link


def unlink_dataset(session: Session, actor: Actor | None, system_id: int, dataset_id: int) -> None:
    """Remove a catalog entry from a system's list of products."""
    actor = require_login(actor)
    system = get_system(session, actor, system_id)
    _require_manage(actor, system.agency)
    link = (
        session.get(SystemDataset, (system.id, dataset_id))
        if catalog_queries.valid_id(dataset_id)
        else None
    )
    if link is None:
        raise NotFound(NOT_LINKED)
    dataset = session.get(Dataset, dataset_id)
    text = f"{dataset.code} {dataset.title}" if dataset is not None else str(dataset_id)
    with unit_of_work(session):
        session.delete(link)
        session.flush()
        record(
            session,
            actor,
            "system.unlink",
            "information_system",
            system.id,
            label=_label(system),
            changes={"datasets": [text, None]},
        )
