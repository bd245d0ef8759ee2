"""The open applications the gate consults: a public user's active, unexpired applications
on an entry. An application past its ``expires_at`` stops counting at once, whether or not
the sweep has marked it ``expired`` yet."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.db import utcnow
from gongshu.opening.models import ApplicationStatus, OpenApplication


def active_applications(
    session: Session, user_id: int, dataset_id: int, *, now: dt.datetime | None = None
) -> Sequence[OpenApplication]:
    """The applications that let ``user_id`` read ``dataset_id`` right now, oldest first."""
    now = now or utcnow()
    return session.scalars(
        select(OpenApplication)
        .where(
            OpenApplication.applicant_id == user_id,
            OpenApplication.dataset_id == dataset_id,
            OpenApplication.status == ApplicationStatus.ACTIVE,
            OpenApplication.starts_at <= now,
            OpenApplication.expires_at > now,
        )
        .order_by(OpenApplication.id)
    ).all()
