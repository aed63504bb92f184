"""Machine transcripts of voice answers (KONSULTA_STT): the words and the engine.

Revision ID: 0014_transcripts
Revises: 0013_reply_seen
Create Date: 2026-12-06 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_transcripts"
down_revision: str | None = "0013_reply_seen"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("answers") as batch:
        batch.add_column(sa.Column("transcript", sa.Text(), nullable=True))
        batch.add_column(sa.Column("transcript_by", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("answers") as batch:
        batch.drop_column("transcript_by")
        batch.drop_column("transcript")
