"""Subscriptions: follow an entry, agency or domain; a new live version of a public entry
tells each follower once, however often the scan runs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.auth.actor import Actor
from gongshu.errors import NotFound
from gongshu.jobs.models import Job, JobStatus
from gongshu.notices.models import Notice, OutboxMessage
from gongshu.orgs.models import Agency
from gongshu.portal.naming import agency_slug, dataset_slug
from gongshu.portalstats import jobs, subscriptions
from gongshu.portalstats.subscriptions import NOTICE_KIND, scan_updates
from gongshu.store.storage import get_storage
from tests.factories import Person, csrf_of, login
from tests.portal.city import OpenCity, write_rows

SYSTEM = Actor.system("pytest")


def _notices(db: Session, person: Person) -> int:
    return int(
        db.scalar(
            select(func.count(Notice.id)).where(
                Notice.user_id == person.user.id, Notice.kind == NOTICE_KIND
            )
        )
        or 0
    )


def test_a_new_version_notifies_each_subscriber_once(
    db: Session, open_city: OpenCity, make_public: Callable[[], Person]
) -> None:
    companies, air = open_city.companies, open_city.air
    assert companies is not None and air is not None
    market = db.get(Agency, open_city.market)
    assert market is not None
    by_entry, by_agency, by_theme, by_both, elsewhere = (make_public() for _ in range(5))
    subscriptions.subscribe(db, by_entry.actor, "dataset", dataset_slug(companies.code))
    subscriptions.subscribe(db, by_agency.actor, "agency", agency_slug(market))
    subscriptions.subscribe(db, by_theme.actor, "theme", "市场监管")
    subscriptions.subscribe(db, by_both.actor, "dataset", companies.code)
    subscriptions.subscribe(db, by_both.actor, "agency", str(market.id))
    subscriptions.subscribe(db, elsewhere.actor, "dataset", dataset_slug(air.code))
    # Subscribing twice keeps one subscription; subscribing queued the update scan.
    again = subscriptions.subscribe(db, by_entry.actor, "dataset", str(companies.id))
    assert again.target == str(companies.id)
    assert (
        db.scalar(
            select(func.count(Job.id)).where(
                Job.kind == jobs.TICK_JOB, Job.status == JobStatus.QUEUED
            )
        )
        == 1
    )
    # Versions published before anyone subscribed are not news.
    assert scan_updates(db)["notices"] == 0

    write_rows(db, SYSTEM, get_storage(), companies, open_city.company_rows[:5])
    first = scan_updates(db)
    assert first["notices"] == 4
    for person in (by_entry, by_agency, by_theme, by_both):
        assert _notices(db, person) == 1
    assert _notices(db, elsewhere) == 0
    mail = db.scalars(select(OutboxMessage).where(OutboxMessage.user_id == by_entry.user.id)).one()
    assert "企业登记基本信息" in mail.subject

    # Scanning again (another worker, the next tick) tells nobody twice.
    assert scan_updates(db)["notices"] == 0
    assert jobs.tick(db)["notices"] == 0
    assert _notices(db, by_both) == 1

    write_rows(db, SYSTEM, get_storage(), companies, open_city.company_rows[:6])
    assert scan_updates(db)["notices"] == 4
    assert _notices(db, by_agency) == 2

    subscriptions.unsubscribe(db, by_entry.actor, "dataset", str(companies.id))
    write_rows(db, SYSTEM, get_storage(), companies, open_city.company_rows[:7])
    scan_updates(db)
    assert _notices(db, by_entry) == 2 and _notices(db, by_theme) == 3
    actions = set(
        db.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "subscription"))
    )
    assert actions == {"subscription.create", "subscription.delete"}


def test_hidden_entries_cannot_be_followed(
    db: Session, open_city: OpenCity, make_public: Callable[[], Person]
) -> None:
    reader = make_public()
    assert open_city.people is not None and open_city.draft is not None
    for hidden in (open_city.people, open_city.draft):
        with pytest.raises(NotFound):
            subscriptions.subscribe(db, reader.actor, "dataset", str(hidden.id))
    with pytest.raises(NotFound):
        subscriptions.subscribe(db, reader.actor, "theme", "人口")


def test_pages_subscribe_and_unsubscribe(
    client: TestClient, db: Session, open_city: OpenCity, make_public: Callable[[], Person]
) -> None:
    assert open_city.air is not None
    slug = dataset_slug(open_city.air.code)
    assert client.get("/subscriptions", follow_redirects=False).status_code == 303
    reader = make_public()
    login(client, reader)
    token = csrf_of(client, "/subscriptions")
    form = {"kind": "dataset", "target": slug, "back": "/subscriptions", "csrf_token": token}
    refused = client.post("/subscriptions", data={**form, "csrf_token": "x"})
    assert refused.status_code == 403
    done = client.post("/subscriptions", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/subscriptions?done=subscribe"
    page = client.get("/subscriptions")
    assert "空气质量监测数据" in page.text and f"/feeds/dataset/{slug}.atom" in page.text
    # Never sent back to another site.
    off = client.post(
        "/subscriptions/delete", data={**form, "back": "//evil.example/"}, follow_redirects=False
    )
    assert off.headers["location"] == "/subscriptions?done=unsubscribe"
    assert "空气质量监测数据" not in client.get("/subscriptions").text

    # The agency's statistics page carries the partial's button.
    agency = db.get(Agency, open_city.ecology)
    assert agency is not None
    here = f"/stats/agency/{agency_slug(agency)}"
    assert "订阅更新" in client.get(here).text
    form = {"kind": "agency", "target": agency_slug(agency), "back": here, "csrf_token": token}
    done = client.post("/subscriptions", data=form, follow_redirects=False)
    assert done.headers["location"] == f"{here}?done=subscribe"
    assert 'aria-pressed="true"' in client.get(done.headers["location"]).text


def test_portal_pages_offer_to_follow(
    client: TestClient, db: Session, open_city: OpenCity, make_public: Callable[[], Person]
) -> None:
    """An entry's page and its agency's page carry the button and the Atom link; the button
    says so once the user follows."""
    assert open_city.air is not None
    slug = dataset_slug(open_city.air.code)
    entry_page = f"/dataset/{slug}"
    anonymous = client.get(entry_page).text
    assert "登录后订阅更新" in anonymous and f"/feeds/dataset/{slug}.atom" in anonymous
    reader = make_public()
    login(client, reader)
    token = csrf_of(client, entry_page)
    form = {"kind": "dataset", "target": slug, "back": entry_page, "csrf_token": token}
    assert client.post("/subscriptions", data=form, follow_redirects=False).status_code == 303
    assert 'aria-pressed="true"' in client.get(entry_page).text
    agency = db.get(Agency, open_city.ecology)
    assert agency is not None
    agency_page = client.get(f"/organization/{agency_slug(agency)}").text
    assert "订阅更新" in agency_page and 'aria-pressed="true"' not in agency_page
