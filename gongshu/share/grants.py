"""The grants the gate consults: the active, unexpired grants of a body on an entry.

A grant past its ``expires_at`` stops counting at once, whether or not the expiry job has
marked it ``expired`` yet, so a reader never gains a minute on a slow job.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gongshu.db import utcnow
from gongshu.share.models import Grant, GrantStatus


def active_grants(
    session: Session, agency_id: int, dataset_id: int, *, now: dt.datetime | None = None
) -> Sequence[Grant]:
    """The grants that let ``agency_id`` read ``dataset_id`` right now, oldest first."""
    now = now or utcnow()
    return session.scalars(
        select(Grant)
        .where(
            Grant.agency_id == agency_id,
            Grant.dataset_id == dataset_id,
            Grant.status == GrantStatus.ACTIVE,
            Grant.starts_at <= now,
            or_(Grant.expires_at.is_(None), Grant.expires_at > now),
        )
        .order_by(Grant.id)
    ).all()


def new_fingerprint() -> str:
    """A fresh, unguessable per-grant token for traceable copies."""
    return secrets.token_hex(16)
