"""Sharing: grants (what one body may read of one entry, and until when).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gongshu.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "share_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "unconditional",
                "request",
                "emergency",
                "return_flow",
                name="grant_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "expired",
                "revoked",
                name="grant_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("fields", sa.JSON(), nullable=True),
        sa.Column("clear_fields", sa.JSON(), nullable=False),
        sa.Column("row_filter", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("scenario", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("starts_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", gongshu.db.UTCDateTime(), nullable=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("emergency_id", sa.Integer(), nullable=True),
        sa.Column("fingerprint", sa.String(length=32), nullable=False),
        sa.Column("daily_row_quota", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.Column("ended_at", gongshu.db.UTCDateTime(), nullable=True),
        sa.Column("ended_by_id", sa.Integer(), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_share_grant_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_share_grant_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["dataset.id"],
            name=op.f("fk_share_grant_dataset_id_dataset"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ended_by_id"], ["user.id"], name=op.f("fk_share_grant_ended_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_grant")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_share_grant_fingerprint")),
    )
    with op.batch_alter_table("share_grant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_share_grant_dataset_id"), ["dataset_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_share_grant_emergency_id"), ["emergency_id"], unique=False
        )
        batch_op.create_index(
            "ix_share_grant_reader", ["agency_id", "dataset_id", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_share_grant_request_id"), ["request_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("share_grant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_share_grant_request_id"))
        batch_op.drop_index("ix_share_grant_reader")
        batch_op.drop_index(batch_op.f("ix_share_grant_emergency_id"))
        batch_op.drop_index(batch_op.f("ix_share_grant_dataset_id"))

    op.drop_table("share_grant")
