"""A conversation staff marked as done: its citizen messages get `done_at`.

The replies inbox lists the threads with citizen messages not yet done (read or not);
a new message from the citizen has none, so the thread comes back.

Revision ID: 0019_thread_done
Revises: 0018_leader_links
Create Date: 2026-12-07 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_thread_done"
down_revision: str | None = "0018_leader_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("thread_messages") as batch:
        batch.add_column(sa.Column("done_at", sa.DateTime(timezone=True), nullable=True))
    # What staff had read before this is taken as handled: the inbox starts clean.
    op.execute("UPDATE thread_messages SET done_at = seen_at WHERE seen_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("thread_messages") as batch:
        batch.drop_column("done_at")
