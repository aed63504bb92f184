"""Statements, votes and priorities (issue 19): citizens propose ideas and vote.

`statements` holds the ideas of a `statements` step (seeded by staff or written by a
citizen, moderated); `statement_votes` one vote per participant per statement;
`priority_picks` a run's ordered top picks on a `priorities` step (docs/flows.md).

Revision ID: 0021_statements
Revises: 0020_builder_drafts
Create Date: 2026-12-07 06:30:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0021_statements"
down_revision: str | None = "0020_builder_drafts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(length=64), nullable=False),
        sa.Column("seed_key", sa.String(length=32), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("author_run_id", sa.Integer(), nullable=True),
        sa.Column("voice", _json(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("corrected_text", sa.Text(), nullable=True),
        sa.Column("translations", _json(), server_default="{}", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("idea_status", sa.String(length=16), nullable=True),
        sa.Column("idea_reason", sa.Text(), nullable=True),
        sa.Column("idea_status_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_statements_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_run_id"],
            ["runs.id"],
            name=op.f("fk_statements_author_run_id_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["statements.id"],
            name=op.f("fk_statements_merged_into_id_statements"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["staff_users.id"],
            name=op.f("fk_statements_decided_by_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statements")),
        sa.UniqueConstraint(
            "consultation_id",
            "step_id",
            "seed_key",
            name=op.f("uq_statements_consultation_id_step_id_seed_key"),
        ),
    )
    op.create_index(
        "ix_statements_consultation_id_step_id_status",
        "statements",
        ["consultation_id", "step_id", "status"],
    )
    op.create_index(op.f("ix_statements_author_run_id"), "statements", ["author_run_id"])
    op.create_index(op.f("ix_statements_merged_into_id"), "statements", ["merged_into_id"])

    op.create_table(
        "statement_votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("vote", sa.Integer(), nullable=False),
        sa.Column("voted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["statements.id"],
            name=op.f("fk_statement_votes_statement_id_statements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name=op.f("fk_statement_votes_citizen_id_citizens"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
            name=op.f("fk_statement_votes_run_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_votes")),
        sa.UniqueConstraint(
            "statement_id", "citizen_id", name=op.f("uq_statement_votes_statement_id_citizen_id")
        ),
    )
    op.create_index(op.f("ix_statement_votes_citizen_id"), "statement_votes", ["citizen_id"])
    op.create_index(op.f("ix_statement_votes_run_id"), "statement_votes", ["run_id"])

    op.create_table(
        "priority_picks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(length=64), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("picked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
            name=op.f("fk_priority_picks_run_id_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["statements.id"],
            name=op.f("fk_priority_picks_statement_id_statements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_priority_picks")),
        sa.UniqueConstraint(
            "run_id", "step_id", "rank", name=op.f("uq_priority_picks_run_id_step_id_rank")
        ),
        sa.UniqueConstraint(
            "run_id",
            "step_id",
            "statement_id",
            name=op.f("uq_priority_picks_run_id_step_id_statement_id"),
        ),
    )
    op.create_index(op.f("ix_priority_picks_statement_id"), "priority_picks", ["statement_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_priority_picks_statement_id"), table_name="priority_picks")
    op.drop_table("priority_picks")
    op.drop_index(op.f("ix_statement_votes_run_id"), table_name="statement_votes")
    op.drop_index(op.f("ix_statement_votes_citizen_id"), table_name="statement_votes")
    op.drop_table("statement_votes")
    op.drop_index(op.f("ix_statements_merged_into_id"), table_name="statements")
    op.drop_index(op.f("ix_statements_author_run_id"), table_name="statements")
    op.drop_index("ix_statements_consultation_id_step_id_status", table_name="statements")
    op.drop_table("statements")
