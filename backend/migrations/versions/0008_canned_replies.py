"""Canned replies (快捷回复), and the name of the person who wrote each agent message.

Revision ID: 0008_canned_replies
Revises: 0007_agent_language
Create Date: 2026-12-03

`canned_reply` holds the agents' ready-made answers: shared ones (owner NULL, kept by supervisors) and
each agent's own (owner = username), each in one language with a short code ("/delay") and a body with
{waybill} {ticket} {due} {customer} {agent} filled in when it is used. `message.author` is the display
name the shipper saw on an agent's message ("Li Wei"), kept so the transcript still says who wrote it
after the conversation changes hands; older messages keep NULL and read as "customer service".
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_canned_replies"
down_revision: str | None = "0007_agent_language"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("author", sa.String(length=100), nullable=True))
    op.create_table(
        "canned_reply",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_canned_reply_owner", "canned_reply", ["owner"])


def downgrade() -> None:
    op.drop_index("ix_canned_reply_owner", table_name="canned_reply")
    op.drop_table("canned_reply")
    with op.batch_alter_table("message") as batch:
        batch.drop_column("author")
