"""The authorization matrix: every route of the app × every role, on one seeded world.

The routes come from ``create_app().routes`` (every JSON and page route; the static mount
is skipped), so a new endpoint without an entry in ``cases.CASES`` fails
``test_every_route_has_a_rule``. Each (case, role) call runs in a rolled-back SAVEPOINT and
its status class must be the one the case's rule names for that role (see ``cases``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Mount

from gongshu.app import create_app
from gongshu.settings import Settings
from tests.security.cases import AUTH, CASES, DENY, HIDE, OK, Case, ids_of
from tests.security.conftest import call
from tests.security.world import ROLES, World

DUMP = os.environ.get("GONGSHU_AUTHZ_DUMP", "")

pytestmark = pytest.mark.role_matrix


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path template) of every route of the app, HEAD and static files left out."""
    found: set[tuple[str, str]] = set()

    def walk(routes: list[object]) -> Iterator[object]:
        for route in routes:
            contexts = getattr(route, "effective_route_contexts", None)
            if contexts is not None:
                yield from contexts()
            else:
                yield route

    for route in walk(list(app.routes)):
        if isinstance(route, Mount):
            continue
        path = getattr(route, "path", None)
        methods = getattr(route, "methods", None) or set()
        assert path, f"a route without a path: {route!r}"
        for method in methods:
            if method != "HEAD":
                found.add((method, path))
    return found


def test_every_route_has_a_rule(settings: Settings) -> None:
    app = create_app(settings)
    try:
        routes = app_routes(app)
    finally:
        app.state.engine.dispose()
    assert len(routes) > 300, "the route walk found too few routes: has FastAPI changed?"
    covered = {case.key for case in CASES}
    missing = sorted(routes - covered)
    assert not missing, "routes without a rule in tests/security/cases.py:\n" + "\n".join(
        f"  {m} {p}" for m, p in missing
    )
    stale = sorted(covered - routes)
    assert not stale, "rules for routes the app does not have:\n" + "\n".join(
        f"  {m} {p}" for m, p in stale
    )
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)), "two cases of one route need different notes"


def outcome(case: Case, response: object) -> str:
    status = int(response.status_code)  # type: ignore[attr-defined]
    location = str(response.headers.get("location", ""))  # type: ignore[attr-defined]
    if case.signs_out and status == 303 and location.startswith("/login"):
        return OK
    if status in case.accept:
        return OK
    if status == 401 or (case.page and status in (302, 303) and location.startswith("/login")):
        return AUTH
    if status == 403:
        return DENY
    if status == 404:
        return HIDE
    if status < 400:
        return OK
    return f"status {status}"


_observed: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def _dump() -> Iterator[None]:
    yield
    if DUMP:
        Path(DUMP).write_text("\n".join(_observed) + "\n", encoding="utf-8")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_matrix(
    case: Case, role: str, world: World, secure_client: TestClient, rollback: None
) -> None:
    ids = ids_of(world)
    response = call(
        secure_client,
        world,
        role,
        case.method,
        case.target(ids),
        page=case.page,
        json=None if case.page or case.body is None else case.body(ids),
        form=case.body(ids) if case.page and case.body is not None else None,
        files=case.files(ids) if case.files is not None else None,
        headers=dict(case.headers),
    )
    got = outcome(case, response)
    if DUMP:
        _observed.append(
            f"{case.id}\t{role}\t{case.rule[role]}\t{got}\t{response.status_code}\t"
            f"{response.text[:160]!r}"
        )
        return
    assert got == case.rule[role], (
        f"{case.id} as {role}: expected {case.rule[role]}, got {got} "
        f"({response.status_code}): {response.text[:300]}"
    )
