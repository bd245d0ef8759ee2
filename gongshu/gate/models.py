"""The gate's own tables: the masking rules and the grants' daily row counters."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gongshu.catalog.models import Level, Sensitivity
from gongshu.db import Base, utcnow
from gongshu.masking import Technique
from gongshu.orgs.models import str_enum


class MaskRule(Base):
    """How a masked reader receives a field of one sensitivity kind in an entry of one level
    (脱敏规则). One row per (level, sensitivity), seeded with ``masking.default_rules()``;
    the security admin (安全管理员) edits them."""

    __tablename__ = "mask_rule"
    __table_args__ = (UniqueConstraint("level", "sensitivity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[Level] = mapped_column(str_enum(Level, "level"))
    sensitivity: Mapped[Sensitivity] = mapped_column(str_enum(Sensitivity, "sensitivity"))
    technique: Mapped[Technique] = mapped_column(str_enum(Technique, "mask_technique"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))


class GrantRowUsage(Base):
    """Rows read under one grant on one day (Asia/Shanghai), for its ``daily_row_quota``.

    Incremented in the same transaction as the read's audit entry, so the counter and the
    audit chain agree."""

    __tablename__ = "gate_grant_usage"

    grant_id: Mapped[int] = mapped_column(
        ForeignKey("share_grant.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    rows: Mapped[int] = mapped_column(default=0)
