"""Loading the demo city through the real services, so the audit chain records all of it.

Order (always the same, so two fresh databases end up with the same ids, codes and
exports): the city and its districts, the agencies, the accounts, each agency's chief data
officer, then the catalog entries — each created by its agency's officer, in the order of
``gongshu.demo.entries``. A database that already holds the city is left alone.

Then the catalog comes alive through the review workflow, as the right reviewers (the
city bureau, 兰山区's bureau for its own agencies): most entries are submitted, approved and
published on a fixed day (so exports stay byte-identical); a few are kept as drafts, a few
wait for review (with a live deadline from today) and a few are returned with a reason.

Last, published entries get their rows (``gongshu.demo.rows``): files ingested through the
real pipeline by each agency's officer, so versions, quality reports, rejected rows and
the audit chain are those of real uploads.

Callers: ``gongshu demo load`` and the browser tests' live server. The loader commits as it
goes (every service call is its own unit of work).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu.auth import service as auth_service
from gongshu.auth.actor import Actor
from gongshu.auth.models import User
from gongshu.auth.schemas import UserCreate
from gongshu.catalog import service as catalog_service
from gongshu.catalog import workflow
from gongshu.catalog.classification import DEFAULT_ITEMS, get_taxonomy
from gongshu.catalog.models import CategoryClass, Dataset, DatasetState
from gongshu.catalog.schemas import DatasetCreate, FieldIn
from gongshu.demo.data import (
    AGENCIES,
    CITY,
    DEMO_PASSWORD,
    DISTRICTS,
    ENTRIES,
    PROJECT_SUFFIX,
    UNCATALOGED_SYSTEMS,
    USERS,
)
from gongshu.demo.rows import load_rows
from gongshu.demo.sharing import load_sharing
from gongshu.demo.specs import EntrySpec
from gongshu.orgs import service as orgs_service
from gongshu.orgs.models import Agency, Region, RegionLevel
from gongshu.orgs.schemas import AgencyCreate, AgencyUpdate, RegionCreate
from gongshu.settings import Settings
from gongshu.systems import service as systems_service
from gongshu.systems.models import SystemStatus
from gongshu.systems.schemas import SystemCreate, SystemLink

ACTOR_NAME = "demo"
EMAIL_DOMAIN = "example.cn"
# The day the demo catalog was reviewed and published (fixed: exports are byte-identical).
PUBLISHED_ON = dt.date(2026, 9, 1)
CITY_REVIEWER = "bureau"
DISTRICT_REVIEWERS = {"371302": "lanshan_bureau"}
RETURN_REASON = "信息项说明不完整，请补充各信息项的含义和取值范围后重新提交。"


def demo_state(index: int) -> str:
    """Where the ``index``-th demo entry ends: most are published, some stay behind."""
    slot = index % 15
    if slot == 7:
        return "submitted"
    if slot == 11:
        return "returned"
    if slot == 13:
        return "draft"
    return "published"


@dataclass(frozen=True)
class DemoSummary:
    """What a load did (or, with ``already_loaded``, what the database already holds)."""

    already_loaded: bool
    regions: int
    agencies: int
    users: int
    datasets: int


def is_loaded(session: Session) -> bool:
    """Whether the demo city's region exists (then the demo is taken as loaded)."""
    return session.scalar(select(Region.id).where(Region.code == CITY.code)) is not None


def item_code(category_class: CategoryClass, name: str) -> str:
    """The two-digit code of the classification item called ``name``.

    The configured taxonomy wins; when a city replaced it with items of other names, the
    default taxonomy's code is used so that the demo still loads.
    """
    for items in (get_taxonomy().items.get(category_class, ()), DEFAULT_ITEMS[category_class]):
        for code, item_name in items:
            if item_name == name:
                return code
    raise KeyError(f"no classification item {name!r} in {category_class.value}")


def dataset_input(entry: EntrySpec, related_codes: list[str]) -> DatasetCreate:
    """The service input for one demo entry."""
    return DatasetCreate(
        title=entry.title,
        description=entry.description,
        category_class=entry.category_class,
        item_code=item_code(entry.category_class, entry.item),
        subitem_code=entry.subitem_code,
        domain=entry.domain,
        format=entry.format,
        share_type=entry.share,
        share_conditions=entry.share_conditions,
        share_method=entry.share_method,
        open_type=entry.open,
        open_conditions=entry.open_conditions,
        level=entry.level,
        update_cycle=entry.update_cycle,
        legal_basis=entry.legal_basis,
        source_system=entry.source_system,
        related_codes=related_codes,
        tags=list(entry.tags),
        fields=[
            FieldIn(
                name=f.name,
                label=f.label,
                data_type=f.data_type,
                length=f.length,
                is_key=f.is_key,
                required=f.required,
                filterable=f.filterable,
                sensitivity=f.sensitivity,
                description=f.description,
                **f.rules(),
            )
            for f in entry.fields
        ],
    )


