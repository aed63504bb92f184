"""Flow versions keep the translations they were published with.

Revision ID: 0005_flow_translations
Revises: 0004_outreach
Create Date: 2026-11-23 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# Spelled out here rather than imported from storage.types (see 0001).
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision: str = "0005_flow_translations"
down_revision: str | None = "0004_outreach"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("flow_versions") as batch:
        batch.add_column(sa.Column("translations", JSON, nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("flow_versions") as batch:
        batch.drop_column("translations")
