"""Outreach: the controllable clock's offset, scheduled follow-ups, reminders sent,
broadcasts with one delivery row per recipient (unique on broadcast and citizen), and
the outcomes staff report back.

Revision ID: 0004_outreach
Revises: 0003_local_leaders
Create Date: 2026-11-23 11:39:03.918250
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# Spelled out here rather than imported from storage.types (see 0001).
TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision: str = "0004_outreach"
down_revision: str | None = "0003_local_leaders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clock_offsets",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("offset_seconds", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_clock_offsets")),
    )
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("segment", JSON, nullable=False),
        sa.Column("texts", JSON, nullable=False),
        sa.Column("default_language", sa.String(length=16), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("send_at", TIMESTAMP, nullable=True),
        sa.Column("cursor_citizen_id", sa.Integer(), server_default="0", nullable=False),
        sa.Column("materialized", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=True),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_broadcasts_consultation_id_consultations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
    )
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.create_index("ix_broadcasts_status_send_at", ["status", "send_at"], unique=False)

    op.create_table(
        "broadcast_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_at", TIMESTAMP, nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcasts.id"],
            name=op.f("fk_broadcast_deliveries_broadcast_id_broadcasts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name=op.f("fk_broadcast_deliveries_citizen_id_citizens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcast_deliveries")),
        sa.UniqueConstraint(
            "broadcast_id",
            "citizen_id",
            name=op.f("uq_broadcast_deliveries_broadcast_id_citizen_id"),
        ),
    )
    with op.batch_alter_table("broadcast_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_broadcast_deliveries_broadcast_id_status", ["broadcast_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_broadcast_deliveries_citizen_id"), ["citizen_id"], unique=False
        )
        batch_op.create_index(
            "ix_broadcast_deliveries_status_due_at", ["status", "due_at"], unique=False
        )

    op.create_table(
        "outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("texts", JSON, nullable=False),
        sa.Column("segment", JSON, nullable=True),
        sa.Column("broadcast_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcasts.id"],
            name=op.f("fk_outcomes_broadcast_id_broadcasts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_outcomes_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcomes")),
    )
    with op.batch_alter_table("outcomes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outcomes_consultation_id"), ["consultation_id"], unique=False
        )

    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("sent_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_reminders_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
        sa.UniqueConstraint("run_id", "number", name=op.f("uq_reminders_run_id_number")),
    )
    op.create_table(
        "scheduled_followups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("followup_id", sa.String(length=24), nullable=False),
        sa.Column("due_at", TIMESTAMP, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("followup_run_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("done_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name=op.f("fk_scheduled_followups_citizen_id_citizens"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_scheduled_followups_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["followup_run_id"],
            ["runs.id"],
            name=op.f("fk_scheduled_followups_followup_run_id_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
            name=op.f("fk_scheduled_followups_run_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_followups")),
        sa.UniqueConstraint(
            "run_id", "followup_id", name=op.f("uq_scheduled_followups_run_id_followup_id")
        ),
    )
    with op.batch_alter_table("scheduled_followups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_scheduled_followups_citizen_id"), ["citizen_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_scheduled_followups_consultation_id"), ["consultation_id"], unique=False
        )
        batch_op.create_index(
            "ix_scheduled_followups_status_due_at", ["status", "due_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("scheduled_followups", schema=None) as batch_op:
        batch_op.drop_index("ix_scheduled_followups_status_due_at")
        batch_op.drop_index(batch_op.f("ix_scheduled_followups_consultation_id"))
        batch_op.drop_index(batch_op.f("ix_scheduled_followups_citizen_id"))

    op.drop_table("scheduled_followups")
    op.drop_table("reminders")
    with op.batch_alter_table("outcomes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outcomes_consultation_id"))

    op.drop_table("outcomes")
    with op.batch_alter_table("broadcast_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_broadcast_deliveries_status_due_at")
        batch_op.drop_index(batch_op.f("ix_broadcast_deliveries_citizen_id"))
        batch_op.drop_index("ix_broadcast_deliveries_broadcast_id_status")

    op.drop_table("broadcast_deliveries")
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_index("ix_broadcasts_status_send_at")

    op.drop_table("broadcasts")
    op.drop_table("clock_offsets")
