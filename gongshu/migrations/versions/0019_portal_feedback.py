"""Public feedback: data demands, comments, appeals, reuses and moderation.

The governance ``objection`` table takes the public's objections and error reports: two
new kinds (``objection``, ``error``), a status ``answered``, an optional seen version, and
the bureau's routing plus a link to the correction ticket that followed.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gongshu.db

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_KINDS = ("correction",)
_NEW_KINDS = ("correction", "objection", "error")
_OLD_STATUSES = ("open", "accepted", "rejected", "fixed")
_NEW_STATUSES = ("open", "accepted", "rejected", "fixed", "answered")


def _check(column: str, values: Sequence[str]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _objection_checks(kinds: Sequence[str], statuses: Sequence[str]) -> None:
    with op.batch_alter_table("objection", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_objection_objection_kind"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_objection_objection_kind"), _check("kind", kinds)
        )
        batch_op.drop_constraint(batch_op.f("ck_objection_objection_status"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_objection_objection_status"), _check("status", statuses)
        )


def upgrade() -> None:
    op.create_table(
        "feedback_reuse",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "kind", _enum("reuse_kind", "app", "report", "service", "research"), nullable=False
        ),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("submitter", sa.String(length=200), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column(
            "status", _enum("reuse_status", "pending", "approved", "rejected"), nullable=False
        ),
        sa.Column("moderation_reason", sa.Text(), nullable=False),
        sa.Column("moderated_by_id", sa.Integer(), nullable=True),
        sa.Column("moderated_at", gongshu.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_feedback_reuse_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["moderated_by_id"], ["user.id"], name=op.f("fk_feedback_reuse_moderated_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_reuse")),
    )
    with op.batch_alter_table("feedback_reuse", schema=None) as batch_op:
        batch_op.create_index("ix_feedback_reuse_status", ["status"], unique=False)

    op.create_table(
        "feedback_appeal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=False),
        sa.Column("status", _enum("appeal_status", "open", "upheld", "dismissed"), nullable=False),
        sa.Column("provider_statement", sa.Text(), nullable=False),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", gongshu.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_feedback_appeal_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_feedback_appeal_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["dataset.id"], name=op.f("fk_feedback_appeal_dataset_id_dataset")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["user.id"], name=op.f("fk_feedback_appeal_decided_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_appeal")),
    )
    with op.batch_alter_table("feedback_appeal", schema=None) as batch_op:
        batch_op.create_index(
            "ix_feedback_appeal_agency_status", ["agency_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_feedback_appeal_dataset_id"), ["dataset_id"], unique=False
        )

    op.create_table(
        "feedback_comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_name", sa.String(length=100), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column(
            "status", _enum("moderation_status", "pending", "approved", "rejected"), nullable=False
        ),
        sa.Column("moderation_reason", sa.Text(), nullable=False),
        sa.Column("moderated_by_id", sa.Integer(), nullable=True),
        sa.Column("moderated_at", gongshu.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_feedback_comment_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["dataset.id"], name=op.f("fk_feedback_comment_dataset_id_dataset")
        ),
        sa.ForeignKeyConstraint(
            ["moderated_by_id"],
            ["user.id"],
            name=op.f("fk_feedback_comment_moderated_by_id_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_comment")),
    )
    with op.batch_alter_table("feedback_comment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_feedback_comment_dataset_status", ["dataset_id", "status"], unique=False
        )

    op.create_table(
        "feedback_demand",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("wanted_fields", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("suggested_agency_id", sa.Integer(), nullable=True),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            _enum("demand_status", "pending", "routed", "accepted", "declined", "rejected"),
            nullable=False,
        ),
        sa.Column("votes", sa.Integer(), nullable=False),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(length=100), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("routed_by_id", sa.Integer(), nullable=True),
        sa.Column("routed_at", gongshu.db.UTCDateTime(), nullable=True),
        sa.Column("replied_by_id", sa.Integer(), nullable=True),
        sa.Column("replied_at", gongshu.db.UTCDateTime(), nullable=True),
        sa.Column("moderation_reason", sa.Text(), nullable=False),
        sa.Column("created_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_feedback_demand_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_feedback_demand_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["dataset.id"], name=op.f("fk_feedback_demand_dataset_id_dataset")
        ),
        sa.ForeignKeyConstraint(
            ["replied_by_id"], ["user.id"], name=op.f("fk_feedback_demand_replied_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["routed_by_id"], ["user.id"], name=op.f("fk_feedback_demand_routed_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["suggested_agency_id"],
            ["agency.id"],
            name=op.f("fk_feedback_demand_suggested_agency_id_agency"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_demand")),
    )
    with op.batch_alter_table("feedback_demand", schema=None) as batch_op:
        batch_op.create_index("ix_feedback_demand_status", ["status", "agency_id"], unique=False)

    op.create_table(
        "feedback_reuse_dataset",
        sa.Column("reuse_id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["dataset.id"],
            name=op.f("fk_feedback_reuse_dataset_dataset_id_dataset"),
        ),
        sa.ForeignKeyConstraint(
            ["reuse_id"],
            ["feedback_reuse.id"],
            name=op.f("fk_feedback_reuse_dataset_reuse_id_feedback_reuse"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("reuse_id", "dataset_id", name=op.f("pk_feedback_reuse_dataset")),
    )
    with op.batch_alter_table("feedback_reuse_dataset", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_feedback_reuse_dataset_dataset_id"), ["dataset_id"], unique=False
        )

    op.create_table(
        "feedback_demand_vote",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("demand_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["demand_id"],
            ["feedback_demand.id"],
            name=op.f("fk_feedback_demand_vote_demand_id_feedback_demand"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_feedback_demand_vote_user_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_demand_vote")),
        sa.UniqueConstraint("demand_id", "user_id", name="uq_feedback_vote_user"),
    )
    with op.batch_alter_table("objection", schema=None) as batch_op:
        batch_op.add_column(sa.Column("routed_at", gongshu.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("routed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("correction_id", sa.Integer(), nullable=True))
        batch_op.alter_column("seen_version_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f("fk_objection_correction_id_objection"),
            "objection",
            ["correction_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_objection_routed_by_id_user"), "user", ["routed_by_id"], ["id"]
        )
    _objection_checks(_NEW_KINDS, _NEW_STATUSES)


def downgrade() -> None:
    # Public tickets cannot live under the old constraints: they go with the feature.
    op.execute("UPDATE objection SET correction_id = NULL")
    op.execute("DELETE FROM objection WHERE kind IN ('objection', 'error')")
    op.execute("UPDATE objection SET status = 'rejected' WHERE status = 'answered'")
    _objection_checks(_OLD_KINDS, _OLD_STATUSES)
    with op.batch_alter_table("objection", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_objection_routed_by_id_user"), type_="foreignkey")
        batch_op.drop_constraint(
            batch_op.f("fk_objection_correction_id_objection"), type_="foreignkey"
        )
        batch_op.alter_column("seen_version_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("correction_id")
        batch_op.drop_column("routed_by_id")
        batch_op.drop_column("routed_at")

    op.drop_table("feedback_demand_vote")
    with op.batch_alter_table("feedback_reuse_dataset", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_reuse_dataset_dataset_id"))
    op.drop_table("feedback_reuse_dataset")
    with op.batch_alter_table("feedback_demand", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_demand_status")
    op.drop_table("feedback_demand")
    with op.batch_alter_table("feedback_comment", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_comment_dataset_status")
    op.drop_table("feedback_comment")
    with op.batch_alter_table("feedback_appeal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_appeal_dataset_id"))
        batch_op.drop_index("ix_feedback_appeal_agency_status")
    op.drop_table("feedback_appeal")
    with op.batch_alter_table("feedback_reuse", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_reuse_status")
    op.drop_table("feedback_reuse")
