"""Customer owners: each customer has an agent who looks after them, and is offered their escalations first.

Revision ID: 0016_ownership
Revises: 0015_notices
Create Date: 2026-12-03

`customer` gains `owner` (the agent's username, indexed: "my customers") and `owner_since`; `agent` gains
`away` (the console's toggle); `conversation` gains `offered_to` / `offered_at` (the owner a queued
conversation is offered to first, and since when) and `offer_expired_at` (when the offer's expiry was
recorded). Nobody owns anything after the upgrade: a supervisor assigns or balances.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_ownership"
down_revision: str | None = "0015_notices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customer") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("owner_since", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(batch.f("ix_customer_owner"), ["owner"], unique=False)
    with op.batch_alter_table("agent") as batch:
        batch.add_column(sa.Column("away", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("conversation") as batch:
        batch.add_column(sa.Column("offered_to", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("offered_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("offer_expired_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversation") as batch:
        for column in ("offer_expired_at", "offered_at", "offered_to"):
            batch.drop_column(column)
    with op.batch_alter_table("agent") as batch:
        batch.drop_column("away")
    with op.batch_alter_table("customer") as batch:
        batch.drop_index(batch.f("ix_customer_owner"))
        batch.drop_column("owner_since")
        batch.drop_column("owner")
