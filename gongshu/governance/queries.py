"""Reads of consistency issues shared by pages, API and CLI: who sees which issues.

An agency's users see the issues where their agency holds the source or the copy; a bureau
admin those of entries in its region (a city admin: all); the platform all of them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select, true
from sqlalchemy.orm import Session, aliased, selectinload

from gongshu.auth.actor import Actor
from gongshu.auth.permissions import Perm, can, require_login
from gongshu.catalog import queries as catalog_queries
from gongshu.catalog.models import Dataset
from gongshu.governance.models import ConsistencyIssue
from gongshu.governance.schemas import IssueFilter
from gongshu.pagination import Page

__all__ = ["MAX_PER_PAGE", "PER_PAGE", "issue_dict", "list_issues"]

PER_PAGE = 50
MAX_PER_PAGE = 500

_source = aliased(Dataset)
_copy = aliased(Dataset)


def _visible(actor: Actor) -> ColumnElement[bool]:
    if catalog_queries.is_platform(actor):
        return true()
    conditions: list[ColumnElement[bool]] = []
    if can(actor, Perm.CATALOG_REVIEW):
        if actor.city_scope:
            return true()
        if actor.region_id is not None:
            conditions += [_source.region_id == actor.region_id, _copy.region_id == actor.region_id]
    if actor.agency_id is not None:
        conditions += [_source.agency_id == actor.agency_id, _copy.agency_id == actor.agency_id]
    return or_(false(), *conditions)


def list_issues(
    session: Session,
    actor: Actor | None,
    filters: IssueFilter,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> Page[ConsistencyIssue]:
    """Issues in the actor's scope, newest first, filtered by agency, item, dataset, status."""
    actor = require_login(actor)
    stmt = (
        select(ConsistencyIssue)
        .join(_source, _source.id == ConsistencyIssue.source_dataset_id)
        .join(_copy, _copy.id == ConsistencyIssue.copy_dataset_id)
        .where(_visible(actor))
    )
    if filters.status is not None:
        stmt = stmt.where(ConsistencyIssue.status == filters.status)
    if filters.item_id is not None:
        stmt = stmt.where(ConsistencyIssue.item_id == filters.item_id)
    if filters.agency_id is not None:
        stmt = stmt.where(
            (_source.agency_id == filters.agency_id) | (_copy.agency_id == filters.agency_id)
        )
    if filters.dataset_id is not None:
        stmt = stmt.where(
            (ConsistencyIssue.source_dataset_id == filters.dataset_id)
            | (ConsistencyIssue.copy_dataset_id == filters.dataset_id)
        )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.options(
            selectinload(ConsistencyIssue.item),
            selectinload(ConsistencyIssue.source_dataset).selectinload(Dataset.agency),
            selectinload(ConsistencyIssue.copy_dataset).selectinload(Dataset.agency),
        )
        .order_by(ConsistencyIssue.last_seen_at.desc(), ConsistencyIssue.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return Page(list(rows), int(total), page, per_page)


def issue_dict(issue: ConsistencyIssue) -> dict[str, Any]:
    """An issue with its item, entries and agencies named (the API's ``IssueRead``)."""
    return {
        "id": issue.id,
        "item_id": issue.item_id,
        "item_name": issue.item.name,
        "source_dataset_id": issue.source_dataset_id,
        "source_dataset_title": issue.source_dataset.title,
        "source_agency_name": issue.source_dataset.agency.name,
        "copy_dataset_id": issue.copy_dataset_id,
        "copy_dataset_title": issue.copy_dataset.title,
        "copy_agency_name": issue.copy_dataset.agency.name,
        "source_field": issue.source_field,
        "copy_field": issue.copy_field,
        "key_value": issue.key_value,
        "source_value": issue.source_value,
        "copy_value": issue.copy_value,
        "status": issue.status,
        "resolution": issue.resolution,
        "opened_at": issue.opened_at,
        "last_seen_at": issue.last_seen_at,
        "resolved_at": issue.resolved_at,
        "times_opened": issue.times_opened,
    }
