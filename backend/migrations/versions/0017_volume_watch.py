"""The weekly volume watch: customers whose week fell well below their own trailing weeks.

Revision ID: 0017_volume_watch
Revises: 0016_ownership
Create Date: 2026-12-03

`volume_flag` holds one row per (customer, ISO week) the watch flagged, with the figures it saw and
whether an agent has handled it (who, when, what the customer said).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_volume_watch"
down_revision: str | None = "0016_ownership"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "volume_flag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=16), nullable=False),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("week_count", sa.Integer(), nullable=False),
        sa.Column("week_freight", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("trailing_weeks", sa.Integer(), nullable=False),
        sa.Column("trailing_mean", sa.Float(), nullable=False),
        sa.Column("drop_share", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("handled_by", sa.String(length=100), nullable=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_volume_flag_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volume_flag")),
        sa.UniqueConstraint("customer_id", "week", name=op.f("uq_volume_flag_customer_id_week")),
    )
    op.create_index(op.f("ix_volume_flag_customer_id"), "volume_flag", ["customer_id"])
    op.create_index(op.f("ix_volume_flag_status"), "volume_flag", ["status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_volume_flag_status"), table_name="volume_flag")
    op.drop_index(op.f("ix_volume_flag_customer_id"), table_name="volume_flag")
    op.drop_table("volume_flag")
