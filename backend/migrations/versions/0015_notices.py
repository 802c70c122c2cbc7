"""Proactive notices: who asked about which waybill, the notices, their deliveries, opt-outs, the cursor.

Revision ID: 0015_notices
Revises: 0012_integration
Create Date: 2026-12-03

`shipment_inquiry` is one row per (conversation, waybill) with the last time the bot looked it up there;
`notice` is one row per (shipment, kind), so a kind is noticed at most once; `notice_delivery` is that
notice for one conversation (its text, when it is due, whether it was sent, deferred, held for an agent,
stopped or dismissed); `notice_opt_out` lists the conversations that said "stop updates";
`notice_cursor` is how far the watch has read `shipment_event`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_notices"
down_revision: str | None = "0014_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "shipment_inquiry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=200), nullable=False),
        sa.Column("waybill", sa.String(length=13), nullable=False),
        sa.Column("last_asked_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_shipment_inquiry_conversation_id_conversation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_inquiry")),
        sa.UniqueConstraint(
            "conversation_id", "waybill", name=op.f("uq_shipment_inquiry_conversation_id_waybill")
        ),
    )
    op.create_index(
        "ix_shipment_inquiry_waybill_last_asked_at", "shipment_inquiry", ["waybill", "last_asked_at"]
    )
    op.create_table(
        "notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shipment_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("shipment_event_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipment.id"], name=op.f("fk_notice_shipment_id_shipment"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["shipment_event_id"],
            ["shipment_event.id"],
            name=op.f("fk_notice_shipment_event_id_shipment_event"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice")),
        sa.UniqueConstraint("shipment_id", "kind", name=op.f("uq_notice_shipment_id_kind")),
    )
    op.create_table(
        "notice_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("due_at", TZ, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("decided_at", TZ, nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["notice.id"], name=op.f("fk_notice_delivery_notice_id_notice"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_notice_delivery_conversation_id_conversation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_delivery")),
        sa.UniqueConstraint(
            "notice_id", "conversation_id", name=op.f("uq_notice_delivery_notice_id_conversation_id")
        ),
    )
    op.create_index("ix_notice_delivery_status_due_at", "notice_delivery", ["status", "due_at"])
    op.create_index(
        "ix_notice_delivery_conversation_id_status", "notice_delivery", ["conversation_id", "status"]
    )
    op.create_table(
        "notice_opt_out",
        sa.Column("conversation_id", sa.String(length=200), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_notice_opt_out_conversation_id_conversation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_notice_opt_out")),
    )
    op.create_table(
        "notice_cursor",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_notice_cursor")),
    )


def downgrade() -> None:
    op.drop_table("notice_cursor")
    op.drop_table("notice_opt_out")
    op.drop_index("ix_notice_delivery_conversation_id_status", table_name="notice_delivery")
    op.drop_index("ix_notice_delivery_status_due_at", table_name="notice_delivery")
    op.drop_table("notice_delivery")
    op.drop_table("notice")
    op.drop_index("ix_shipment_inquiry_waybill_last_asked_at", table_name="shipment_inquiry")
    op.drop_table("shipment_inquiry")
