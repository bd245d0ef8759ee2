"""Subscriptions (订阅): a signed-in user follows an entry, an agency or a domain, and is told
when a followed public entry gets a new live version.

What a subscription names is stored as a stable key: an entry's id, an agency's id, or a
domain's theme slug (its pinyin, :func:`gongshu.portal.naming.theme_slug`), so that renaming
a domain's Chinese spelling to one that reads the same keeps its followers.

The update scan (:func:`scan_updates`, run by the periodic job ``portalstats.tick``) looks
at the versions published since it last ran — with an overlap, so that a publish whose
transaction committed late is not missed — and, for each version of a public entry, tells
every follower of the entry, its agency or its domain who subscribed before the version came
out. ``portal_subscription_delivery`` keeps (version, user) pairs, inserted with ON CONFLICT
DO NOTHING: a version notifies each subscriber once however often, and however many workers
at once, the scan runs. A notice is a ``Notice`` plus an outbox e-mail (gongshu.notices).

Subscribing and unsubscribing are the user's own choices, recorded in the audit chain as
``subscription.create`` and ``subscription.delete``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload

from gongshu.audit.service import record
from gongshu.auth.actor import Actor
from gongshu.auth.permissions import require_login
from gongshu.catalog.duty_lists import SEP
from gongshu.catalog.models import Dataset
from gongshu.db import unit_of_work, utcnow
from gongshu.errors import NotFound, ValidationFailed
from gongshu.i18n import N_, translate
from gongshu.notices.service import notify
from gongshu.portal.naming import agency_slug, dataset_slug, find_public, theme_slug
from gongshu.portal.openness import is_public, public_clause
from gongshu.portalstats.feeds import domains_of, find_agency
from gongshu.portalstats.models import (
    PortalScanMark,
    Subscription,
    SubscriptionDelivery,
    SubscriptionKind,
)
from gongshu.store.models import DatasetVersion

__all__ = [
    "NOTICE_KIND",
    "Target",
    "is_subscribed",
    "resolve",
    "scan_updates",
    "subscribe",
    "subscriptions_of",
    "unsubscribe",
]

NOTICE_KIND = "portal.subscription_update"
SCAN_NAME = "subscriptions"
#: How far back each scan looks again, for publishes that committed after a scan began.
OVERLAP = dt.timedelta(minutes=15)
#: The first scan ever looks back this far (subscriptions are older than the scan mark).
FIRST_LOOKBACK = dt.timedelta(days=1)

M_NOT_FOUND = N_("要订阅的对象不存在或未开放")
M_KIND = N_("订阅类型只能是数据目录、开放机构或所属领域")
M_NOT_SUBSCRIBED = N_("您没有订阅该对象")
M_TITLE = N_("您订阅的“{name}”已更新")
M_BODY = N_("{agency}发布了“{name}”的第 {version} 版数据，共 {rows} 条记录。")

KIND_LABELS: dict[SubscriptionKind, str] = {
    SubscriptionKind.DATASET: N_("数据目录"),
    SubscriptionKind.AGENCY: N_("开放机构"),
    SubscriptionKind.THEME: N_("所属领域"),
}


@dataclass(frozen=True)
class Target:
    """What a subscription follows: its kind, stored key, display name and portal link."""

    kind: SubscriptionKind
    key: str
    name: str
    link: str
    feed: str


def _kind(kind: str | SubscriptionKind) -> SubscriptionKind:
    try:
        return SubscriptionKind(kind)
    except ValueError:
        raise ValidationFailed.single("kind", M_KIND) from None


def resolve(session: Session, kind: str | SubscriptionKind, ref: str) -> Target:
    """The public thing ``ref`` names: an entry (slug, code or id), an agency (its slug —
    the credit code — or id) or a domain (its slug or its name). NotFound otherwise."""
    kind = _kind(kind)
    ref = ref.strip()[:200]
    if kind is SubscriptionKind.DATASET:
        dataset = find_public(session, ref)
        if dataset is not None:
            slug = dataset_slug(dataset.code)
            return Target(
                kind,
                str(dataset.id),
                dataset.title,
                f"/dataset/{slug}",
                f"/feeds/dataset/{slug}.atom",
            )
    elif kind is SubscriptionKind.AGENCY:
        agency = find_agency(session, ref)
        if agency is not None and _opens_anything(session, agency.id):
            slug = agency_slug(agency)
            return Target(
                kind,
                str(agency.id),
                agency.name,
                f"/organization/{slug}",
                f"/feeds/organization/{slug}.atom",
            )
    else:
        slug = ref if ref.isascii() else theme_slug(ref)
        domains = domains_of(session, slug)
        if domains:
            return Target(
                kind,
                slug,
                translate(SEP).join(domains),
                f"/theme/{slug}",
                f"/feeds/theme/{slug}.atom",
            )
    raise NotFound(M_NOT_FOUND)


def _opens_anything(session: Session, agency_id: int) -> bool:
    found = session.scalar(
        select(Dataset.id).where(public_clause(), Dataset.agency_id == agency_id).limit(1)
    )
    return found is not None


def _existing(session: Session, user_id: int, target: Target) -> Subscription | None:
    return session.scalars(
        select(Subscription).where(
            Subscription.user_id == user_id,
            Subscription.kind == target.kind,
            Subscription.target == target.key,
        )
    ).one_or_none()


def is_subscribed(session: Session, actor: Actor | None, kind: str, key: str) -> bool:
    """Whether the signed-in user follows ``kind``/``key`` (the stored key, not a slug)."""
    if actor is None or not actor.user_id:
        return False
    found = session.scalar(
        select(Subscription.id).where(
            Subscription.user_id == actor.user_id,
            Subscription.kind == _kind(kind),
            Subscription.target == key,
        )
    )
    return found is not None


def subscribe(session: Session, actor: Actor | None, kind: str, ref: str) -> Subscription:
    """Follow a public entry, agency or domain (any signed-in user; idempotent)."""
    actor = require_login(actor)
    assert actor.user_id is not None
    target = resolve(session, kind, ref)
    found = _existing(session, actor.user_id, target)
    if found is not None:
        return found
    with unit_of_work(session):
        sub = Subscription(user_id=actor.user_id, kind=target.kind, target=target.key)
        session.add(sub)
        session.flush()
        record(
            session,
            actor,
            "subscription.create",
            "subscription",
            sub.id,
            label=target.name,
            changes={"kind": target.kind.value, "target": target.key},
        )
        # The update scan runs only when someone follows something.
        from gongshu.portalstats.jobs import ensure_tick_job

        ensure_tick_job(session)
    return sub


def unsubscribe(session: Session, actor: Actor | None, kind: str, key: str) -> None:
    """Stop following (``key``: the stored key, as the subscription list shows it)."""
    actor = require_login(actor)
    sub = session.scalars(
        select(Subscription).where(
            Subscription.user_id == actor.user_id,
            Subscription.kind == _kind(kind),
            Subscription.target == key.strip()[:100],
        )
    ).one_or_none()
    if sub is None:
        raise NotFound(M_NOT_SUBSCRIBED)
    with unit_of_work(session):
        record(
            session,
            actor,
            "subscription.delete",
            "subscription",
            sub.id,
            changes={"kind": sub.kind.value, "target": sub.target},
        )
        session.delete(sub)


@dataclass(frozen=True)
class SubscriptionView:
    """A subscription as the user's list shows it (``target`` None: no longer public)."""

    subscription: Subscription
    target: Target | None
    kind_label: str


