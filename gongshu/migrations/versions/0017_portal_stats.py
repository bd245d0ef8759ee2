"""Portal statistics, subscriptions and the open list.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gongshu.db

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portal_stat_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "view",
                "download",
                "api_call",
                name="portal_stat_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "dataset_id", "kind", name=op.f("pk_portal_stat_daily")),
    )
    with op.batch_alter_table("portal_stat_daily", schema=None) as batch_op:
        batch_op.create_index("ix_portal_stat_daily_dataset_id", ["dataset_id"], unique=False)
    op.create_table(
        "portal_stat_monthly",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "view",
                "download",
                "api_call",
                name="portal_stat_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "dataset_id", "kind", name=op.f("pk_portal_stat_monthly")),
    )
    with op.batch_alter_table("portal_stat_monthly", schema=None) as batch_op:
        batch_op.create_index("ix_portal_stat_monthly_dataset_id", ["dataset_id"], unique=False)
    op.create_table(
        "portal_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "dataset",
                "agency",
                "theme",
                name="portal_subscription_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("target", sa.String(length=100), nullable=False),
        sa.Column("created_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_portal_subscription_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_subscription")),
        sa.UniqueConstraint(
            "user_id", "kind", "target", name=op.f("uq_portal_subscription_user_id")
        ),
    )
    with op.batch_alter_table("portal_subscription", schema=None) as batch_op:
        batch_op.create_index(
            "ix_portal_subscription_kind_target", ["kind", "target"], unique=False
        )
    op.create_table(
        "portal_subscription_delivery",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_portal_subscription_delivery_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["dataset_version.id"],
            name=op.f("fk_portal_subscription_delivery_version_id_dataset_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "version_id", "user_id", name=op.f("pk_portal_subscription_delivery")
        ),
    )
    op.create_table(
        "portal_scan_mark",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("until", gongshu.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_portal_scan_mark")),
    )


def downgrade() -> None:
    op.drop_table("portal_scan_mark")
    op.drop_table("portal_subscription_delivery")
    with op.batch_alter_table("portal_subscription", schema=None) as batch_op:
        batch_op.drop_index("ix_portal_subscription_kind_target")
    op.drop_table("portal_subscription")
    with op.batch_alter_table("portal_stat_monthly", schema=None) as batch_op:
        batch_op.drop_index("ix_portal_stat_monthly_dataset_id")
    op.drop_table("portal_stat_monthly")
    with op.batch_alter_table("portal_stat_daily", schema=None) as batch_op:
        batch_op.drop_index("ix_portal_stat_daily_dataset_id")
    op.drop_table("portal_stat_daily")
