"""Rate limits: the token bucket, and 429 with Retry-After from the API."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gongshu.auth import service as auth_service
from gongshu.auth.schemas import ApiKeyCreate
from gongshu.catalog.models import Dataset
from gongshu.dataapi.ratelimit import PRUNE_AT, RateLimiter
from gongshu.settings import Settings
from gongshu.store.models import DatasetVersion
from tests.factories import Person


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(clock)
    decisions = [limiter.take("key:1", 60, 5) for _ in range(6)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert decisions[4].remaining == 0 and decisions[5].retry_after == 1
    clock.now += 2.0  # two tokens at one a second
    assert [limiter.take("key:1", 60, 5).allowed for _ in range(3)] == [True, True, False]
    # Buckets are per caller, and 0 means no limit.
    assert limiter.take("key:2", 60, 5).allowed
    assert all(limiter.take("key:3", 0, 1).allowed for _ in range(100))


def test_retry_after_counts_whole_seconds_to_the_next_token() -> None:
    clock = Clock()
    limiter = RateLimiter(clock)
    assert limiter.take("user:1", 6, 1).allowed  # one token every 10 s
    refused = limiter.take("user:1", 6, 1)
    assert not refused.allowed and refused.retry_after == 10
    clock.now += 9.5
    assert limiter.take("user:1", 6, 1).retry_after == 1
    clock.now += 0.5
    assert limiter.take("user:1", 6, 1).allowed


def test_idle_buckets_are_dropped_when_the_table_grows() -> None:
    clock = Clock()
    limiter = RateLimiter(clock)
    for i in range(PRUNE_AT):
        limiter.take(f"user:{i}", 60, 10)
    clock.now += 60.0  # all full again
    limiter.take("user:new", 60, 10)
    assert len(limiter._buckets) == 1


def test_key_limit_is_cached_for_a_minute() -> None:
    clock = Clock()
    limiter = RateLimiter(clock)
    loads: list[int] = []

    def load(key_id: int) -> int | None:
        loads.append(key_id)
        return 5

    assert limiter.key_limit(7, load) == 5 and limiter.key_limit(7, load) == 5
    clock.now += 61
    assert limiter.key_limit(7, load) == 5
    assert loads == [7, 7]


def test_the_api_answers_429_with_retry_after(
    db: Session,
    api: TestClient,
    settings: Settings,
    officer: Person,
    entry: Dataset,
    version: DatasetVersion,
) -> None:
    _key, secret = auth_service.create_api_key(
        db,
        officer.actor,
        ApiKeyCreate(
            name="限速系统", owner_agency_id=officer.user.agency_id, rate_limit_per_minute=3
        ),
    )
    headers = {"X-API-Key": secret, "X-Gongshu-Purpose": "check"}
    target = f"/api/v1/data/{entry.code}/count"
    answers = [api.get(target, headers=headers) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0].headers["X-RateLimit-Limit"] == "3"
    assert answers[2].headers["X-RateLimit-Remaining"] == "0"
    refused = answers[3]
    assert int(refused.headers["Retry-After"]) == 20  # one token every 20 s
    assert refused.json()["error"]["code"] == "rate_limited"
    assert refused.json()["error"]["message"] == "请求过于频繁，请在 20 秒后重试"
    english = api.get(target, headers={**headers, "Accept-Language": "en"})
    assert english.status_code == 429 and "20" in english.json()["error"]["message"]
    # Another caller (the officer with a token) has a bucket of its own.
    assert settings.data_api_rate_per_minute > 3
    other = api.post(
        "/api/v1/auth/token", json={"username": officer.username, "password": officer.password}
    ).json()["access_token"]
    ok = api.get(target, headers={"Authorization": f"Bearer {other}", "X-Gongshu-Purpose": "c"})
    assert ok.status_code == 200
