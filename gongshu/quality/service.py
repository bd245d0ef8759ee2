"""Quality scores and timeliness: scoring versions, the bureau's ranking, overdue entries.

Who sees what (one rule for pages, API and CLI):

* a dataset's scores: whoever may see the catalog entry (``catalog.service.get_dataset``);
  scores are counts about the rows, never rows, so they do not pass the gate;
* the ranking of agencies and the overdue list: bureau admins (a city-level one sees the
  whole city and may narrow it to a district, a district one sees its district) and
  auditors (read-only, within their region's scope);
* an agency's quality page: those, and the agency's own data officers.

Writes (scoring a version, sending the overdue notices) commit once and audit once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from gongshu.audit.service import record
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.auth.permissions import require_login
from gongshu.catalog import service as catalog
from gongshu.catalog.models import Dataset, DatasetState
from gongshu.catalog.queries import is_platform
from gongshu.db import unit_of_work, utcnow
from gongshu.errors import NotFound, PermissionDenied
from gongshu.i18n import N_
from gongshu.ingest.models import Ingestion
from gongshu.jobs.service import enqueue
from gongshu.notices.service import notify, users_with_role
from gongshu.orgs.models import Agency, Region
from gongshu.quality import scores
from gongshu.quality.models import OverdueNotice, QualityScore
from gongshu.quality.scores import Dimensions
from gongshu.quality.timeliness import DueStatus, due_statuses, local_date, version_timeliness
from gongshu.store.models import DatasetHead, DatasetVersion
from gongshu.store.versions import on_publish
from gongshu.workdays.calendar import local_today

log = logging.getLogger(__name__)

RESCORE_JOB = "quality.rescore"
OVERDUE_JOB = "quality.overdue_notices"
HISTORY_MONTHS = 24
# Entries listed by name in one overdue notice; the rest are counted.
NOTICE_LISTED = 20

MSG_BUREAU_ONLY = N_("只有大数据主管部门和安全监管员可以查看质量排名和逾期清单")
MSG_AGENCY_DENIED = N_("只能查看本部门的数据质量")
MSG_NO_AGENCY = N_("机构不存在")
MSG_NO_REGION = N_("区域不存在")
NOTICE_OVERDUE_TITLE = N_("{count} 个目录条目逾期未更新数据")
NOTICE_OVERDUE_BODY = N_("以下目录条目已过按更新周期应更新数据的日期，请尽快汇聚新数据：{entries}")

ENTRY_STATES = (DatasetState.PUBLISHED,)


# ---------------------------------------------------------------------------------------
# Who may see what


def _is_bureau_viewer(actor: Actor) -> bool:
    return is_platform(actor) or actor.has(Role.BUREAU_ADMIN, Role.AUDITOR)


def require_bureau_view(actor: Actor | None) -> Actor:
    """Bureau admins, auditors and the platform itself; others 403."""
    actor = require_login(actor)
    if not _is_bureau_viewer(actor):
        raise PermissionDenied(MSG_BUREAU_ONLY)
    return actor


def scope_region(session: Session, actor: Actor, region_id: int | None) -> int | None:
    """The region a list is narrowed to: any (or none = the city) for a city-scoped viewer,
    always the viewer's own region for a district one."""
    if actor.city_scope or is_platform(actor):
        if region_id is not None and session.get(Region, region_id) is None:
            raise NotFound(MSG_NO_REGION)
        return region_id
    return actor.region_id if actor.region_id is not None else -1


def may_view_agency(actor: Actor | None, agency: Agency) -> bool:
    if actor is None:
        return False
    if _is_bureau_viewer(actor):
        return actor.city_scope or is_platform(actor) or actor.region_id == agency.region_id
    return actor.has(Role.AGENCY_OFFICER) and actor.agency_id == agency.id


# ---------------------------------------------------------------------------------------
# Scoring a version


