"""Tickets keep the offered and the agreed remedy as a code and its facts, beside their English text.

Revision ID: 0009_remedy_facts
Revises: 0008_canned_replies
Create Date: 2026-12-03

`remedy_offered_facts` and `agreed_resolution_facts` hold the bot's remedy as JSON (its code, the
catalog phrase with its values, the amount), so each reader reads it in their own language; the text
columns keep the English rendering for the API and other tools. NULL: a resolution an agent typed, or
one stored before this revision; it is shown as written.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009_remedy_facts"
down_revision: str | None = "0008_canned_replies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.add_column(sa.Column("remedy_offered_facts", JSON, nullable=True))
        batch.add_column(sa.Column("agreed_resolution_facts", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.drop_column("agreed_resolution_facts")
        batch.drop_column("remedy_offered_facts")
