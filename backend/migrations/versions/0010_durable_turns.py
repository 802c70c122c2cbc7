"""A shipper's message records its turn: state, lease, attempts and the plan to answer it.

Revision ID: 0010_durable_turns
Revises: 0009_remedy_facts
Create Date: 2026-12-03

A message stored just before a crash used to stay unanswered for ever (its resend was a duplicate).
Now each inbound message moves received -> with_bot -> answered (or failed, shown to agents); a turn
left with_bot past `turn_lease_until` is taken up again by a replay or the backend's sweeper. Messages
stored before this revision have no turn (NULL) and are never taken up.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010_durable_turns"
down_revision: str | None = "0009_remedy_facts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("turn_state", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("turn_lease_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("turn_attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("turn_plan", JSON, nullable=True))
        batch.create_index("ix_message_turn", ["turn_state", "turn_lease_until"])


def downgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.drop_index("ix_message_turn")
        batch.drop_column("turn_plan")
        batch.drop_column("turn_attempts")
        batch.drop_column("turn_lease_until")
        batch.drop_column("turn_state")
