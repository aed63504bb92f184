"""The outbox keeps each chat's order: a claim takes only the earliest unsent row of a
chat (an index to find it, and one in the claim's order), and a claim counter as the
fencing token, so `attempts` counts real send failures only.

Revision ID: 0008_outbox_order
Revises: 0007_staff_sessions
Create Date: 2026-12-06 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_outbox_order"
down_revision: str | None = "0007_staff_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claims", sa.Integer(), server_default="0", nullable=False))
    op.create_index(
        "ix_outbox_chat_id_status_id", "outbox", ["chat_id", "status", "id"], unique=False
    )
    # The claim's order, so that it stops at its limit instead of sorting the backlog.
    op.create_index(
        "ix_outbox_status_priority_id", "outbox", ["status", "priority", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_status_priority_id", table_name="outbox")
    op.drop_index("ix_outbox_chat_id_status_id", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claims")