def _count(session: Session, model: type[Region | Agency | User | Dataset]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def summary_of(session: Session, *, already_loaded: bool) -> DemoSummary:
    """Counts of what the database holds."""
    return DemoSummary(
        already_loaded=already_loaded,
        regions=_count(session, Region),
        agencies=_count(session, Agency),
        users=_count(session, User),
        datasets=_count(session, Dataset),
    )


def load_demo(session: Session, *, settings: Settings | None = None) -> DemoSummary:
    """Build the demo city on an empty database; on one that holds it, change nothing.

    ``settings`` name the storage the demo rows go to (default: the process's settings).
    """
    if is_loaded(session):
        return summary_of(session, already_loaded=True)
    system = Actor.system(ACTOR_NAME)

    city = orgs_service.create_region(
        session, system, RegionCreate(code=CITY.code, name=CITY.name, level=RegionLevel.CITY)
    )
    regions: dict[str, Region] = {city.code: city}
    for district in DISTRICTS:
        regions[district.code] = orgs_service.create_region(
            session,
            system,
            RegionCreate(
                code=district.code,
                name=district.name,
                level=RegionLevel.DISTRICT,
                parent_id=city.id,
            ),
        )

    agencies: dict[str, Agency] = {}
    for spec in AGENCIES:
        agencies[spec.key] = orgs_service.create_agency(
            session,
            system,
            AgencyCreate(
                name=spec.name,
                short_name=spec.short_name,
                credit_code=spec.credit_code,
                region_id=regions[spec.region_code].id,
                kind=spec.kind,
                domain=spec.domain,
                description=spec.description,
                address=spec.address,
                phone=spec.phone,
            ),
        )

    users: dict[str, User] = {}
    for user in USERS:
        agency = agencies[user.agency] if user.agency else None
        users[user.username] = auth_service.create_user(
            session,
            system,
            UserCreate(
                username=user.username,
                display_name=user.display_name,
                password=DEMO_PASSWORD,
                email=f"{user.username}@{EMAIL_DOMAIN}",
                agency_id=agency.id if agency else None,
                region_id=regions[user.region_code].id,
                roles=[user.role],
            ),
        )

    for spec in AGENCIES:
        orgs_service.update_agency(
            session,
            system,
            agencies[spec.key].id,
            AgencyUpdate(chief_data_officer_id=users[spec.officer_username].id),
        )

    officers: dict[str, Actor] = {
        spec.key: auth_service.actor_for_user(users[spec.officer_username]) for spec in AGENCIES
    }
    codes: dict[str, str] = {}
    created: list[tuple[EntrySpec, Dataset]] = []
    for entry in ENTRIES:
        dataset = catalog_service.create_dataset(
            session,
            officers[entry.agency],
            dataset_input(entry, [codes[title] for title in entry.related]),
        )
        codes[entry.title] = dataset.code
        created.append((entry, dataset))

    region_of = {spec.key: spec.region_code for spec in AGENCIES}
    for index, (entry, dataset) in enumerate(created):
        _review(
            session,
            officers[entry.agency],
            auth_service.actor_for_user(
                users[DISTRICT_REVIEWERS.get(region_of[entry.agency], CITY_REVIEWER)]
            ),
            dataset.id,
            demo_state(index),
        )

    _register_systems(session, officers, agencies, created)
    load_rows(
        session,
        {
            dataset.title: (dataset, officers[entry.agency])
            for entry, dataset in created
            if dataset.state is DatasetState.PUBLISHED
        },
        settings=settings,
    )
    load_sharing(session)
    return summary_of(session, already_loaded=False)


def _register_systems(
    session: Session,
    officers: dict[str, Actor],
    agencies: dict[str, Agency],
    created: list[tuple[EntrySpec, Dataset]],
) -> None:
    """Register each agency's source systems as information systems and link the entries
    they produce, in catalog order, through the registry's services."""
    systems: dict[tuple[str, str], int] = {}
    for entry, dataset in created:
        name = dataset.source_system
        if not name:
            continue
        key = (entry.agency, name)
        if key not in systems:
            systems[key] = systems_service.create_system(
                session,
                officers[entry.agency],
                SystemCreate(name=name, project_name=name + PROJECT_SUFFIX),
            ).id
        systems_service.link_dataset(
            session, officers[entry.agency], systems[key], SystemLink(dataset_id=dataset.id)
        )
    for agency_key, name, status, project in UNCATALOGED_SYSTEMS:
        if agency_key in agencies:
            systems_service.create_system(
                session,
                officers[agency_key],
                SystemCreate(name=name, status=SystemStatus(status), project_name=project),
            )


def _review(session: Session, officer: Actor, reviewer: Actor, dataset_id: int, state: str) -> None:
    """Take one demo entry through the review workflow to ``state``."""
    if state == "draft":
        return
    if state == "submitted":
        workflow.submit(session, officer, dataset_id)  # a live deadline from today
        return
    workflow.submit(session, officer, dataset_id, today=PUBLISHED_ON)
    if state == "returned":
        workflow.return_(session, reviewer, dataset_id, RETURN_REASON)
        return
    workflow.approve(session, reviewer, dataset_id)
    workflow.publish(session, reviewer, dataset_id, today=PUBLISHED_ON)
