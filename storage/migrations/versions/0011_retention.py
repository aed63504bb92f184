"""Retention: when a consultation was closed, and one row per day's purge, whose
primary key lets only one process purge a given day.

Revision ID: 0011_retention
Revises: 0010_open_keyboards
Create Date: 2026-12-06 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011_retention"
down_revision: str | None = "0010_open_keyboards"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("consultations") as batch:
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    # A consultation closed before this migration counts from its last change.
    op.execute("UPDATE consultations SET closed_at = updated_at WHERE status = 'closed'")
    op.create_table(
        "retention_purges",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("counts", JSON, nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_retention_purges")),
    )


def downgrade() -> None:
    op.drop_table("retention_purges")
    with op.batch_alter_table("consultations") as batch:
        batch.drop_column("closed_at")
