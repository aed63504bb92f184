"""Initial schema: citizens and their channels, consent, consultations and flow
versions, runs and answers, the outbox and the inbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 11:12:39.724044
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# Spelled out here rather than imported from storage.types: a migration must keep
# meaning what it meant when written, whatever the models later become.
TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "citizens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("stopped", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("unreachable", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("no_reminders", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("named_consent", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_seen_at", TIMESTAMP, nullable=False),
        sa.Column("assisted_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizens")),
        sa.UniqueConstraint("participant_id", name=op.f("uq_citizens_participant_id")),
    )
    op.create_table(
        "inbox",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("raw", JSON, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("handled_at", TIMESTAMP, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_inbox")),
    )
    op.create_index("ix_inbox_chat_id", "inbox", ["chat_id"], unique=False)
    op.create_index(
        "ix_inbox_handled_at_update_id", "inbox", ["handled_at", "update_id"], unique=False
    )

    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("slug", name=op.f("uq_organisations_slug")),
    )
    op.create_table(
        "citizen_channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("channel_user_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name=op.f("fk_citizen_channels_citizen_id_citizens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizen_channels")),
        sa.UniqueConstraint(
            "channel", "channel_user_id", name=op.f("uq_citizen_channels_channel_channel_user_id")
        ),
    )
    op.create_index("ix_citizen_channels_chat_id", "citizen_channels", ["chat_id"], unique=False)
    op.create_index(
        "ix_citizen_channels_citizen_id", "citizen_channels", ["citizen_id"], unique=False
    )

    op.create_table(
        "consultations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_consultations_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultations")),
        sa.UniqueConstraint("slug", name=op.f("uq_consultations_slug")),
    )
    op.create_index(
        "ix_consultations_organisation_id", "consultations", ["organisation_id"], unique=False
    )
    op.create_index("ix_consultations_status", "consultations", ["status"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("due_at", TIMESTAMP, nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("sent_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name=op.f("fk_outbox_citizen_id_citizens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_dedupe_key")),
    )
    op.create_index("ix_outbox_chat_id", "outbox", ["chat_id"], unique=False)
    op.create_index("ix_outbox_citizen_id", "outbox", ["citizen_id"], unique=False)
    op.create_index("ix_outbox_status_due_at", "outbox", ["status", "due_at"], unique=False)

    op.create_table(
        "consent_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("text_version", sa.String(length=64), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name=op.f("fk_consent_records_citizen_id_citizens"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_consent_records_consultation_id_consultations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_records")),
    )
    op.create_index(
        "ix_consent_records_citizen_id_purpose",
        "consent_records",
        ["citizen_id", "purpose"],
        unique=False,
    )

    op.create_table(
        "flow_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("yaml_text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("published_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_flow_versions_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_versions")),
        sa.UniqueConstraint(
            "consultation_id", "version", name=op.f("uq_flow_versions_consultation_id_version")
        ),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("flow_version_id", sa.Integer(), nullable=False),
        sa.Column("state", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("completed_at", TIMESTAMP, nullable=True),
        sa.Column("parent_run_id", sa.Integer(), nullable=True),
        sa.Column("consent_record_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name=op.f("fk_runs_citizen_id_citizens"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["consent_record_id"],
            ["consent_records.id"],
            name=op.f("fk_runs_consent_record_id_consent_records"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_runs_consultation_id_consultations"),
        ),
        sa.ForeignKeyConstraint(
            ["flow_version_id"],
            ["flow_versions.id"],
            name=op.f("fk_runs_flow_version_id_flow_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_run_id"],
            ["runs.id"],
            name=op.f("fk_runs_parent_run_id_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    op.create_index(
        "ix_runs_citizen_id_consultation_id_status",
        "runs",
        ["citizen_id", "consultation_id", "status"],
        unique=False,
    )
    op.create_index(
        "ix_runs_consultation_id_status", "runs", ["consultation_id", "status"], unique=False
    )
    op.create_index("ix_runs_flow_version_id", "runs", ["flow_version_id"], unique=False)
    op.create_index("ix_runs_parent_run_id", "runs", ["parent_run_id"], unique=False)

    op.create_table(
        "answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(length=64), nullable=False),
        sa.Column("value", JSON, nullable=True),
        sa.Column("display_text", sa.Text(), nullable=True),
        sa.Column("skipped", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("answered_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_answers_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answers")),
        sa.UniqueConstraint("run_id", "step_id", name=op.f("uq_answers_run_id_step_id")),
    )
    op.create_index("ix_answers_step_id", "answers", ["step_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_answers_step_id", table_name="answers")

    op.drop_table("answers")
    op.drop_index("ix_runs_parent_run_id", table_name="runs")
    op.drop_index("ix_runs_flow_version_id", table_name="runs")
    op.drop_index("ix_runs_consultation_id_status", table_name="runs")
    op.drop_index("ix_runs_citizen_id_consultation_id_status", table_name="runs")

    op.drop_table("runs")
    op.drop_table("flow_versions")
    op.drop_index("ix_consent_records_citizen_id_purpose", table_name="consent_records")

    op.drop_table("consent_records")
    op.drop_index("ix_outbox_status_due_at", table_name="outbox")
    op.drop_index("ix_outbox_citizen_id", table_name="outbox")
    op.drop_index("ix_outbox_chat_id", table_name="outbox")

    op.drop_table("outbox")
    op.drop_index("ix_consultations_status", table_name="consultations")
    op.drop_index("ix_consultations_organisation_id", table_name="consultations")

    op.drop_table("consultations")
    op.drop_index("ix_citizen_channels_citizen_id", table_name="citizen_channels")
    op.drop_index("ix_citizen_channels_chat_id", table_name="citizen_channels")

    op.drop_table("citizen_channels")
    op.drop_table("organisations")
    op.drop_index("ix_inbox_handled_at_update_id", table_name="inbox")
    op.drop_index("ix_inbox_chat_id", table_name="inbox")

    op.drop_table("inbox")
    op.drop_table("citizens")