def duplicates_of(session: Session, version: DatasetVersion) -> int:
    """Rows of the version's upload refused for a duplicated (or, appending, existing) key.

    Taken from the quality report when ingestion records it there (``duplicates``), else
    counted in the ingestion's kept issues (exact unless it kept fewer than it found).
    """
    if "duplicates" in version.quality:
        return int(version.quality["duplicates"] or 0)
    ingestion_id = version.source.get("ingestion")
    if not isinstance(ingestion_id, int):
        return 0
    ingestion = session.get(Ingestion, ingestion_id)
    if ingestion is None:
        return 0
    # Imported here: ingestion calls into this module after publishing.
    from gongshu.ingest.service import MSG_DUPLICATE_KEY, MSG_KEY_EXISTS

    messages = {MSG_DUPLICATE_KEY, MSG_KEY_EXISTS}
    rows = {
        issue.get("row")
        for issue in ingestion.issues
        if isinstance(issue, dict) and issue.get("message") in messages
    }
    return len(rows)


def _has_key(version: DatasetVersion, dataset: Dataset) -> bool:
    if version.schema:
        return any(bool(f.get("key")) for f in version.schema if isinstance(f, dict))
    return any(f.is_key for f in dataset.fields)


def compute(session: Session, dataset: Dataset, version: DatasetVersion) -> Dimensions:
    """The version's five dimensions, computed now (nothing is stored)."""
    return scores.dimensions(
        version.quality,
        duplicates=duplicates_of(session, version),
        has_key=_has_key(version, dataset),
        timeliness=version_timeliness(session, dataset, version),
        consistency_score=scores.consistency(session, dataset.id),
    )


def score_version(
    session: Session, dataset: Dataset, version: DatasetVersion, *, actor: Actor | None = None
) -> QualityScore:
    """Compute and store the version's score (replacing an earlier one), audited as
    ``quality.score``. Called by ingestion right after a version is published, and by the
    ``quality.rescore`` job; the platform acts unless an ``actor`` is named."""
    actor = actor or Actor.system("quality")
    dims = compute(session, dataset, version)
    with unit_of_work(session):
        row = session.scalars(
            select(QualityScore).where(QualityScore.version_id == version.id)
        ).one_or_none()
        before = _values(row) if row is not None else None
        if row is None:
            row = QualityScore(dataset_id=dataset.id, version_id=version.id)
            session.add(row)
        for name, value in dims.as_dict().items():
            setattr(row, name, value)
        row.total = dims.total
        row.computed_at = utcnow()
        session.flush()
        after = _values(row)
        record(
            session,
            actor,
            "quality.score",
            "dataset_version",
            version.id,
            label=f"{dataset.code} v{version.number}",
            changes={
                "dataset_id": dataset.id,
                **{k: [before[k] if before else None, v] for k, v in after.items()},
            },
        )
        ensure_overdue_job(session)
    return row


def _values(row: QualityScore) -> dict[str, float]:
    return {d: float(getattr(row, d)) for d in (*scores.DIMENSIONS, "total")}


def score_after_publish(
    session: Session, dataset: Dataset, version: DatasetVersion
) -> QualityScore | None:
    """Score a freshly published version; a failure never undoes the publication: it is
    logged and a ``quality.rescore`` job tries again later."""
    try:
        return score_version(session, dataset, version)
    except Exception:
        session.rollback()
        log.exception("scoring version %s of dataset %s failed", version.id, dataset.id)
        with unit_of_work(session):
            enqueue(session, RESCORE_JOB, {"version_id": version.id})
        return None


@on_publish
def queue_scoring(session: Session, dataset: Dataset, version: DatasetVersion) -> None:
    """Every publish (upload, pull, push, rollback) queues its version's scoring, in the
    publish transaction: the worker scores it once the version is committed."""
    enqueue(session, RESCORE_JOB, {"version_id": version.id})


def rescore(
    session: Session,
    *,
    dataset_id: int | None = None,
    version_id: int | None = None,
    only_missing: bool = False,
) -> int:
    """Score versions again: one, all of one entry, or (neither given) every live version;
    ``only_missing`` leaves versions that have a score. Returns how many were scored."""
    stmt = select(DatasetVersion).order_by(DatasetVersion.dataset_id, DatasetVersion.number)
    if version_id is not None:
        stmt = stmt.where(DatasetVersion.id == version_id)
    elif dataset_id is not None:
        stmt = stmt.where(DatasetVersion.dataset_id == dataset_id)
    else:
        stmt = stmt.join(DatasetHead, DatasetHead.version_id == DatasetVersion.id)
    if only_missing:
        scored = select(QualityScore.version_id)
        stmt = stmt.where(DatasetVersion.id.not_in(scored))
    versions = list(session.scalars(stmt))
    count = 0
    for version in versions:
        dataset = session.get(Dataset, version.dataset_id)
        if dataset is None:
            continue
        score_version(session, dataset, version)
        count += 1
    return count


