"""The daily quota of API keys: every request an API key authenticates counts once against
its ``daily_quota`` for the day (Asia/Shanghai); past it, requests are refused with 429
until midnight.

The count lives in the SQL database (``api_key_usage``: one row per key and day), so it
holds across server processes and restarts, unlike the per-minute token buckets of
``gongshu.dataapi.ratelimit``. One conditional UPDATE takes a call (``calls < quota``), so
concurrent requests never pass the quota together. Keys without a quota are not counted.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gongshu.dataapi.ratelimit import RateLimited
from gongshu.db import utcnow
from gongshu.errors import GongshuError
from gongshu.i18n import N_
from gongshu.opening.models import ApiKeyUsage
from gongshu.workdays.calendar import TZ, local_today

__all__ = ["DailyQuotaExceeded", "calls_today", "charge"]

MSG_DAILY_QUOTA = N_("该 API 密钥今日调用次数已达上限 {quota} 次，请明日再试")


class DailyQuotaExceeded(RateLimited):
    """The key used up today's calls; ``retry_after`` seconds until midnight (Shanghai)."""

    code = "daily_quota_exceeded"

    def __init__(self, quota: int, retry_after: int) -> None:
        GongshuError.__init__(self, MSG_DAILY_QUOTA, quota=quota)
        self.retry_after = retry_after
        self.limit = quota


def _seconds_to_midnight(now: dt.datetime) -> int:
    local = now.astimezone(TZ)
    midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), TZ)
    return max(1, int((midnight - local).total_seconds()))


def _take(session: Session, key_id: int, day: dt.date, quota: int) -> bool:
    result = session.execute(
        update(ApiKeyUsage)
        .where(
            ApiKeyUsage.api_key_id == key_id,
            ApiKeyUsage.day == day,
            ApiKeyUsage.calls < quota,
        )
        .values(calls=ApiKeyUsage.calls + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def charge(session: Session, key_id: int, quota: int, *, now: dt.datetime | None = None) -> None:
    """Count one call of the key today, or raise ``DailyQuotaExceeded``. Commits at once:
    the call counts even if the request fails afterwards."""
    now = now or utcnow()
    day = local_today(now)
    taken = True
    try:
        if not _take(session, key_id, day, quota):
            exists = session.scalar(
                select(ApiKeyUsage.calls).where(
                    ApiKeyUsage.api_key_id == key_id, ApiKeyUsage.day == day
                )
            )
            if exists is not None:
                taken = False
            else:
                try:
                    with session.begin_nested():
                        session.add(ApiKeyUsage(api_key_id=key_id, day=day, calls=1))
                except IntegrityError:
                    # Another request made today's row first: take the call from it.
                    taken = _take(session, key_id, day, quota)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    if not taken:
        raise DailyQuotaExceeded(quota, _seconds_to_midnight(now))


def calls_today(session: Session, key_id: int, *, now: dt.datetime | None = None) -> int:
    """Calls the key made today (Asia/Shanghai)."""
    day = local_today(now or utcnow())
    calls = session.scalar(
        select(ApiKeyUsage.calls).where(ApiKeyUsage.api_key_id == key_id, ApiKeyUsage.day == day)
    )
    return int(calls or 0)


def calls_by_key(
    session: Session, key_ids: list[int], *, now: dt.datetime | None = None
) -> dict[int, int]:
    """Today's calls of many keys (for the account page)."""
    if not key_ids:
        return {}
    day = local_today(now or utcnow())
    rows = session.execute(
        select(ApiKeyUsage.api_key_id, ApiKeyUsage.calls).where(
            ApiKeyUsage.api_key_id.in_(key_ids), ApiKeyUsage.day == day
        )
    )
    return {int(k): int(c) for k, c in rows}
