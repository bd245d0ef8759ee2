"""Quality scores of dataset versions and the overdue notices sent.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gongshu.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quality_score",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("computed_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.Column("completeness", sa.Float(), nullable=False),
        sa.Column("validity", sa.Float(), nullable=False),
        sa.Column("uniqueness", sa.Float(), nullable=False),
        sa.Column("timeliness", sa.Float(), nullable=False),
        sa.Column("consistency", sa.Float(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["dataset.id"], name=op.f("fk_quality_score_dataset_id_dataset")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["dataset_version.id"],
            name=op.f("fk_quality_score_version_id_dataset_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_score")),
        sa.UniqueConstraint("version_id", name=op.f("uq_quality_score_version_id")),
    )
    op.create_index(
        op.f("ix_quality_score_dataset_id"), "quality_score", ["dataset_id"], unique=False
    )
    op.create_table(
        "quality_overdue_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("notified_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["dataset.id"],
            name=op.f("fk_quality_overdue_notice_dataset_id_dataset"),
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_quality_overdue_notice_agency_id_agency")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_overdue_notice")),
        sa.UniqueConstraint(
            "dataset_id", "due_on", name=op.f("uq_quality_overdue_notice_dataset_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("quality_overdue_notice")
    op.drop_index(op.f("ix_quality_score_dataset_id"), table_name="quality_score")
    op.drop_table("quality_score")
