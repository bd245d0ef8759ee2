"""Audit checkpoints (signed Merkle roots); searchable columns and hash version 2 on entries.

Existing entries keep hash version 1 and get ``dataset_id``, ``result`` and ``rows``
derived from their hashed content (the rule ``gongshu.audit.chain.derive`` states, frozen
here), so ``gongshu audit verify`` still accepts them. The single-column indexes on
action, actor and agency become (column, seq) indexes for newest-first keyset pages.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import gongshu.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MAX_DATASET_ID = 2**31 - 1


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _derive(
    action: str, object_type: str, object_id: str, changes: Any
) -> tuple[int | None, str, int | None]:
    changes = changes if isinstance(changes, dict) else {}
    dataset_id: int | None = None
    if object_type == "dataset" and object_id.isascii() and object_id.isdigit():
        dataset_id = int(object_id)
    if dataset_id is None or not 0 < dataset_id <= _MAX_DATASET_ID:
        dataset_id = _int_or_none(changes.get("dataset_id"))
    if dataset_id is not None and not 0 < dataset_id <= _MAX_DATASET_ID:
        dataset_id = None
    result = ""
    if action.startswith("data."):
        result = "denied" if action == "data.denied" else "allowed"
    stated = changes.get("result")
    if isinstance(stated, str) and stated in ("allowed", "denied"):
        result = stated
    return dataset_id, result, _int_or_none(changes.get("rows"))


def _backfill() -> None:
    conn = op.get_bind()
    entry = sa.table(
        "audit_entry",
        sa.column("id", sa.Integer()),
        sa.column("action", sa.String()),
        sa.column("object_type", sa.String()),
        sa.column("object_id", sa.String()),
        sa.column("changes", sa.Text()),
        sa.column("dataset_id", sa.Integer()),
        sa.column("result", sa.String()),
        sa.column("rows", sa.Integer()),
    )
    last = 0
    while True:
        batch = conn.execute(
            sa.select(
                entry.c.id,
                entry.c.action,
                entry.c.object_type,
                entry.c.object_id,
                sa.cast(entry.c.changes, sa.Text()),
            )
            .where(entry.c.id > last)
            .order_by(entry.c.id)
            .limit(5000)
        ).all()
        if not batch:
            return
        updates = []
        for id_, action, object_type, object_id, changes in batch:
            dataset_id, result, rows = _derive(action, object_type, object_id, json.loads(changes))
            if dataset_id is not None or result or rows is not None:
                updates.append({"b_id": id_, "d": dataset_id, "r": result, "n": rows})
        if updates:
            conn.execute(
                entry.update()
                .where(entry.c.id == sa.bindparam("b_id"))
                .values(
                    dataset_id=sa.bindparam("d"), result=sa.bindparam("r"), rows=sa.bindparam("n")
                ),
                updates,
            )
        last = batch[-1][0]


def upgrade() -> None:
    op.create_table(
        "audit_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq_from", sa.Integer(), nullable=False),
        sa.Column("seq_to", sa.Integer(), nullable=False),
        sa.Column("tree_size", sa.Integer(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.Column("suite", sa.String(length=32), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=128), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("signed_at", sa.String(length=40), nullable=False),
        sa.Column("frontier", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoint")),
        sa.UniqueConstraint("tree_size", name=op.f("uq_audit_checkpoint_tree_size")),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "hash_version", sa.SmallInteger(), server_default=sa.text("1"), nullable=False
            )
        )
        batch_op.add_column(sa.Column("dataset_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("result", sa.String(length=16), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("rows", sa.Integer(), nullable=True))
        batch_op.drop_index(batch_op.f("ix_audit_entry_action"))
        batch_op.drop_index(batch_op.f("ix_audit_entry_actor_id"))
        batch_op.drop_index(batch_op.f("ix_audit_entry_agency_id"))
    _backfill()
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index("ix_audit_entry_action_seq", ["action", "seq"], unique=False)
        batch_op.create_index("ix_audit_entry_actor_seq", ["actor_id", "seq"], unique=False)
        batch_op.create_index("ix_audit_entry_agency_seq", ["agency_id", "seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entry_at"), ["at"], unique=False)
        batch_op.create_index("ix_audit_entry_dataset_seq", ["dataset_id", "seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entry_dataset_seq")
        batch_op.drop_index(batch_op.f("ix_audit_entry_at"))
        batch_op.drop_index("ix_audit_entry_agency_seq")
        batch_op.drop_index("ix_audit_entry_actor_seq")
        batch_op.drop_index("ix_audit_entry_action_seq")
        batch_op.create_index(batch_op.f("ix_audit_entry_agency_id"), ["agency_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entry_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entry_action"), ["action"], unique=False)
        batch_op.drop_column("rows")
        batch_op.drop_column("result")
        batch_op.drop_column("dataset_id")
        batch_op.drop_column("hash_version")

    op.drop_table("audit_checkpoint")
