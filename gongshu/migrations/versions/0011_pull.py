"""Scheduled pull: pull sources and their runs.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gongshu.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


PULL_STATUS = ("running", "published", "refused", "failed")


def upgrade() -> None:
    op.create_table(
        "pull_source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("mode", _enum("ingest_mode", "replace", "append", "upsert"), nullable=False),
        sa.Column("snapshot", sa.Boolean(), nullable=False),
        sa.Column("on_invalid", _enum("invalid_policy", "reject", "quarantine"), nullable=True),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("schedule", sa.String(length=32), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("next_run_at", gongshu.db.UTCDateTime(), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("last_run_at", gongshu.db.UTCDateTime(), nullable=True),
        sa.Column("last_status", _enum("pull_status", *PULL_STATUS), nullable=True),
        sa.Column("failure_notified", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["dataset.id"],
            name=op.f("fk_pull_source_dataset_id_dataset"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["job.id"], name=op.f("fk_pull_source_job_id_job"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_pull_source_created_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pull_source")),
        sa.UniqueConstraint("name", name=op.f("uq_pull_source_name")),
    )
    op.create_index(op.f("ix_pull_source_dataset_id"), "pull_source", ["dataset_id"], unique=False)
    op.create_table(
        "pull_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("status", _enum("pull_status", *PULL_STATUS), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("ingestion_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("error_params", sa.JSON(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("started_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.Column("finished_at", gongshu.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["pull_source.id"],
            name=op.f("fk_pull_run_source_id_pull_source"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ingestion_id"],
            ["ingestion.id"],
            name=op.f("fk_pull_run_ingestion_id_ingestion"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["user.id"], name=op.f("fk_pull_run_requested_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pull_run")),
    )
    op.create_index(op.f("ix_pull_run_source_id"), "pull_run", ["source_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_pull_run_source_id"), table_name="pull_run")
    op.drop_table("pull_run")
    op.drop_index(op.f("ix_pull_source_dataset_id"), table_name="pull_source")
    op.drop_table("pull_source")
