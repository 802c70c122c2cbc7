"""Initial schema: customers, shipments, conversations, messages, tickets, audit, agents.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent")),
        sa.UniqueConstraint("username", name=op.f("uq_agent_username")),
    )
    op.create_table(
        "customer",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("customer_class", sa.String(length=1), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer")),
    )
    op.create_index(op.f("ix_customer_phone"), "customer", ["phone"], unique=False)

    op.create_table(
        "conversation",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=160), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=16), nullable=True),
        sa.Column("handoff_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_conversation_customer_id_customer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation")),
    )
    op.create_table(
        "shipment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("waybill", sa.String(length=13), nullable=False),
        sa.Column("customer_id", sa.String(length=16), nullable=False),
        sa.Column("origin", sa.String(length=100), nullable=False),
        sa.Column("destination", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("promised_date", sa.Date(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_by", sa.String(length=100), nullable=True),
        sa.Column("signer_is_recipient", sa.Boolean(), nullable=True),
        sa.Column("delay_reason", sa.Text(), nullable=True),
        sa.Column("exception_reason", sa.Text(), nullable=True),
        sa.Column("force_majeure", sa.Boolean(), nullable=False),
        sa.Column("declared_value", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("declared_weight_kg", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("charged_weight_kg", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("quoted_amount", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("charged_amount", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("freight_amount", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("goods_description", sa.String(length=200), nullable=True),
        sa.Column("pickup_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("courier_note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_shipment_customer_id_customer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment")),
        sa.UniqueConstraint("waybill", name=op.f("uq_shipment_waybill")),
    )
    op.create_index(op.f("ix_shipment_customer_id"), "shipment", ["customer_id"], unique=False)

    op.create_table(
        "ticket",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=200), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("customer_id", sa.String(length=16), nullable=True),
        sa.Column("waybill", sa.String(length=13), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("level", sa.String(length=16), nullable=True),
        sa.Column("priority", sa.String(length=2), nullable=True),
        sa.Column("responsibility", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("customer_wants", sa.Text(), nullable=True),
        sa.Column("incident_when", sa.String(length=200), nullable=True),
        sa.Column("extent", sa.Text(), nullable=True),
        sa.Column("declared_value", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("photo_status", sa.String(length=16), nullable=True),
        sa.Column("remedy_offered", sa.Text(), nullable=True),
        sa.Column("agreed_resolution", sa.Text(), nullable=True),
        sa.Column("stage_reached", sa.String(length=16), nullable=True),
        sa.Column("contact_phone", sa.String(length=20), nullable=True),
        sa.Column("recorded_by", sa.String(length=100), nullable=True),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("satisfaction_comment", sa.Text(), nullable=True),
        sa.Column("sla_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_ticket_customer_id_customer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_ticket_idempotency_key")),
        sa.UniqueConstraint("number", name=op.f("uq_ticket_number")),
    )
    op.create_index(op.f("ix_ticket_conversation_id"), "ticket", ["conversation_id"], unique=False)
    op.create_index(op.f("ix_ticket_created_at"), "ticket", ["created_at"], unique=False)
    op.create_index(op.f("ix_ticket_customer_id"), "ticket", ["customer_id"], unique=False)
    op.create_index(op.f("ix_ticket_status"), "ticket", ["status"], unique=False)
    op.create_index(op.f("ix_ticket_waybill"), "ticket", ["waybill"], unique=False)

    op.create_table(
        "message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=200), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("sender", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("channel_message_id", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_message_conversation_id_conversation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message")),
        sa.UniqueConstraint(
            "conversation_id",
            "direction",
            "channel_message_id",
            name=op.f("uq_message_conversation_id_direction_channel_message_id"),
        ),
    )
    op.create_index(op.f("ix_message_conversation_id"), "message", ["conversation_id"], unique=False)

    op.create_table(
        "shipment_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shipment_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("location", sa.String(length=100), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("force_majeure", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["shipment.id"],
            name=op.f("fk_shipment_event_shipment_id_shipment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_event")),
    )
    op.create_index(
        "ix_shipment_event_shipment_id_occurred_at",
        "shipment_event",
        ["shipment_id", "occurred_at"],
        unique=False,
    )

    op.create_table(
        "ticket_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=50), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=True),
        sa.Column("data", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name=op.f("fk_ticket_event_ticket_id_ticket")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_event")),
    )
    op.create_index(op.f("ix_ticket_event_ticket_id"), "ticket_event", ["ticket_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_ticket_event_ticket_id"), table_name="ticket_event")

    op.drop_table("ticket_event")
    op.drop_index("ix_shipment_event_shipment_id_occurred_at", table_name="shipment_event")

    op.drop_table("shipment_event")
    op.drop_index(op.f("ix_message_conversation_id"), table_name="message")

    op.drop_table("message")
    op.drop_index(op.f("ix_ticket_waybill"), table_name="ticket")
    op.drop_index(op.f("ix_ticket_status"), table_name="ticket")
    op.drop_index(op.f("ix_ticket_customer_id"), table_name="ticket")
    op.drop_index(op.f("ix_ticket_created_at"), table_name="ticket")
    op.drop_index(op.f("ix_ticket_conversation_id"), table_name="ticket")

    op.drop_table("ticket")
    op.drop_index(op.f("ix_shipment_customer_id"), table_name="shipment")

    op.drop_table("shipment")
    op.drop_table("conversation")
    op.drop_index(op.f("ix_customer_phone"), table_name="customer")

    op.drop_table("customer")
    op.drop_table("agent")
