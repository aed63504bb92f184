"""Organisation register: how the bot's own texts address the organisation's citizens.

"formal" (the bundled catalogs) for every organisation already there; an admin may
switch theirs to "informal" (docs/languages.md).

Revision ID: 0017_organisation_register
Revises: 0016_broadcast_organisation
Create Date: 2026-12-07 03:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_organisation_register"
down_revision: str | None = "0016_broadcast_organisation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("organisations") as batch:
        batch.add_column(
            sa.Column("register", sa.String(length=16), nullable=False, server_default="formal")
        )


def downgrade() -> None:
    with op.batch_alter_table("organisations") as batch:
        batch.drop_column("register")
