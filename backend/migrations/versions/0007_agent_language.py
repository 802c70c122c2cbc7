"""Each agent reads the console in a language of their own choice.

Revision ID: 0007_agent_language
Revises: 0006_compensation_request
Create Date: 2026-12-03

`agent.language` is "zh" or "en" once the agent picks one; NULL means "follow the browser" (its
Accept-Language, then the carrier's CONSOLE_LANGUAGE), so existing agents keep working unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_agent_language"
down_revision: str | None = "0006_compensation_request"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agent") as batch:
        batch.add_column(sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agent") as batch:
        batch.drop_column("language")
