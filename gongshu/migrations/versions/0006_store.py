"""Dataset versions (数据版本) and each dataset's head: the versioned store's metadata.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gongshu.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dataset_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "live",
                "superseded",
                "pruned",
                name="version_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("prefix", sa.String(length=200), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.Column("byte_size", sa.BigInteger(), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("schema", sa.JSON(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("source", sa.JSON(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("based_on_id", sa.Integer(), nullable=True),
        sa.Column("added", sa.Integer(), nullable=True),
        sa.Column("removed", sa.Integer(), nullable=True),
        sa.Column("changed", sa.Integer(), nullable=True),
        sa.Column("rejected_count", sa.Integer(), nullable=False),
        sa.Column("rejected_key", sa.String(length=300), nullable=False),
        sa.Column("quality", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.Column("published_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["based_on_id"],
            ["dataset_version.id"],
            name=op.f("fk_dataset_version_based_on_id_dataset_version"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_dataset_version_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["dataset.id"], name=op.f("fk_dataset_version_dataset_id_dataset")
        ),
        sa.ForeignKeyConstraint(["job_id"], ["job.id"], name=op.f("fk_dataset_version_job_id_job")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_version")),
        sa.UniqueConstraint("dataset_id", "number", name="uq_dataset_version_number"),
        sa.UniqueConstraint("prefix", name=op.f("uq_dataset_version_prefix")),
    )
    op.create_index(
        op.f("ix_dataset_version_dataset_id"), "dataset_version", ["dataset_id"], unique=False
    )
    op.create_table(
        "dataset_head",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["dataset.id"], name=op.f("fk_dataset_head_dataset_id_dataset")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["dataset_version.id"],
            name=op.f("fk_dataset_head_version_id_dataset_version"),
        ),
        sa.PrimaryKeyConstraint("dataset_id", name=op.f("pk_dataset_head")),
    )


def downgrade() -> None:
    op.drop_table("dataset_head")
    op.drop_index(op.f("ix_dataset_version_dataset_id"), table_name="dataset_version")
    op.drop_table("dataset_version")
