"""One-time "become a leader" links staff make on the dashboard for a community.

Only the hash of a link's /start payload is stored.

Revision ID: 0018_leader_links
Revises: 0017_organisation_register
Create Date: 2026-12-07 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# Spelled out here rather than imported from storage.types (see 0001).
TIMESTAMP = sa.DateTime(timezone=True)

revision: str = "0018_leader_links"
down_revision: str | None = "0017_organisation_register"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "leader_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("used_at", TIMESTAMP, nullable=True),
        sa.Column("used_by", sa.Integer(), nullable=True),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_leader_links_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_leader_links_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["used_by"],
            ["leaders.id"],
            name=op.f("fk_leader_links_used_by_leaders"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leader_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_leader_links_token_hash")),
    )
    with op.batch_alter_table("leader_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_leader_links_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_leader_links_organisation_id"), ["organisation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("leader_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leader_links_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_leader_links_community_id"))
    op.drop_table("leader_links")
