"""Validation rules on catalog fields (信息项校验规则): identifier check, allowed values,
range and pattern, which ingestion checks uploaded rows against.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Server defaults fill the rows of fields that exist already: no rules.
    with op.batch_alter_table("dataset_field", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("identifier", sa.String(length=32), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("choices", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("min_value", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("max_value", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("pattern", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dataset_field", schema=None) as batch_op:
        batch_op.drop_column("pattern")
        batch_op.drop_column("max_value")
        batch_op.drop_column("min_value")
        batch_op.drop_column("choices")
        batch_op.drop_column("identifier")
