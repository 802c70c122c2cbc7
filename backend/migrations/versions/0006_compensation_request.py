"""Compensation above the agent's limit becomes a request that waits for a supervisor's decision.

Revision ID: 0006_compensation_request
Revises: 0005
Create Date: 2026-12-03

Until now a request was only a ticket_event (`compensation_approval_requested`) and a supervisor
approved "the newest" of them; a request is now a row with an id, an amount and a status, so a decision
names exactly what it decides. Old requests that nobody approved are carried over as waiting requests.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_compensation_request"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "compensation_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("amount_cny", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_compensation_request_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compensation_request")),
    )
    op.create_index(
        op.f("ix_compensation_request_ticket_id"), "compensation_request", ["ticket_id"], unique=False
    )
    op.create_index(op.f("ix_compensation_request_status"), "compensation_request", ["status"], unique=False)
    op.create_index(
        "uq_compensation_request_one_pending",
        "compensation_request",
        ["ticket_id"],
        unique=True,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    _carry_over_old_requests()


def _carry_over_old_requests() -> None:
    """The newest unapproved `compensation_approval_requested` event of each ticket becomes a waiting row."""
    bind = op.get_bind()
    events = bind.execute(
        sa.text(
            "SELECT ticket_id, actor, at, action, data FROM ticket_event "
            "WHERE action IN ('compensation_approval_requested', 'compensation_approved') ORDER BY id"
        )
    ).all()
    waiting: dict[int, tuple[str, object, object]] = {}  # ticket -> (actor, at, amount)
    for ticket_id, actor, at, action, data in events:
        if action == "compensation_approved":
            waiting.pop(ticket_id, None)
            continue
        if isinstance(data, str):
            data = json.loads(data)
        amount = (data or {}).get("compensation_cny")
        if amount is not None:
            waiting[ticket_id] = (actor, at, amount)
    # Plain SQL: the times go back as they were read (text on SQLite, timestamps on PostgreSQL).
    for ticket_id, (actor, at, amount) in waiting.items():
        bind.execute(
            sa.text(
                "INSERT INTO compensation_request (ticket_id, amount_cny, status, requested_by, "
                "requested_at, changed_at) VALUES (:ticket_id, CAST(:amount AS NUMERIC(12, 2)), 'pending', "
                ":actor, :at, :at)"
            ),
            {"ticket_id": ticket_id, "amount": str(amount), "actor": actor, "at": at},
        )


def downgrade() -> None:
    op.drop_index("uq_compensation_request_one_pending", table_name="compensation_request")
    op.drop_index(op.f("ix_compensation_request_status"), table_name="compensation_request")
    op.drop_index(op.f("ix_compensation_request_ticket_id"), table_name="compensation_request")
    op.drop_table("compensation_request")
