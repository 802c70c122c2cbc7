"""Customer classes computed from the data (ABC analysis) or pinned; periodic jobs claimed per period.

Revision ID: 0013_customer_class
Revises: 0012_integration
Create Date: 2026-12-03

`customer` gains what its class rests on: the computed class, the pinned class (who pinned it and when), and
the last computation's revenue, cumulative share, time and source; `customer_class` stays the class
everyone reads (pinned, else computed). The classes already stored came from outside (the demo seed, the
carrier's systems), so they become pins by "carrier": nothing changes until someone removes the pin.
`scheduled_job_run` holds one row per (job, period): inserting it is how one backend process claims the
monthly recomputation.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_customer_class"
down_revision: str | None = "0012_integration"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customer") as batch:
        batch.add_column(sa.Column("computed_class", sa.String(length=1), nullable=True))
        batch.add_column(sa.Column("pinned_class", sa.String(length=1), nullable=True))
        batch.add_column(sa.Column("pinned_by", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("pinned_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("class_revenue", sa.Numeric(precision=12, scale=2), nullable=True))
        batch.add_column(sa.Column("class_share", sa.Float(), nullable=True))
        batch.add_column(sa.Column("class_computed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("class_computed_by", sa.String(length=100), nullable=True))
    op.execute(
        "UPDATE customer SET pinned_class = customer_class, pinned_by = 'carrier', pinned_at = created_at "
        "WHERE customer_class IS NOT NULL"
    )
    op.create_table(
        "scheduled_job_run",
        sa.Column("job", sa.String(length=50), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("job", "period", name=op.f("pk_scheduled_job_run")),
    )


def downgrade() -> None:
    op.drop_table("scheduled_job_run")
    with op.batch_alter_table("customer") as batch:
        for column in (
            "class_computed_by",
            "class_computed_at",
            "class_share",
            "class_revenue",
            "pinned_at",
            "pinned_by",
            "pinned_class",
            "computed_class",
        ):
            batch.drop_column(column)
