"""Data governance: collections, items, authoritative sources, copies, consistency issues and
correction tickets (objections); the six base collections seeded.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gongshu.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BASE_COLLECTIONS = (
    ("population", "人口基础库"),
    ("legal_entity", "法人基础库"),
    ("geography", "自然资源和空间地理基础库"),
    ("licence", "电子证照基础库"),
    ("credit", "社会信用基础库"),
    ("economy", "宏观经济基础库"),
)


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _fk(
    table: str, column: str, target: str, ondelete: str | None = None
) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column], [target], name=op.f(f"fk_{table}_{column}_{referred}"), ondelete=ondelete
    )


def upgrade() -> None:
    collection = op.create_table(
        "governance_collection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", _enum("collection_kind", "base", "theme"), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_collection")),
        sa.UniqueConstraint("code", name=op.f("uq_governance_collection_code")),
        sa.UniqueConstraint("name", name=op.f("uq_governance_collection_name")),
    )
    op.create_table(
        "governance_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key_kind", _enum("key_kind", "citizen_id", "credit_code"), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", gongshu.db.UTCDateTime(), nullable=False),
        _fk("governance_item", "collection_id", "governance_collection.id"),
        _fk("governance_item", "created_by_id", "user.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_item")),
        sa.UniqueConstraint("collection_id", "name", name="uq_governance_item_name"),
    )
    op.create_index(
        op.f("ix_governance_item_collection_id"), "governance_item", ["collection_id"], unique=False
    )
    op.create_table(
        "governance_binding",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("field_name", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", gongshu.db.UTCDateTime(), nullable=False),
        _fk("governance_binding", "item_id", "governance_item.id", ondelete="CASCADE"),
        _fk("governance_binding", "dataset_id", "dataset.id"),
        _fk("governance_binding", "created_by_id", "user.id"),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_governance_binding")),
    )
    op.create_index(
        op.f("ix_governance_binding_dataset_id"), "governance_binding", ["dataset_id"], unique=False
    )
    op.create_table(
        "governance_copy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("field_name", sa.String(length=64), nullable=False),
        sa.Column("origin", _enum("copy_origin", "manual", "suggested"), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", gongshu.db.UTCDateTime(), nullable=False),
        _fk("governance_copy", "item_id", "governance_item.id", ondelete="CASCADE"),
        _fk("governance_copy", "dataset_id", "dataset.id"),
        _fk("governance_copy", "created_by_id", "user.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_copy")),
        sa.UniqueConstraint("item_id", "dataset_id", "field_name", name="uq_governance_copy_field"),
    )
    op.create_index(
        op.f("ix_governance_copy_dataset_id"), "governance_copy", ["dataset_id"], unique=False
    )
    op.create_table(
        "governance_issue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("source_dataset_id", sa.Integer(), nullable=False),
        sa.Column("copy_dataset_id", sa.Integer(), nullable=False),
        sa.Column("source_field", sa.String(length=64), nullable=False),
        sa.Column("copy_field", sa.String(length=64), nullable=False),
        sa.Column("key_value", sa.String(length=64), nullable=False),
        sa.Column("source_value", sa.Text(), nullable=False),
        sa.Column("copy_value", sa.Text(), nullable=False),
        sa.Column("source_version_id", sa.Integer(), nullable=True),
        sa.Column("copy_version_id", sa.Integer(), nullable=True),
        sa.Column("status", _enum("issue_status", "open", "resolved"), nullable=False),
        sa.Column("resolution", sa.String(length=16), nullable=False),
        sa.Column("opened_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.Column("resolved_at", gongshu.db.UTCDateTime(), nullable=True),
        sa.Column("times_opened", sa.Integer(), nullable=False),
        _fk("governance_issue", "item_id", "governance_item.id", ondelete="CASCADE"),
        _fk("governance_issue", "source_dataset_id", "dataset.id"),
        _fk("governance_issue", "copy_dataset_id", "dataset.id"),
        _fk("governance_issue", "source_version_id", "dataset_version.id"),
        _fk("governance_issue", "copy_version_id", "dataset_version.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_issue")),
        sa.UniqueConstraint(
            "copy_dataset_id", "item_id", "key_value", name="uq_governance_issue_key"
        ),
    )
    op.create_index(
        "ix_governance_issue_status", "governance_issue", ["status", "item_id"], unique=False
    )
    op.create_index(
        op.f("ix_governance_issue_source_dataset_id"),
        "governance_issue",
        ["source_dataset_id"],
        unique=False,
    )
    op.create_table(
        "objection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", _enum("objection_kind", "correction"), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("key_field", sa.String(length=64), nullable=False),
        sa.Column("key_value", sa.String(length=200), nullable=False),
        sa.Column("field_name", sa.String(length=64), nullable=False),
        sa.Column("seen_value", sa.Text(), nullable=False),
        sa.Column("proposed_value", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("seen_version_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            _enum("objection_status", "open", "accepted", "rejected", "fixed"),
            nullable=False,
        ),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("answered_at", gongshu.db.UTCDateTime(), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("fixed_version_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", gongshu.db.UTCDateTime(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("reporter_agency_id", sa.Integer(), nullable=True),
        sa.Column("created_at", gongshu.db.UTCDateTime(), nullable=False),
        _fk("objection", "dataset_id", "dataset.id"),
        _fk("objection", "agency_id", "agency.id"),
        _fk("objection", "seen_version_id", "dataset_version.id"),
        _fk("objection", "answered_by_id", "user.id"),
        _fk("objection", "fixed_version_id", "dataset_version.id"),
        _fk("objection", "created_by_id", "user.id"),
        _fk("objection", "reporter_agency_id", "agency.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objection")),
    )
    op.create_index(op.f("ix_objection_dataset_id"), "objection", ["dataset_id"], unique=False)
    op.create_index(
        "ix_objection_agency_status", "objection", ["agency_id", "status"], unique=False
    )
    now = dt.datetime.now(dt.UTC)
    op.bulk_insert(
        collection,
        [
            {"code": code, "name": name, "kind": "base", "description": "", "created_at": now}
            for code, name in BASE_COLLECTIONS
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_objection_agency_status", table_name="objection")
    op.drop_index(op.f("ix_objection_dataset_id"), table_name="objection")
    op.drop_table("objection")
    op.drop_index(op.f("ix_governance_issue_source_dataset_id"), table_name="governance_issue")
    op.drop_index("ix_governance_issue_status", table_name="governance_issue")
    op.drop_table("governance_issue")
    op.drop_index(op.f("ix_governance_copy_dataset_id"), table_name="governance_copy")
    op.drop_table("governance_copy")
    op.drop_index(op.f("ix_governance_binding_dataset_id"), table_name="governance_binding")
    op.drop_table("governance_binding")
    op.drop_index(op.f("ix_governance_item_collection_id"), table_name="governance_item")
    op.drop_table("governance_item")
    op.drop_table("governance_collection")