# ---------------------------------------------------------------------------------------
# Reading scores


@dataclass(frozen=True)
class ScoreView:
    """One version's score as pages, API and CLI show it."""

    version_id: int
    number: int
    published_at: dt.datetime
    dims: Dimensions
    computed_at: dt.datetime | None  # None: computed for this view, not stored yet

    @property
    def total(self) -> float:
        return self.dims.total

    @property
    def stored(self) -> bool:
        return self.computed_at is not None


def _dims_of(row: QualityScore) -> Dimensions:
    return Dimensions(
        completeness=row.completeness,
        validity=row.validity,
        uniqueness=row.uniqueness,
        timeliness=row.timeliness,
        consistency=row.consistency,
    )


@dataclass(frozen=True)
class DatasetQuality:
    """A dataset's scores over its versions (oldest first), its current standing and its
    next due date."""

    dataset: Dataset
    history: list[ScoreView]
    due: DueStatus
    live: Dimensions | None  # the current version's score, its timeliness lowered if overdue

    @property
    def latest(self) -> ScoreView | None:
        return self.history[-1] if self.history else None


def live_dimensions(stored: Dimensions, due: DueStatus, today: dt.date) -> Dimensions:
    """An entry's standing today: its current version's score, with timeliness lowered to
    what a new version would get today when the entry is overdue."""
    if not due.overdue:
        return stored
    return stored.replace(timeliness=min(stored.timeliness, due.score(today)))


def dataset_quality(
    session: Session, actor: Actor | None, dataset_id: int, *, today: dt.date | None = None
) -> DatasetQuality:
    """The entry's scores, for whoever may see the entry; versions published before scoring
    was wired (or whose scoring failed) are computed for the view."""
    dataset = catalog.get_dataset(session, actor, dataset_id)
    today = today or local_today()
    versions = list(
        session.scalars(
            select(DatasetVersion)
            .where(DatasetVersion.dataset_id == dataset.id)
            .order_by(DatasetVersion.number)
        )
    )
    stored = {
        s.version_id: s
        for s in session.scalars(select(QualityScore).where(QualityScore.dataset_id == dataset.id))
    }
    history = []
    for version in versions:
        row = stored.get(version.id)
        dims = _dims_of(row) if row is not None else compute(session, dataset, version)
        history.append(
            ScoreView(
                version.id,
                version.number,
                version.published_at,
                dims,
                row.computed_at if row is not None else None,
            )
        )
    due = due_statuses(session, [dataset], today)[dataset.id]
    head = session.get(DatasetHead, dataset.id)
    current = next(
        (h for h in history if head is not None and h.version_id == head.version_id), None
    )
    live = live_dimensions(current.dims, due, today) if current is not None else None
    return DatasetQuality(dataset, history, due, live)


# ---------------------------------------------------------------------------------------
# Agencies: the ranking and one agency's page


@dataclass(frozen=True)
class EntryStanding:
    """One entry of an agency: its current score (if it has data) and its due status."""

    dataset: Dataset
    version_number: int | None
    dims: Dimensions | None
    due: DueStatus


@dataclass(frozen=True)
class AgencyScore:
    """An agency's line in the ranking: the mean of its entries' current scores."""

    agency: Agency
    dims: Dimensions | None
    datasets: int
    scored: int
    overdue: int
    rank: int | None = None

    @property
    def total(self) -> float | None:
        return self.dims.total if self.dims is not None else None


def _entries(
    session: Session, *, region_id: int | None = None, agency_id: int | None = None
) -> list[Dataset]:
    stmt = (
        select(Dataset)
        .where(Dataset.state.in_(ENTRY_STATES))
        .options(selectinload(Dataset.agency))
        .order_by(Dataset.code)
    )
    if region_id is not None:
        stmt = stmt.where(Dataset.region_id == region_id)
    if agency_id is not None:
        stmt = stmt.where(Dataset.agency_id == agency_id)
    return list(session.scalars(stmt))


