"""Inbox claims: the worker that handles an update, and its lease.

Several webhook workers on one PostgreSQL each hold the updates they stored (and any
they took over from a dead worker) by a lease they renew while alive; recovery takes
only updates whose lease ran out. Numbered 0013 on top of 0009_read_aloud; re-chain
`down_revision` when the migrations between them land.

Revision ID: 0015_inbox_claims
Revises: 0014_transcripts
Create Date: 2026-12-06 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_inbox_claims"
down_revision: str | None = "0014_transcripts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("claimed_by")
