"""Open keyboards: the question messages of a chat whose answer buttons still work,
so that a question asked again closes its earlier copy.

Revision ID: 0010_open_keyboards
Revises: 0009_read_aloud
Create Date: 2026-12-06 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_open_keyboards"
down_revision: str | None = "0009_read_aloud"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "open_keyboards",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("message_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "message_id", name=op.f("pk_open_keyboards")),
    )


def downgrade() -> None:
    op.drop_table("open_keyboards")
