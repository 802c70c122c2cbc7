"""Console access and service levels: sessions, login attempts, audit events, SLA times on tickets.

Agents' scrypt hashes are retired: such accounts (the old seeded `agent` and `supervisor` shared one
published demo password) can no longer log in until someone sets a password with
`python -m backend set-password NAME`.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
UNUSABLE_HASH = "!unusable"


def upgrade() -> None:
    op.execute(
        sa.text("UPDATE agent SET password_hash = :unusable WHERE password_hash LIKE 'scrypt$%'").bindparams(
            unusable=UNUSABLE_HASH
        )
    )

    with op.batch_alter_table("ticket") as batch:
        batch.add_column(sa.Column("resolution_due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("first_responded_at", sa.DateTime(timezone=True), nullable=True))
    # DOMAIN.md gives one target for first response and resolution: existing tickets get the same time.
    op.execute("UPDATE ticket SET resolution_due_at = sla_due_at WHERE resolution_due_at IS NULL")

    op.create_table(
        "console_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"], name=op.f("fk_console_session_agent_id_agent")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_session")),
    )
    op.create_index(op.f("ix_console_session_agent_id"), "console_session", ["agent_id"], unique=False)
    op.create_index(op.f("ix_console_session_expires_at"), "console_session", ["expires_at"], unique=False)

    op.create_table(
        "login_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempt")),
    )
    op.create_index("ix_login_attempt_username_at", "login_attempt", ["username", "at"], unique=False)
    op.create_index("ix_login_attempt_client_ip_at", "login_attempt", ["client_ip", "at"], unique=False)

    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=50), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("conversation_id", sa.String(length=200), nullable=True),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.Column("data", JSON, nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"], name=op.f("fk_audit_event_agent_id_agent")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    op.create_index(op.f("ix_audit_event_at"), "audit_event", ["at"], unique=False)
    op.create_index(op.f("ix_audit_event_actor"), "audit_event", ["actor"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_event_actor"), table_name="audit_event")
    op.drop_index(op.f("ix_audit_event_at"), table_name="audit_event")
    op.drop_table("audit_event")
    op.drop_index("ix_login_attempt_client_ip_at", table_name="login_attempt")
    op.drop_index("ix_login_attempt_username_at", table_name="login_attempt")
    op.drop_table("login_attempt")
    op.drop_index(op.f("ix_console_session_expires_at"), table_name="console_session")
    op.drop_index(op.f("ix_console_session_agent_id"), table_name="console_session")
    op.drop_table("console_session")
    with op.batch_alter_table("ticket") as batch:
        batch.drop_column("first_responded_at")
        batch.drop_column("resolution_due_at")
    # argon2 hashes stay: 0002's code cannot read them, so those accounts need a new password there.
