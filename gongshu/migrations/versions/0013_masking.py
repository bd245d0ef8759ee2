"""Masking rules (level × sensitivity → technique) and the grants' daily row counters.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gongshu.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEVELS = ("general_1", "general_2", "general_3", "general_4", "important", "core")
SENSITIVITIES = (
    "none",
    "id_number",
    "mobile",
    "name",
    "address",
    "bank_card",
    "email",
    "plate",
    "credit_code",
    "free_text",
)
# The defaults of gongshu/masking.json at this revision (domain notes §2–§3); a pair not
# listed is clear.
_DISPLAY = {
    s: "mask"
    for s in ("id_number", "mobile", "name", "address", "bank_card", "email", "plate", "free_text")
}
_SENSITIVE = {
    **_DISPLAY,
    "id_number": "hash",
    "bank_card": "drop",
    "free_text": "drop",
}
DEFAULTS: dict[str, dict[str, str]] = {
    "general_1": {},
    "general_2": _DISPLAY,
    "general_3": _DISPLAY,
    "general_4": {**_SENSITIVE, "bank_card": "hash"},
    "important": _SENSITIVE,
    "core": _SENSITIVE,
}


def upgrade() -> None:
    mask_rule = op.create_table(
        "mask_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "level",
            sa.Enum(
                *LEVELS,
                name="level",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "sensitivity",
            sa.Enum(
                *SENSITIVITIES,
                name="sensitivity",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "technique",
            sa.Enum(
                "clear",
                "mask",
                "hash",
                "drop",
                name="mask_technique",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("updated_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["user.id"], name=op.f("fk_mask_rule_updated_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mask_rule")),
        sa.UniqueConstraint("level", "sensitivity", name=op.f("uq_mask_rule_level")),
    )
    op.create_table(
        "gate_grant_usage",
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["share_grant.id"],
            name=op.f("fk_gate_grant_usage_grant_id_share_grant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("grant_id", "day", name=op.f("pk_gate_grant_usage")),
    )
    now = dt.datetime.now(dt.UTC)
    op.bulk_insert(
        mask_rule,
        [
            {
                "level": level,
                "sensitivity": sensitivity,
                "technique": DEFAULTS[level].get(sensitivity, "clear"),
                "updated_at": now,
                "updated_by_id": None,
            }
            for level in LEVELS
            for sensitivity in SENSITIVITIES
        ],
    )


def downgrade() -> None:
    op.drop_table("gate_grant_usage")
    op.drop_table("mask_rule")