def subscriptions_of(session: Session, actor: Actor | None) -> list[SubscriptionView]:
    """The signed-in user's subscriptions, newest first, with what they follow."""
    actor = require_login(actor)
    subs = session.scalars(
        select(Subscription)
        .where(Subscription.user_id == actor.user_id)
        .order_by(Subscription.created_at.desc(), Subscription.id.desc())
    ).all()
    out = []
    for sub in subs:
        try:
            target: Target | None = resolve(session, sub.kind, sub.target)
        except NotFound:
            target = None
        out.append(SubscriptionView(sub, target, KIND_LABELS[sub.kind]))
    return out


# --- the update scan ----------------------------------------------------------------------


def _followers(
    session: Session, datasets: list[Dataset]
) -> dict[tuple[SubscriptionKind, str], list[tuple[int, dt.datetime]]]:
    keys = {(SubscriptionKind.DATASET, str(d.id)) for d in datasets}
    keys |= {(SubscriptionKind.AGENCY, str(d.agency_id)) for d in datasets}
    keys |= {(SubscriptionKind.THEME, theme_slug(d.domain)) for d in datasets if d.domain}
    conditions = [(Subscription.kind == k) & (Subscription.target == t) for k, t in keys]
    out: dict[tuple[SubscriptionKind, str], list[tuple[int, dt.datetime]]] = defaultdict(list)
    if not conditions:
        return out
    rows = session.execute(
        select(
            Subscription.kind, Subscription.target, Subscription.user_id, Subscription.created_at
        ).where(or_(*conditions))
    ).all()
    for kind, target, user_id, created_at in rows:
        out[(SubscriptionKind(kind), target)].append((user_id, created_at))
    return out


