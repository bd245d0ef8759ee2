"""Verification services and the per-body call counter.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gongshu.db

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "verification_service",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("key_field", sa.String(length=64), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("valid_until_field", sa.String(length=64), nullable=True),
        sa.Column("status_field", sa.String(length=64), nullable=True),
        sa.Column("status_values", sa.JSON(), nullable=False),
        sa.Column("reveal_existence", sa.Boolean(), nullable=False),
        sa.Column("open_to_all", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_verification_service_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["dataset.id"],
            name=op.f("fk_verification_service_dataset_id_dataset"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_service")),
        sa.UniqueConstraint("code", name=op.f("uq_verification_service_code")),
    )
    with op.batch_alter_table("verification_service", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_verification_service_dataset_id"), ["dataset_id"], unique=False
        )
    op.create_table(
        "verification_usage",
        sa.Column("body", sa.String(length=40), nullable=False),
        sa.Column("minute", gongshu.db.UTCDateTime(), nullable=False),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("body", "minute", name=op.f("pk_verification_usage")),
    )


def downgrade() -> None:
    op.drop_table("verification_usage")
    with op.batch_alter_table("verification_service", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verification_service_dataset_id"))
    op.drop_table("verification_service")
