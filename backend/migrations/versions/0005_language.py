"""Tickets record the language of the complaint; conversations hold a language code, not a raw hint.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

Conversations had a `language` column since 0002, filled with Telegram's raw `language_code`
("zh-hans", "en-GB") of a first message. From now on it holds "zh" or "en" (backend.language), set
from every shipper message, so old values are folded to those codes; old rows without one, and every
old ticket, were English conversations.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.add_column(sa.Column("language", sa.String(length=8), nullable=True))
    op.execute("UPDATE ticket SET language = 'en' WHERE language IS NULL")
    op.execute("UPDATE conversation SET language = 'zh' WHERE lower(language) LIKE 'zh%'")
    op.execute("UPDATE conversation SET language = 'en' WHERE language IS NULL OR language <> 'zh'")


def downgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.drop_column("language")
