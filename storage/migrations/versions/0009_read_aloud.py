"""Reading aloud: the citizen's choice to hear the bot, and the synthesised clips.

After 0008_outbox_order (the two were written side by side, this one second).

Revision ID: 0009_read_aloud
Revises: 0008_outbox_order
Create Date: 2026-12-06 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_read_aloud"
down_revision: str | None = "0008_outbox_order"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("citizens") as batch:
        batch.add_column(
            sa.Column("read_aloud", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "voice_clips",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("engine", sa.String(length=16), nullable=False),
        sa.Column("voice", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("audio", sa.LargeBinary(), nullable=False),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("file_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_clips")),
        sa.UniqueConstraint("key", name=op.f("uq_voice_clips_key")),
    )


def downgrade() -> None:
    op.drop_table("voice_clips")
    with op.batch_alter_table("citizens") as batch:
        batch.drop_column("read_aloud")
