"""Catalog workflow: who submitted and reviewed an entry (with the return reason), the
``withdrawn`` state for entries deleted by a change request, and change requests.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 16:25:52.944783
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gongshu.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_STATES = ("draft", "submitted", "returned", "approved", "published")
_NEW_STATES = (*_OLD_STATES, "withdrawn")


def _state_check(states: Sequence[str]) -> str:
    return "state IN (" + ", ".join(f"'{s}'" for s in states) + ")"


def upgrade() -> None:
    op.create_table(
        "change_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "modify",
                "delete",
                name="change_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("basis_changed_on", sa.Date(), nullable=False),
        sa.Column("proposal_due_on", sa.Date(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "submitted",
                "district_reviewed",
                "approved",
                "rejected",
                name="change_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("proposed_by_id", sa.Integer(), nullable=True),
        sa.Column("proposed_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.Column("district_reviewer_id", sa.Integer(), nullable=True),
        sa.Column("district_reviewed_at", gongshu.db.UTCDateTime(), nullable=True),
        sa.Column("district_comment", sa.Text(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", gongshu.db.UTCDateTime(), nullable=True),
        sa.Column("review_comment", sa.Text(), nullable=False),
        sa.Column("updated_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["dataset.id"], name=op.f("fk_change_request_dataset_id_dataset")
        ),
        sa.ForeignKeyConstraint(
            ["district_reviewer_id"],
            ["user.id"],
            name=op.f("fk_change_request_district_reviewer_id_user"),
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by_id"], ["user.id"], name=op.f("fk_change_request_proposed_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["user.id"], name=op.f("fk_change_request_reviewer_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_request")),
    )
    with op.batch_alter_table("change_request", schema=None) as batch_op:
        batch_op.create_index(
            "ix_change_request_dataset_status", ["dataset_id", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_change_request_status"), ["status"], unique=False)

    with op.batch_alter_table("dataset", schema=None) as batch_op:
        batch_op.add_column(sa.Column("submitted_at", gongshu.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("submitted_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reviewed_at", gongshu.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("reviewed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("review_comment", sa.Text(), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("withdrawn_at", gongshu.db.UTCDateTime(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_dataset_reviewed_by_id_user"), "user", ["reviewed_by_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_dataset_submitted_by_id_user"), "user", ["submitted_by_id"], ["id"]
        )
        # The state's CHECK constraint gains 'withdrawn'.
        batch_op.drop_constraint(batch_op.f("ck_dataset_dataset_state"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_dataset_dataset_state"), _state_check(_NEW_STATES)
        )


def downgrade() -> None:
    with op.batch_alter_table("dataset", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_dataset_dataset_state"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_dataset_dataset_state"), _state_check(_OLD_STATES)
        )
        batch_op.drop_constraint(batch_op.f("fk_dataset_submitted_by_id_user"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_dataset_reviewed_by_id_user"), type_="foreignkey")
        batch_op.drop_column("withdrawn_at")
        batch_op.drop_column("review_comment")
        batch_op.drop_column("reviewed_by_id")
        batch_op.drop_column("reviewed_at")
        batch_op.drop_column("submitted_by_id")
        batch_op.drop_column("submitted_at")

    with op.batch_alter_table("change_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_request_status"))
        batch_op.drop_index("ix_change_request_dataset_status")

    op.drop_table("change_request")
