"""Telegram updates are stored before the webhook answers 200; outbound messages keep a delivery error.

Revision ID: 0011_telegram_inbox
Revises: 0010_durable_turns
Create Date: 2026-12-03

`telegram_update` holds each webhook update (its bot and update_id as the key, so a redelivery changes
nothing) until the hub has taken it; a process that died with it in hand leaves it unprocessed and
another feeds it again once its lease has run out. `message.delivery_error` says why a channel could
not deliver an outbound message in the end (the console marks it "not delivered").
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011_telegram_inbox"
down_revision: str | None = "0010_durable_turns"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "telegram_update",
        sa.Column("bot_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("bot_id", "update_id", name=op.f("pk_telegram_update")),
    )
    op.create_index(
        "ix_telegram_update_pending", "telegram_update", ["processed_at", "claimed_at"], unique=False
    )
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("delivery_error", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.drop_column("delivery_error")
    op.drop_index("ix_telegram_update_pending", table_name="telegram_update")
    op.drop_table("telegram_update")
