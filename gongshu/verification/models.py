"""Verification services (核验服务) and the per-body call counter.

- A ``VerificationService`` is what the bureau offers: one catalog entry, the field a caller
  names the record by (``key_field``: an ID number, a licence number — a field with an index
  in the serving index), the fields a caller may compare (``fields``), an optional validity
  rule (``valid_until_field`` on or after today, and/or ``status_field`` in
  ``status_values``), whether an answer may say that a record does not exist
  (``reveal_existence``, off by default) and whether every public body may call it without a
  grant on the entry (``open_to_all``).
- ``VerificationUsage`` counts the checks one body made in one minute, so that a body is
  held to ``GONGSHU_VERIFY_RATE_PER_MINUTE`` on every API node at once.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gongshu.db import Base, utcnow

if TYPE_CHECKING:
    from gongshu.catalog.models import Dataset


class VerificationService(Base):
    """A verification the platform offers over one catalog entry (see the module docstring)."""

    __tablename__ = "verification_service"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("dataset.id", ondelete="CASCADE"), index=True
    )
    key_field: Mapped[str] = mapped_column(String(64))
    fields: Mapped[list[Any]] = mapped_column(default=list)
    valid_until_field: Mapped[str | None] = mapped_column(String(64))
    status_field: Mapped[str | None] = mapped_column(String(64))
    status_values: Mapped[list[Any]] = mapped_column(default=list)
    reveal_existence: Mapped[bool] = mapped_column(default=False)
    open_to_all: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    dataset: Mapped[Dataset] = relationship()


class VerificationUsage(Base):
    """How many checks one body (``agency:<id>``, or ``user:<id>`` for users of no agency)
    made in the minute starting at ``minute``."""

    __tablename__ = "verification_usage"

    body: Mapped[str] = mapped_column(String(40), primary_key=True)
    minute: Mapped[dt.datetime] = mapped_column(primary_key=True)
    checks: Mapped[int] = mapped_column(default=0)
