"""Several bots in one deployment: inbox rows and outbox rows name their bot.

Telegram numbers each bot's updates on its own, so an inbox row is known by its bot
and update id together; an outbox row is sent by its bot's sender. The main bot's
name is "" (every row written before this migration is its row).

Revision ID: 0022_bots
Revises: 0021_statements
Create Date: 2026-12-07 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_bots"
down_revision: str | None = "0021_statements"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbox", recreate="always") as batch:
        batch.add_column(sa.Column("bot", sa.String(32), nullable=False, server_default=""))
        batch.drop_constraint("pk_inbox", type_="primary")
        batch.create_primary_key("pk_inbox", ["bot", "update_id"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("bot", sa.String(32), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("bot")
    op.execute("DELETE FROM inbox WHERE bot <> ''")
    with op.batch_alter_table("inbox", recreate="always") as batch:
        batch.drop_constraint("pk_inbox", type_="primary")
        batch.create_primary_key("pk_inbox", ["update_id"])
        batch.drop_column("bot")
