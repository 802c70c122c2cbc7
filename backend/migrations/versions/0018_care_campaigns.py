"""Care campaigns and the follow-up record (seed 001, 2.1–2.4).

Revision ID: 0018_care_campaigns
Revises: 0017_volume_watch
Create Date: 2026-12-04

`care_campaign` is a supervisor's campaign (audience, channel, period); `care_target` one customer on
its list for one period (unique per campaign, customer and period); `follow_up_record` every call an
agent made and every answer the bot took (回访记录表).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_care_campaigns"
down_revision: str | None = "0017_volume_watch"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "care_campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("classes", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("volume_drop", sa.Boolean(), nullable=False),
        sa.Column("not_contacted_days", sa.Integer(), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("closed_by", sa.String(length=100), nullable=True),
        sa.Column("closed_at", MOMENT, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_campaign")),
    )
    op.create_index(op.f("ix_care_campaign_status"), "care_campaign", ["status"])
    op.create_table(
        "care_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=16), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=True),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("conversation_id", sa.String(length=200), nullable=True),
        sa.Column("sent_at", MOMENT, nullable=True),
        sa.Column("answered_at", MOMENT, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("updated_at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["care_campaign.id"],
            name=op.f("fk_care_target_campaign_id_care_campaign"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_care_target_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_care_target_conversation_id_conversation"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_target")),
        sa.UniqueConstraint(
            "campaign_id", "customer_id", "period", name="uq_care_target_campaign_id_customer_id_period"
        ),
    )
    op.create_index(op.f("ix_care_target_campaign_id"), "care_target", ["campaign_id"])
    op.create_index(op.f("ix_care_target_customer_id"), "care_target", ["customer_id"])
    op.create_index(op.f("ix_care_target_agent"), "care_target", ["agent"])
    op.create_index(op.f("ix_care_target_conversation_id"), "care_target", ["conversation_id"])
    op.create_index("ix_care_target_status_period", "care_target", ["status", "period"])
    op.create_table(
        "follow_up_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=16), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("made_at", MOMENT, nullable=False),
        sa.Column("made_by", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("reached", sa.Boolean(), nullable=False),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("suggestions", sa.Text(), nullable=True),
        sa.Column("volume_reason", sa.Text(), nullable=True),
        sa.Column("plans", sa.Text(), nullable=True),
        sa.Column("next_step", sa.Text(), nullable=True),
        sa.Column("next_step_done_at", MOMENT, nullable=True),
        sa.Column("next_step_done_by", sa.String(length=100), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_follow_up_record_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["care_campaign.id"],
            name=op.f("fk_follow_up_record_campaign_id_care_campaign"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["care_target.id"],
            name=op.f("fk_follow_up_record_target_id_care_target"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_record")),
    )
    op.create_index(op.f("ix_follow_up_record_customer_id"), "follow_up_record", ["customer_id"])
    op.create_index(op.f("ix_follow_up_record_campaign_id"), "follow_up_record", ["campaign_id"])
    op.create_index(op.f("ix_follow_up_record_target_id"), "follow_up_record", ["target_id"])
    op.create_index(op.f("ix_follow_up_record_made_at"), "follow_up_record", ["made_at"])


def downgrade() -> None:
    op.drop_table("follow_up_record")
    op.drop_table("care_target")
    op.drop_table("care_campaign")
