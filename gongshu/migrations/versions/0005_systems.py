"""Information-system registry (政务信息系统登记): systems and the catalog entries they produce.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gongshu.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "information_system",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "planned",
                "building",
                "running",
                "retired",
                name="system_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("project_name", sa.String(length=200), nullable=False),
        sa.Column("project_number", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("contact", sa.String(length=100), nullable=False),
        sa.Column("contact_phone", sa.String(length=30), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_information_system_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_information_system_created_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_information_system")),
        sa.UniqueConstraint("agency_id", "name", name="uq_information_system_name"),
    )
    op.create_index(
        op.f("ix_information_system_agency_id"), "information_system", ["agency_id"], unique=False
    )
    op.create_table(
        "information_system_dataset",
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("created_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["dataset.id"],
            name=op.f("fk_information_system_dataset_dataset_id_dataset"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["system_id"],
            ["information_system.id"],
            name=op.f("fk_information_system_dataset_system_id_information_system"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "system_id", "dataset_id", name=op.f("pk_information_system_dataset")
        ),
    )
    op.create_index(
        op.f("ix_information_system_dataset_dataset_id"),
        "information_system_dataset",
        ["dataset_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_information_system_dataset_dataset_id"), table_name="information_system_dataset"
    )
    op.drop_table("information_system_dataset")
    op.drop_index(op.f("ix_information_system_agency_id"), table_name="information_system")
    op.drop_table("information_system")