def scan_updates(session: Session, now: dt.datetime | None = None) -> dict[str, int]:
    """Tell subscribers about versions published since the last scan (see the module
    docstring); returns how many versions were looked at and notices sent."""
    now = now or utcnow()
    mark = session.get(PortalScanMark, SCAN_NAME)
    since = (mark.until - OVERLAP) if mark is not None else now - FIRST_LOOKBACK
    found = session.execute(
        select(DatasetVersion, Dataset)
        .join(Dataset, Dataset.id == DatasetVersion.dataset_id)
        .where(DatasetVersion.published_at > since, DatasetVersion.published_at <= now)
        .options(selectinload(Dataset.agency))
        .order_by(DatasetVersion.published_at, DatasetVersion.id)
    ).all()
    updates = [(v, d) for v, d in found if is_public(d)]
    followers = _followers(session, [d for _v, d in updates])
    sent = 0
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    with unit_of_work(session):
        for version, dataset in updates:
            keys = [
                (SubscriptionKind.DATASET, str(dataset.id)),
                (SubscriptionKind.AGENCY, str(dataset.agency_id)),
            ]
            if dataset.domain:
                keys.append((SubscriptionKind.THEME, theme_slug(dataset.domain)))
            users = sorted(
                {
                    user_id
                    for key in keys
                    for user_id, since_at in followers.get(key, [])
                    if since_at <= version.published_at
                }
            )
            if not users:
                continue
            rows = [{"version_id": version.id, "user_id": u, "created_at": now} for u in users]
            stmt = (
                insert(SubscriptionDelivery)
                .values(rows)
                .on_conflict_do_nothing(index_elements=["version_id", "user_id"])
                .returning(SubscriptionDelivery.user_id)
            )
            fresh = list(session.scalars(stmt))
            if not fresh:
                continue
            sent += len(
                notify(
                    session,
                    user_ids=fresh,
                    kind=NOTICE_KIND,
                    title=M_TITLE,
                    body=M_BODY,
                    link=f"/dataset/{dataset_slug(dataset.code)}",
                    name=dataset.title,
                    agency=dataset.agency.name,
                    version=version.number,
                    rows=version.row_count,
                )
            )
        stmt_mark = (
            insert(PortalScanMark)
            .values(name=SCAN_NAME, until=now)
            .on_conflict_do_update(index_elements=["name"], set_={"until": now})
        )
        session.execute(stmt_mark)
    return {"versions": len(updates), "notices": sent}
