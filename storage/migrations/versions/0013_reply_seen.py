"""Unread replies: when a staff member first saw a citizen's message in a thread.

Numbered 0012 because other changes may add 0010 and 0011 meanwhile; whichever lands
later points its `down_revision` at the one before. Messages already stored stay
unread: nobody was told about them.

Revision ID: 0013_reply_seen
Revises: 0012_public_results
Create Date: 2026-12-06 21:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_reply_seen"
down_revision: str | None = "0012_public_results"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("thread_messages") as batch:
        batch.add_column(sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(
            "ix_thread_messages_organisation_id_seen_at", ["organisation_id", "seen_at"]
        )


def downgrade() -> None:
    with op.batch_alter_table("thread_messages") as batch:
        batch.drop_index("ix_thread_messages_organisation_id_seen_at")
        batch.drop_column("seen_at")
