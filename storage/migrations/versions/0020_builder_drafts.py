"""Builder drafts: consultations being built on the dashboard, kept as flow YAML.

One row per draft, owned by an organisation; the YAML is the same text a flow file
holds, so a draft is published like any other flow (docs/dashboard.md, "Builder").

Revision ID: 0020_builder_drafts
Revises: 0019_thread_done
Create Date: 2026-12-07 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_builder_drafts"
down_revision: str | None = "0019_thread_done"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "builder_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("yaml_text", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(length=254), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_builder_drafts_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_builder_drafts")),
    )
    op.create_index(
        op.f("ix_builder_drafts_organisation_id"), "builder_drafts", ["organisation_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_builder_drafts_organisation_id"), table_name="builder_drafts")
    op.drop_table("builder_drafts")
