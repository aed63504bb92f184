"""Public results: a consultation's public page is on while `public_since` is set, and
shows only the questions listed in `public_steps`; its public map of reports is on
while `public_map_since` is set.

Numbered 0014 and pointed at 0009 because other changes may land 0010-0013 first;
whichever lands later re-points its `down_revision`.

Revision ID: 0012_public_results
Revises: 0011_retention
Create Date: 2026-12-06 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012_public_results"
down_revision: str | None = "0011_retention"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consultations") as batch:
        batch.add_column(sa.Column("public_since", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column(
                "public_steps",
                sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                server_default="[]",
                nullable=False,
            )
        )
        batch.add_column(sa.Column("public_map_since", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("consultations") as batch:
        batch.drop_column("public_map_since")
        batch.drop_column("public_steps")
        batch.drop_column("public_since")