def standings(session: Session, datasets: Sequence[Dataset], today: dt.date) -> list[EntryStanding]:
    """Each entry's current score and due status (three queries for any number)."""
    ids = [d.id for d in datasets]
    current: dict[int, tuple[int, QualityScore | None]] = {}
    if ids:
        rows = session.execute(
            select(DatasetHead.dataset_id, DatasetVersion.number, QualityScore)
            .join(DatasetVersion, DatasetVersion.id == DatasetHead.version_id)
            .outerjoin(QualityScore, QualityScore.version_id == DatasetVersion.id)
            .where(DatasetHead.dataset_id.in_(ids))
        ).all()
        current = {int(d): (int(n), s) for d, n, s in rows}
    dues = due_statuses(session, datasets, today)
    out = []
    for dataset in datasets:
        number, row = current.get(dataset.id, (None, None))
        due = dues[dataset.id]
        dims = live_dimensions(_dims_of(row), due, today) if row is not None else None
        out.append(EntryStanding(dataset, number, dims, due))
    return out


def _agency_score(agency: Agency, items: Sequence[EntryStanding]) -> AgencyScore:
    scored = [i.dims for i in items if i.dims is not None]
    return AgencyScore(
        agency=agency,
        dims=scores.mean_dimensions(scored),
        datasets=len(items),
        scored=len(scored),
        overdue=sum(1 for i in items if i.due.overdue),
    )


def agency_ranking(
    session: Session,
    actor: Actor | None,
    *,
    region_id: int | None = None,
    today: dt.date | None = None,
) -> list[AgencyScore]:
    """Agencies with published entries in the viewer's scope, best score first (agencies
    without any scored entry last), each with its entry, scored and overdue counts."""
    actor = require_bureau_view(actor)
    region = scope_region(session, actor, region_id)
    today = today or local_today()
    by_agency: dict[int, list[EntryStanding]] = defaultdict(list)
    for item in standings(session, _entries(session, region_id=region), today):
        by_agency[item.dataset.agency_id].append(item)
    agencies = {
        a.id: a for a in session.scalars(select(Agency).where(Agency.id.in_(list(by_agency))))
    }
    lines = [_agency_score(agencies[aid], items) for aid, items in by_agency.items()]
    lines.sort(key=lambda s: (s.total is None, -(s.total or 0.0), s.agency.name))
    ranked = []
    for i, line in enumerate(lines, start=1):
        ranked.append(
            AgencyScore(
                line.agency,
                line.dims,
                line.datasets,
                line.scored,
                line.overdue,
                i if line.dims is not None else None,
            )
        )
    return ranked


@dataclass(frozen=True)
class MonthPoint:
    """An agency's mean score at the end of one month (entries scored by then)."""

    month: str  # "2026-03"
    dims: Dimensions
    entries: int


@dataclass(frozen=True)
class AgencyQuality:
    agency: Agency
    score: AgencyScore
    entries: list[EntryStanding]
    history: list[MonthPoint]


