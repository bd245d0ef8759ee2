"""Ingestions and each dataset's ingestion profile.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gongshu.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    op.create_table(
        "ingest_profile",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("on_invalid", _enum("invalid_policy", "reject", "quarantine"), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["dataset.id"],
            name=op.f("fk_ingest_profile_dataset_id_dataset"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["user.id"], name=op.f("fk_ingest_profile_updated_by_id_user")
        ),
        sa.PrimaryKeyConstraint("dataset_id", name=op.f("pk_ingest_profile")),
    )
    op.create_table(
        "ingestion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            _enum("ingest_status", "queued", "running", "published", "refused", "failed"),
            nullable=False,
        ),
        sa.Column(
            "source_kind",
            _enum("source_kind", "upload", "pull", "push", "rollback"),
            nullable=False,
        ),
        sa.Column("mode", _enum("ingest_mode", "replace", "append", "upsert"), nullable=False),
        sa.Column("snapshot", sa.Boolean(), nullable=False),
        sa.Column("on_invalid", _enum("invalid_policy", "reject", "quarantine"), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("file_key", sa.String(length=300), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("file_bytes", sa.BigInteger(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("detected", sa.JSON(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_valid", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("warnings", sa.Integer(), nullable=False),
        sa.Column("issues", sa.JSON(), nullable=False),
        sa.Column("rejected_key", sa.String(length=300), nullable=False),
        sa.Column("bytes_done", sa.BigInteger(), nullable=False),
        sa.Column("runner", sa.JSON(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.Column("started_at", gongshu.db.UTCDateTime(), nullable=True),
        sa.Column("finished_at", gongshu.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["dataset.id"], name=op.f("fk_ingestion_dataset_id_dataset")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["dataset_version.id"],
            name=op.f("fk_ingestion_version_id_dataset_version"),
        ),
        sa.ForeignKeyConstraint(["job_id"], ["job.id"], name=op.f("fk_ingestion_job_id_job")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_ingestion_created_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingestion")),
    )
    op.create_index(op.f("ix_ingestion_dataset_id"), "ingestion", ["dataset_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_ingestion_dataset_id"), table_name="ingestion")
    op.drop_table("ingestion")
    op.drop_table("ingest_profile")
