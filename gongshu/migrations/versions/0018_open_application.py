"""Public accounts and conditional opening: open applications, agreements, usage reports,
and the per-day call counter of API keys.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gongshu.db

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "public_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "individual",
                "organization",
                name="public_account_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("real_name", sa.String(length=100), nullable=False),
        sa.Column("org_name", sa.String(length=200), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("created_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_public_account_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_account")),
        sa.UniqueConstraint("user_id", name=op.f("uq_public_account_user_id")),
    )
    with op.batch_alter_table("public_account", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_public_account_credit_code"), ["credit_code"], unique=False
        )

    op.create_table(
        "api_key_usage",
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_key.id"],
            name=op.f("fk_api_key_usage_api_key_id_api_key"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("api_key_id", "day", name=op.f("pk_api_key_usage")),
    )
    op.create_table(
        "open_application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("provider_agency_id", sa.Integer(), nullable=False),
        sa.Column("applicant_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "pending",
                "active",
                "refused",
                "revoked",
                "expired",
                "withdrawn",
                name="open_application_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("scenario", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("security_measures", sa.Text(), nullable=False),
        sa.Column("requested_until", sa.Date(), nullable=False),
        sa.Column("reporting_committed", sa.Boolean(), nullable=False),
        sa.Column("agreement_text", sa.Text(), nullable=False),
        sa.Column("agreement_sha256", sa.String(length=64), nullable=False),
        sa.Column("accepted_at", gongshu.db.UTCDateTime(), nullable=True),
        sa.Column("submitted_at", gongshu.db.UTCDateTime(), nullable=True),
        sa.Column("approved_fields", sa.JSON(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("decided_at", gongshu.db.UTCDateTime(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("starts_at", gongshu.db.UTCDateTime(), nullable=True),
        sa.Column("expires_at", gongshu.db.UTCDateTime(), nullable=True),
        sa.Column("ended_at", gongshu.db.UTCDateTime(), nullable=True),
        sa.Column("ended_by_id", sa.Integer(), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=False),
        sa.Column("created_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["applicant_id"], ["user.id"], name=op.f("fk_open_application_applicant_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["dataset.id"],
            name=op.f("fk_open_application_dataset_id_dataset"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["user.id"], name=op.f("fk_open_application_decided_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["ended_by_id"], ["user.id"], name=op.f("fk_open_application_ended_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["provider_agency_id"],
            ["agency.id"],
            name=op.f("fk_open_application_provider_agency_id_agency"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open_application")),
    )
    with op.batch_alter_table("open_application", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_open_application_dataset_id"), ["dataset_id"], unique=False
        )
        batch_op.create_index(
            "ix_open_application_provider_status", ["provider_agency_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_open_application_reader", ["applicant_id", "dataset_id", "status"], unique=False
        )

    op.create_table(
        "open_usage_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "due",
                "overdue",
                "submitted",
                name="open_report_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("submitted_at", gongshu.db.UTCDateTime(), nullable=True),
        sa.Column("overdue_notified_at", gongshu.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["open_application.id"],
            name=op.f("fk_open_usage_report_application_id_open_application"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open_usage_report")),
    )
    with op.batch_alter_table("open_usage_report", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_open_usage_report_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index("ix_open_usage_report_status_due", ["status", "due_on"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("open_usage_report", schema=None) as batch_op:
        batch_op.drop_index("ix_open_usage_report_status_due")
        batch_op.drop_index(batch_op.f("ix_open_usage_report_application_id"))

    op.drop_table("open_usage_report")
    with op.batch_alter_table("open_application", schema=None) as batch_op:
        batch_op.drop_index("ix_open_application_reader")
        batch_op.drop_index("ix_open_application_provider_status")
        batch_op.drop_index(batch_op.f("ix_open_application_dataset_id"))

    op.drop_table("open_application")
    op.drop_table("api_key_usage")
    with op.batch_alter_table("public_account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_public_account_credit_code"))

    op.drop_table("public_account")