def _month_ends(first: dt.date, last: dt.date) -> list[tuple[str, dt.date]]:
    out = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        nxt = dt.date(year + month // 12, month % 12 + 1, 1)
        out.append((f"{year:04d}-{month:02d}", nxt - dt.timedelta(days=1)))
        year, month = nxt.year, nxt.month
    return out[-HISTORY_MONTHS:]


def agency_history(session: Session, datasets: Sequence[Dataset]) -> list[MonthPoint]:
    """Month by month, the mean of each entry's latest stored score published by the end of
    that month (the last 24 months with any score)."""
    ids = [d.id for d in datasets]
    if not ids:
        return []
    rows = session.execute(
        select(QualityScore, DatasetVersion.published_at)
        .join(DatasetVersion, DatasetVersion.id == QualityScore.version_id)
        .where(QualityScore.dataset_id.in_(ids))
        .order_by(DatasetVersion.published_at)
    ).all()
    if not rows:
        return []
    points = [(local_date(at), row) for row, at in rows]
    months = _month_ends(points[0][0], max(local_today(), points[-1][0]))
    out = []
    for month, end in months:
        latest: dict[int, QualityScore] = {}
        for day, row in points:
            if day <= end:
                latest[row.dataset_id] = row
        mean = scores.mean_dimensions([_dims_of(r) for r in latest.values()])
        if mean is not None:
            out.append(MonthPoint(month, mean, len(latest)))
    return out


def agency_quality(
    session: Session, actor: Actor | None, agency_id: int, *, today: dt.date | None = None
) -> AgencyQuality:
    """One agency's score, its entries and its monthly history: for bureau viewers in scope
    and the agency's own officers."""
    actor = require_login(actor)
    agency = session.get(Agency, agency_id) if 0 < agency_id < 2**63 else None
    if agency is None:
        raise NotFound(MSG_NO_AGENCY)
    if not may_view_agency(actor, agency):
        raise PermissionDenied(MSG_AGENCY_DENIED)
    today = today or local_today()
    datasets = _entries(session, agency_id=agency.id)
    items = standings(session, datasets, today)
    return AgencyQuality(
        agency, _agency_score(agency, items), items, agency_history(session, datasets)
    )


# ---------------------------------------------------------------------------------------
# Overdue entries and the daily notice


def overdue_entries(
    session: Session,
    actor: Actor | None,
    *,
    region_id: int | None = None,
    today: dt.date | None = None,
) -> list[DueStatus]:
    """Published entries past their due date in the viewer's scope, most overdue first."""
    actor = require_bureau_view(actor)
    region = scope_region(session, actor, region_id)
    return _overdue(session, region, today or local_today())


def _overdue(session: Session, region_id: int | None, today: dt.date) -> list[DueStatus]:
    found = [
        s
        for s in due_statuses(session, _entries(session, region_id=region_id), today).values()
        if s.overdue
    ]
    found.sort(key=lambda s: (s.remaining or 0, s.dataset.code))
    return found


def notify_overdue(session: Session, *, today: dt.date | None = None) -> dict[str, int]:
    """Send each agency's officers one notice listing its entries that became overdue and
    were not notified for that due date yet; remembers what was sent. Commits."""
    today = today or local_today()
    counts = {"agencies": 0, "entries": 0, "users": 0}
    with unit_of_work(session):
        overdue = _overdue(session, None, today)
        if not overdue:
            return counts
        sent = {
            (int(dataset_id), due_on)
            for dataset_id, due_on in session.execute(
                select(OverdueNotice.dataset_id, OverdueNotice.due_on).where(
                    OverdueNotice.dataset_id.in_([s.dataset.id for s in overdue])
                )
            )
        }
        by_agency: dict[int, list[DueStatus]] = defaultdict(list)
        for status in overdue:
            if (status.dataset.id, status.due_on) not in sent:
                by_agency[status.dataset.agency_id].append(status)
        system = Actor.system("quality")
        for agency_id, items in sorted(by_agency.items()):
            officers = users_with_role(session, Role.AGENCY_OFFICER, agency_id=agency_id)
            if not officers:
                continue  # told once the agency has an officer
            listed = [
                f"{s.dataset.code} {s.dataset.title} ({s.due_on.isoformat() if s.due_on else ''})"
                for s in items[:NOTICE_LISTED]
            ]
            notify(
                session,
                user_ids=officers,
                kind="quality.overdue",
                title=NOTICE_OVERDUE_TITLE,
                body=NOTICE_OVERDUE_BODY,
                link=f"/quality/agencies/{agency_id}",
                count=len(items),
                entries="; ".join(listed),
            )
            for status in items:
                assert status.due_on is not None
                session.add(
                    OverdueNotice(
                        dataset_id=status.dataset.id, agency_id=agency_id, due_on=status.due_on
                    )
                )
            record(
                session,
                system,
                "quality.overdue_notice",
                "agency",
                agency_id,
                label=items[0].dataset.agency.name,
                changes={
                    "datasets": [s.dataset.id for s in items],
                    "due_on": [s.due_on.isoformat() if s.due_on else None for s in items],
                    "users": officers,
                },
            )
            counts["agencies"] += 1
            counts["entries"] += len(items)
            counts["users"] += len(officers)
    return counts


# The job chain (imported late: jobs builds on this module).
def ensure_overdue_job(session: Session) -> None:
    from gongshu.quality.jobs import ensure_overdue_job as ensure

    ensure(session)
