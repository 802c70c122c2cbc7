"""Integration tokens for the carrier's systems; tracking scans keep the carrier's event id and status.

Revision ID: 0012_integration
Revises: 0011_telegram_inbox
Create Date: 2026-12-03

`integration_token` holds a SHA-256 of each token (never the token), its scopes and when it was made,
last used and revoked. `shipment_event.event_id` is the carrier's id of a scan, unique per shipment so a
replayed or raced event is stored once; `shipment_event.status` is the shipment status that scan reported,
so an older scan arriving late cannot overwrite the status a newer one set.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_integration"
down_revision: str | None = "0011_telegram_inbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "integration_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_token")),
        sa.UniqueConstraint("name", name=op.f("uq_integration_token_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_integration_token_token_hash")),
    )
    with op.batch_alter_table("shipment_event") as batch:
        batch.add_column(sa.Column("event_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("status", sa.String(length=32), nullable=True))
        batch.create_unique_constraint("uq_shipment_event_shipment_id_event_id", ["shipment_id", "event_id"])


def downgrade() -> None:
    with op.batch_alter_table("shipment_event") as batch:
        batch.drop_constraint("uq_shipment_event_shipment_id_event_id", type_="unique")
        batch.drop_column("status")
        batch.drop_column("event_id")
    op.drop_table("integration_token")
