"""Partner organisations: a consultation shared with the NGOs its owner contracts.

Revision ID: 0023_partners
Revises: 0022_bots
Create Date: 2026-12-07 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# Spelled out here rather than imported from storage.types (see 0001).
TIMESTAMP = sa.DateTime(timezone=True)

revision: str = "0023_partners"
down_revision: str | None = "0022_bots"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "partnerships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("provider_step", sa.String(length=64), nullable=True),
        sa.Column(
            "provider_keys",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("invited_at", TIMESTAMP, nullable=False),
        sa.Column("invited_by", sa.String(length=254), nullable=False),
        sa.Column("accepted_at", TIMESTAMP, nullable=True),
        sa.Column("accepted_by", sa.String(length=254), nullable=True),
        sa.Column("ended_at", TIMESTAMP, nullable=True),
        sa.Column("ended_by", sa.String(length=254), nullable=True),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_partnerships_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_partnerships_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partnerships")),
    )
    with op.batch_alter_table("partnerships", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partnerships_consultation_id"), ["consultation_id"], unique=False
        )
        batch_op.create_index(
            "ix_partnerships_organisation_id_ended_at",
            ["organisation_id", "ended_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("partnerships", schema=None) as batch_op:
        batch_op.drop_index("ix_partnerships_organisation_id_ended_at")
        batch_op.drop_index(batch_op.f("ix_partnerships_consultation_id"))
    op.drop_table("partnerships")
