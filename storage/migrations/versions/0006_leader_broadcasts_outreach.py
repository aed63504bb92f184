"""Leader broadcasts are sent as outreach broadcasts: the link between the two, and
buttons per language on outreach broadcasts (a leader's invitation has a link button).

Revision ID: 0006_leader_broadcasts_outreach
Revises: 0005_flow_translations
Create Date: 2026-11-24 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# Spelled out here rather than imported from storage.types (see 0001).
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision: str = "0006_leader_broadcasts_outreach"
down_revision: str | None = "0005_flow_translations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("broadcasts") as batch:
        batch.add_column(sa.Column("buttons", JSON, nullable=True))
    with op.batch_alter_table("leader_broadcasts") as batch:
        batch.add_column(sa.Column("outreach_broadcast_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_leader_broadcasts_outreach_broadcast_id_broadcasts",
            "broadcasts",
            ["outreach_broadcast_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("leader_broadcasts") as batch:
        batch.drop_constraint(
            "fk_leader_broadcasts_outreach_broadcast_id_broadcasts", type_="foreignkey"
        )
        batch.drop_column("outreach_broadcast_id")
    with op.batch_alter_table("broadcasts") as batch:
        batch.drop_column("buttons")
