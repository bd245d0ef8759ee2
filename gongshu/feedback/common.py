"""What the feedback services share: who moderates, who answers for an agency, the public
entry a visitor files on, and the notices to the bureau."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.auth.permissions import Perm, can, in_region_scope, require_login
from gongshu.catalog.models import Dataset
from gongshu.catalog.queries import is_platform
from gongshu.errors import NotAuthenticated, NotFound, PermissionDenied, ValidationFailed
from gongshu.i18n import N_
from gongshu.notices.service import notify, users_with_role
from gongshu.portal.openness import is_anonymous, is_public
from gongshu.settings import get_settings
from gongshu.workdays.calendar import local_today
from gongshu.workdays.service import open_deadline

M_SIGN_IN = N_("请先登录后再提交")
M_NO_ENTRY = N_("数据目录不存在或未公开")
M_NOT_MODERATOR = N_("只有大数据主管部门可以审核和转办")
M_NOT_AGENCY = N_("只有承办单位的数据专管员可以答复")
M_REASON_REQUIRED = N_("请说明理由")


def filer(actor: Actor | None) -> Actor:
    """A signed-in user who files something (the anonymous reader only reads)."""
    if actor is None or is_anonymous(actor):
        raise NotAuthenticated(M_SIGN_IN)
    return require_login(actor)


def public_entry(session: Session, dataset_id: int) -> Dataset:
    """A public entry (the portal's rule), else 404."""
    dataset = session.get(Dataset, dataset_id) if 0 < dataset_id < 2**31 else None
    if dataset is None or not is_public(dataset):
        raise NotFound(M_NO_ENTRY)
    return dataset


def may_moderate(actor: Actor | None, region_id: int | None = None, *, city: bool = False) -> bool:
    """The bureau (catalog reviewers) and the platform moderate and route. With
    ``region_id`` (the entry concerned): a district bureau only for its district's entries;
    with ``city``: only the city bureau (demands and reuses concern the whole city)."""
    if actor is None:
        return False
    if is_platform(actor):
        return True
    if not can(actor, Perm.CATALOG_REVIEW):
        return False
    if city:
        return actor.city_scope
    return region_id is None or in_region_scope(actor, region_id)


def moderator(actor: Actor | None, *, city: bool = False) -> Actor:
    """A bureau user (any region; ``city``: the city bureau), else 403."""
    actor = require_login(actor)
    if not may_moderate(actor, city=city):
        raise PermissionDenied(M_NOT_MODERATOR)
    return actor


def in_region(actor: Actor, region_id: int | None) -> None:
    """A moderator acting on an entry of another district is refused."""
    if not may_moderate(actor, region_id):
        raise PermissionDenied(M_NOT_MODERATOR)


def answers_for(actor: Actor | None, agency_id: int | None) -> bool:
    """The agency's data officers (and the platform) reply for it."""
    if actor is None:
        return False
    if is_platform(actor):
        return True
    return agency_id is not None and actor.agency_id == agency_id and actor.has(Role.AGENCY_OFFICER)


def responder(actor: Actor | None, agency_id: int | None) -> Actor:
    actor = require_login(actor)
    if not answers_for(actor, agency_id):
        raise PermissionDenied(M_NOT_AGENCY)
    return actor


def reason_required(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ValidationFailed.single("reason", M_REASON_REQUIRED)
    return reason


def officers(session: Session, agency_id: int | None) -> list[int]:
    if agency_id is None:
        return []
    return users_with_role(session, Role.AGENCY_OFFICER, agency_id=agency_id)


def bureau(session: Session) -> list[int]:
    return users_with_role(session, Role.BUREAU_ADMIN)


def open_routing_deadline(session: Session, object_type: str, object_id: int, kind: str) -> None:
    """The bureau's deadline to route (or screen out) what the public has just filed."""
    open_deadline(
        session,
        object_type=object_type,
        object_id=object_id,
        kind=kind,
        start=local_today(),
        working_days=get_settings().feedback_route_days,
    )


def tell(
    session: Session,
    user_ids: Sequence[int | None],
    kind: str,
    title: str,
    body: str = "",
    /,
    *,
    link: str = "",
    **params: Any,
) -> None:
    notify(
        session,
        user_ids=[u for u in user_ids if u is not None],
        kind=kind,
        title=title,
        body=body,
        link=link,
        **params,
    )
