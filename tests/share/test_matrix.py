"""Every request state × every action × every role: the one allowed role in the one allowed
state succeeds; everyone else is refused in the documented order — 404 for those who may
not see the request, 403 for the wrong role, 409 for the wrong state."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from gongshu.auth.models import Role
from gongshu.catalog.models import Dataset
from gongshu.errors import Conflict, GongshuError, NotFound, PermissionDenied
from gongshu.orgs.models import Agency
from gongshu.share import issuing, queries, requests
from gongshu.share.jobs import SWEEP_ACTOR
from gongshu.share.models import Grant, RequestStatus, ShareRequest
from gongshu.share.schemas import ArbitrationDecision, GrantDecision, ObjectionCreate, Refusal
from gongshu.workdays.calendar import local_today
from tests.factories import Person
from tests.share.conftest import ask, grant, object_to, refuse

STATES = ("requested", "denied", "objected", "upheld", "granted", "active", "expired", "revoked")
ROLES = (
    "provider_officer",
    "provider_consumer",
    "requester_officer",
    "requester_consumer",
    "bureau",
    "district_bureau",
    "stranger",
)
ALLOWED_ROLES = {
    queries.GRANT: {"provider_officer"},
    queries.DENY: {"provider_officer"},
    queries.OBJECT: {"requester_officer", "requester_consumer"},
    queries.ARBITRATE: {"bureau"},
    queries.REVOKE: {"provider_officer", "bureau"},
}
ALLOWED_STATES = {
    queries.GRANT: {"requested"},
    queries.DENY: {"requested"},
    queries.OBJECT: {"denied"},
    queries.ARBITRATE: {"objected"},
    queries.REVOKE: {"granted", "active"},
}
AFTER = {
    queries.GRANT: RequestStatus.ACTIVE,
    queries.DENY: RequestStatus.DENIED,
    queries.OBJECT: RequestStatus.OBJECTED,
    queries.ARBITRATE: RequestStatus.DENIED,
    queries.REVOKE: RequestStatus.REVOKED,
}
UNSEEN = {"district_bureau", "stranger"}


def expected(action: str, role: str, state: str) -> type[GongshuError] | None:
    if role in UNSEEN:
        return NotFound
    if role not in ALLOWED_ROLES[action]:
        return PermissionDenied
    if state not in ALLOWED_STATES[action]:
        return Conflict
    return None


@pytest.fixture
def people(
    make_person: Callable[..., Person],
    make_agency: Callable[..., Agency],
    officer: Person,
    other_officer: Person,
    consumer: Person,
    agency: Agency,
    bureau_admin: Person,
    district_admin: Person,
) -> dict[str, Person]:
    return {
        "provider_officer": officer,
        "provider_consumer": make_person(Role.AGENCY_CONSUMER, agency=agency),
        "requester_officer": other_officer,
        "requester_consumer": consumer,
        "bureau": bureau_admin,
        "district_bureau": district_admin,
        "stranger": make_person(Role.AGENCY_OFFICER, agency=make_agency("临沂市教育局")),
    }


def build(db: Session, state: str, conditional: Dataset, people: dict[str, Person]) -> ShareRequest:
    provider, requester = people["provider_officer"], people["requester_officer"]
    bureau = people["bureau"]
    if state == "granted":
        return grant(
            db,
            provider,
            ask(db, requester, conditional, starts_on=local_today() + dt.timedelta(days=5)),
        )
    request = ask(db, requester, conditional)
    if state in ("denied", "objected", "upheld"):
        refuse(db, provider, request)
    if state in ("objected", "upheld"):
        object_to(db, requester, request)
    if state == "upheld":
        requests.arbitrate_request(
            db, bureau.actor, request.id, ArbitrationDecision(grant=False, reason="维持")
        )
    if state in ("active", "expired", "revoked"):
        grant(db, provider, request)
    if state == "expired":
        row = db.get(Grant, request.grant_id)
        assert row is not None and row.expires_at is not None
        issuing.expire_due(db, SWEEP_ACTOR, row.expires_at)
    if state == "revoked":
        assert request.grant_id is not None
        issuing.revoke_grant(db, provider.actor, request.grant_id, "不再需要")
    db.refresh(request)
    return request


def attempt(db: Session, action: str, person: Person, request: ShareRequest) -> ShareRequest:
    actor = person.actor
    if action == queries.GRANT:
        return requests.grant_request(db, actor, request.id, GrantDecision())
    if action == queries.DENY:
        return requests.deny_request(db, actor, request.id, Refusal(reason="不符合条件"))
    if action == queries.OBJECT:
        return requests.object_request(db, actor, request.id, ObjectionCreate(reason="有依据"))
    if action == queries.ARBITRATE:
        decision = ArbitrationDecision(grant=False, reason="维持原答复")
        return requests.arbitrate_request(db, actor, request.id, decision)
    return requests.revoke_request(db, actor, request.id, "违规使用")


@pytest.mark.parametrize("state", STATES)
def test_state_action_role_matrix(
    db: Session, state: str, conditional: Dataset, people: dict[str, Person]
) -> None:
    request = build(db, state, conditional, people)
    assert request.status.value == {"upheld": "denied"}.get(state, state)
    for action in queries.ACTIONS:
        winners: list[str] = []
        for role in ROLES:
            error = expected(action, role, state)
            if error is None:
                winners.append(role)  # tried in test_allowed_transitions
                continue
            with pytest.raises(error):
                attempt(db, action, people[role], request)
            db.refresh(request)
            assert request.status.value == {"upheld": "denied"}.get(state, state), (action, role)
        # The buttons offered agree with what the services allow.
        for role in ROLES:
            if role in UNSEEN:
                continue
            offered = action in queries.available_actions(db, people[role].actor, request)
            assert offered == (expected(action, role, state) is None), (action, role, state)
        assert len(winners) <= 2


SUCCESSES = [
    (state, action, role)
    for state in STATES
    for action in queries.ACTIONS
    for role in ROLES
    if expected(action, role, state) is None
]


@pytest.mark.parametrize(("state", "action", "role"), SUCCESSES)
def test_allowed_transitions(
    db: Session,
    state: str,
    action: str,
    role: str,
    conditional: Dataset,
    people: dict[str, Person],
) -> None:
    request = build(db, state, conditional, people)
    done = attempt(db, action, people[role], request)
    assert done.status is AFTER[action]


def test_every_action_has_a_success_case() -> None:
    assert {a for _s, a, _r in SUCCESSES} == set(queries.ACTIONS)
    assert len(SUCCESSES) == 9
