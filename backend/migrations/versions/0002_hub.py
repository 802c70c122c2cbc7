"""The channels hub: who holds a conversation, verified identity, buttons on messages, attachments.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("conversation") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("verified_customer_id", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("language", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("waiting_notice_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(
            op.f("fk_conversation_verified_customer_id_customer"),
            "customer",
            ["verified_customer_id"],
            ["id"],
        )
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("buttons", JSON, nullable=True))
    # The transcript names the person on the other side of the counter as the design does: shipper.
    op.execute("UPDATE message SET sender = 'shipper' WHERE sender = 'customer'")

    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=200), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_attachment_conversation_id_conversation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name=op.f("fk_attachment_message_id_message"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name=op.f("fk_attachment_ticket_id_ticket")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachment")),
    )
    op.create_index(op.f("ix_attachment_conversation_id"), "attachment", ["conversation_id"], unique=False)
    op.create_index(op.f("ix_attachment_ticket_id"), "attachment", ["ticket_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_attachment_ticket_id"), table_name="attachment")
    op.drop_index(op.f("ix_attachment_conversation_id"), table_name="attachment")
    op.drop_table("attachment")
    op.execute("UPDATE message SET sender = 'customer' WHERE sender = 'shipper'")
    with op.batch_alter_table("message") as batch:
        batch.drop_column("buttons")
    with op.batch_alter_table("conversation") as batch:
        batch.drop_constraint(op.f("fk_conversation_verified_customer_id_customer"), type_="foreignkey")
        batch.drop_column("waiting_notice_at")
        batch.drop_column("language")
        batch.drop_column("verified_customer_id")
        batch.drop_column("owner")
