"""Writing the gate's decisions to the audit chain, and the grants' daily row quotas.

``write_entry`` is the one function that writes a gate entry (``data.read`` for an allowed
read, ``data.denied`` for a refused one). It commits the entry itself (through the audit
chain's grouped writer, or ``unit_of_work`` on the caller's session when a quota is
counted), so the entry is durable before any row leaves — and durable too when the request
then fails. A read under a grant with a
``daily_row_quota`` counts its rows in the same transaction as its entry (table
``gate_grant_usage``, one row per grant and day in Asia/Shanghai): when the rows would pass
the quota the transaction is rolled back and ``QuotaExceeded`` raised, so a counter and
the chain never disagree, and two concurrent reads cannot both pass the last rows (the
counter row is locked while it is checked). Grants without a quota are not counted (the
audit chain has their rows), so a quota set during a day counts from then on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from gongshu.audit.group import append_durable
from gongshu.audit.service import record
from gongshu.auth.actor import Actor
from gongshu.db import unit_of_work, utcnow
from gongshu.errors import PermissionDenied
from gongshu.gate.models import GrantRowUsage
from gongshu.i18n import N_
from gongshu.share.models import Grant

READ = "data.read"
DENIED = "data.denied"
LOCAL_ZONE = ZoneInfo("Asia/Shanghai")

MSG_QUOTA = N_("本授权今日读取已达上限（每日 {quota} 行），请明日再读或申请提高限额")


class QuotaExceeded(PermissionDenied):
    """A read that would pass its grant's daily row quota."""

    status_code = 429
    code = "quota_exceeded"


def today() -> dt.date:
    """The quota day: the date in Asia/Shanghai."""
    return utcnow().astimezone(LOCAL_ZONE).date()


def used_today(session: Session, grant: Grant) -> int:
    """Rows read under the grant so far today."""
    used = session.scalar(
        select(GrantRowUsage.rows).where(
            GrantRowUsage.grant_id == grant.id, GrantRowUsage.day == today()
        )
    )
    return int(used or 0)


def remaining_today(session: Session, grant: Grant | None) -> int | None:
    """Rows the grant may still read today (None: no quota)."""
    if grant is None or grant.daily_row_quota is None:
        return None
    return max(0, grant.daily_row_quota - used_today(session, grant))


def _consume(session: Session, grant: Grant, rows: int) -> None:
    day = today()
    values = {"grant_id": grant.id, "day": day, "rows": 0}
    if session.get_bind().dialect.name == "postgresql":
        session.execute(pg_insert(GrantRowUsage).values(values).on_conflict_do_nothing())
    else:
        session.execute(sqlite_insert(GrantRowUsage).values(values).on_conflict_do_nothing())
    usage = session.scalars(
        select(GrantRowUsage)
        .where(GrantRowUsage.grant_id == grant.id, GrantRowUsage.day == day)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    quota = grant.daily_row_quota
    if quota is not None and usage.rows + rows > quota:
        raise QuotaExceeded(MSG_QUOTA, quota=quota)
    usage.rows += rows


def write_entry(
    session: Session,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: object,
    *,
    label: str,
    changes: Mapping[str, Any],
    grant: Grant | None = None,
    rows: int = 0,
) -> None:
    """Append one gate entry and commit it; with a grant, count ``rows`` against its quota
    first (``QuotaExceeded``: nothing is written, the caller records the denial).

    An entry without a quota to count goes through the grouped writer
    (``append_durable``): concurrent reads share one commit, and each still returns only
    once its own entry is durable. A quota's counter must change in the same transaction as
    its entry, so those reads commit on their own.
    """
    if grant is not None and grant.daily_row_quota is not None and rows > 0:
        with unit_of_work(session):
            _consume(session, grant, rows)
            record(session, actor, action, object_type, object_id, label=label, changes=changes)
        return
    append_durable(session, actor, action, object_type, object_id, label=label, changes=changes)
