"""Sharing workflow: share requests, objections, emergencies, assessments, return flow.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gongshu.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "share_emergency",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("dataset_ids", sa.JSON(), nullable=False),
        sa.Column("agency_ids", sa.JSON(), nullable=False),
        sa.Column("all_entries", sa.Boolean(), nullable=False),
        sa.Column("all_agencies", sa.Boolean(), nullable=False),
        sa.Column("include_not_shared", sa.Boolean(), nullable=False),
        sa.Column("in_clear", sa.Boolean(), nullable=False),
        sa.Column("skipped", sa.JSON(), nullable=False),
        sa.Column("grants_issued", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "ended",
                name="emergency_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("starts_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.Column("ends_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.Column("declared_by_id", sa.Integer(), nullable=True),
        sa.Column("declared_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.Column("ended_at", gongshu.db.UTCDateTime(), nullable=True),
        sa.Column("ended_by_id", sa.Integer(), nullable=True),
        sa.Column("ended_early", sa.Boolean(), nullable=False),
        sa.Column("end_reason", sa.Text(), nullable=False),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["declared_by_id"], ["user.id"], name=op.f("fk_share_emergency_declared_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["ended_by_id"], ["user.id"], name=op.f("fk_share_emergency_ended_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_emergency")),
    )
    with op.batch_alter_table("share_emergency", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_share_emergency_status"), ["status"], unique=False)

    op.create_table(
        "share_assessment_plan",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("next_due_on", sa.Date(), nullable=False),
        sa.Column("last_assessed_on", sa.Date(), nullable=True),
        sa.Column("reminded_for", sa.Date(), nullable=True),
        sa.Column("overdue_for", sa.Date(), nullable=True),
        sa.Column("updated_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["dataset.id"],
            name=op.f("fk_share_assessment_plan_dataset_id_dataset"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("dataset_id", name=op.f("pk_share_assessment_plan")),
    )
    with op.batch_alter_table("share_assessment_plan", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_share_assessment_plan_next_due_on"), ["next_due_on"], unique=False
        )

    op.create_table(
        "share_return_flow",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("field_name", sa.String(length=64), nullable=False),
        sa.Column("value_map", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.Column("created_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["dataset.id"],
            name=op.f("fk_share_return_flow_dataset_id_dataset"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["user.id"], name=op.f("fk_share_return_flow_updated_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_return_flow")),
        sa.UniqueConstraint("dataset_id", name=op.f("uq_share_return_flow_dataset_id")),
    )
    op.create_table(
        "share_assessment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "keep",
                "convert",
                name="assessment_outcome",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("next_due_on", sa.Date(), nullable=False),
        sa.Column("change_request_id", sa.Integer(), nullable=True),
        sa.Column("assessed_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessed_by_id"], ["user.id"], name=op.f("fk_share_assessment_assessed_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["change_request_id"],
            ["change_request.id"],
            name=op.f("fk_share_assessment_change_request_id_change_request"),
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["dataset.id"],
            name=op.f("fk_share_assessment_dataset_id_dataset"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_assessment")),
    )
    with op.batch_alter_table("share_assessment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_share_assessment_dataset_id"), ["dataset_id"], unique=False
        )

    op.create_table(
        "share_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("provider_agency_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "unconditional",
                "conditional",
                name="share_request_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "requested",
                "granted",
                "denied",
                "objected",
                "active",
                "expired",
                "revoked",
                name="share_request_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("scenario", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.Column("granted_fields", sa.JSON(), nullable=True),
        sa.Column("clear_fields", sa.JSON(), nullable=False),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("decided_at", gongshu.db.UTCDateTime(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("objection_reason", sa.Text(), nullable=False),
        sa.Column("objected_at", gongshu.db.UTCDateTime(), nullable=True),
        sa.Column("objected_by_id", sa.Integer(), nullable=True),
        sa.Column("arbitration_outcome", sa.String(length=16), nullable=False),
        sa.Column("arbitration_reason", sa.Text(), nullable=False),
        sa.Column("arbitrated_at", gongshu.db.UTCDateTime(), nullable=True),
        sa.Column("arbitrated_by_id", sa.Integer(), nullable=True),
        sa.Column("grant_id", sa.Integer(), nullable=True),
        sa.Column("ended_at", gongshu.db.UTCDateTime(), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=False),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_share_request_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["arbitrated_by_id"], ["user.id"], name=op.f("fk_share_request_arbitrated_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["dataset.id"],
            name=op.f("fk_share_request_dataset_id_dataset"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["user.id"], name=op.f("fk_share_request_decided_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["share_grant.id"], name=op.f("fk_share_request_grant_id_share_grant")
        ),
        sa.ForeignKeyConstraint(
            ["objected_by_id"], ["user.id"], name=op.f("fk_share_request_objected_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["provider_agency_id"],
            ["agency.id"],
            name=op.f("fk_share_request_provider_agency_id_agency"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["user.id"], name=op.f("fk_share_request_requested_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_request")),
    )
    with op.batch_alter_table("share_request", schema=None) as batch_op:
        batch_op.create_index(
            "ix_share_request_agency_status", ["agency_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_share_request_dataset_id"), ["dataset_id"], unique=False
        )
        batch_op.create_index(
            "ix_share_request_provider_status", ["provider_agency_id", "status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("share_request", schema=None) as batch_op:
        batch_op.drop_index("ix_share_request_provider_status")
        batch_op.drop_index(batch_op.f("ix_share_request_dataset_id"))
        batch_op.drop_index("ix_share_request_agency_status")

    op.drop_table("share_request")
    with op.batch_alter_table("share_assessment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_share_assessment_dataset_id"))

    op.drop_table("share_assessment")
    op.drop_table("share_return_flow")
    with op.batch_alter_table("share_assessment_plan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_share_assessment_plan_next_due_on"))

    op.drop_table("share_assessment_plan")
    with op.batch_alter_table("share_emergency", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_share_emergency_status"))

    op.drop_table("share_emergency")
