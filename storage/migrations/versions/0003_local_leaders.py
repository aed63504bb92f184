"""Local leaders: communities, leaders and their communities, invite links and how
often they were opened, broadcast approvers, organisations' leader policies, and
leader broadcasts (which also hold the leader's compose dialog state).

Revision ID: 0003_local_leaders
Revises: 0002_staff_dashboard
Create Date: 2026-11-23 11:33:21.005739
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# Spelled out here rather than imported from storage.types (see 0001).
TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision: str = "0003_local_leaders"
down_revision: str | None = "0002_staff_dashboard"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "communities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("languages", JSON, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_communities_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_communities")),
        sa.UniqueConstraint(
            "organisation_id", "name", name=op.f("uq_communities_organisation_id_name")
        ),
    )
    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_communities_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "leader_approvers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name=op.f("fk_leader_approvers_citizen_id_citizens"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_leader_approvers_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leader_approvers")),
        sa.UniqueConstraint(
            "organisation_id",
            "citizen_id",
            name=op.f("uq_leader_approvers_organisation_id_citizen_id"),
        ),
    )
    with op.batch_alter_table("leader_approvers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_leader_approvers_citizen_id"), ["citizen_id"], unique=False
        )

    op.create_table(
        "leader_policies",
        sa.Column("organisation_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("approval_required", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_leader_policies_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organisation_id", name=op.f("pk_leader_policies")),
    )
    op.create_table(
        "leaders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("assisting_citizen_id", sa.Integer(), nullable=True),
        sa.Column("menu_language", sa.String(length=16), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("removed_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["assisting_citizen_id"],
            ["citizens.id"],
            name=op.f("fk_leaders_assisting_citizen_id_citizens"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name=op.f("fk_leaders_citizen_id_citizens"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_leaders_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leaders")),
        sa.UniqueConstraint("citizen_id", name=op.f("uq_leaders_citizen_id")),
    )
    with op.batch_alter_table("leaders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_leaders_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "invite_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payload", sa.String(length=64), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_invite_links_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_invite_links_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["leaders.id"],
            name=op.f("fk_invite_links_created_by_leaders"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invite_links")),
        sa.UniqueConstraint("payload", name=op.f("uq_invite_links_payload")),
    )
    with op.batch_alter_table("invite_links", schema=None) as batch_op:
        batch_op.create_index(
            "ix_invite_links_consultation_id_community_id",
            ["consultation_id", "community_id"],
            unique=False,
        )

    op.create_table(
        "leader_broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("leader_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("languages", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("requested_at", TIMESTAMP, nullable=True),
        sa.Column("decided_at", TIMESTAMP, nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("sent_at", TIMESTAMP, nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_leader_broadcasts_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_leader_broadcasts_consultation_id_consultations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["leader_id"],
            ["leaders.id"],
            name=op.f("fk_leader_broadcasts_leader_id_leaders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leader_broadcasts")),
    )
    with op.batch_alter_table("leader_broadcasts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_leader_broadcasts_leader_id_status", ["leader_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_leader_broadcasts_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "leader_communities",
        sa.Column("leader_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_leader_communities_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["leader_id"],
            ["leaders.id"],
            name=op.f("fk_leader_communities_leader_id_leaders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("leader_id", "community_id", name=op.f("pk_leader_communities")),
    )
    with op.batch_alter_table("leader_communities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_leader_communities_community_id"), ["community_id"], unique=False
        )

    op.create_table(
        "invite_opens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("opened_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["invite_links.id"],
            name=op.f("fk_invite_opens_link_id_invite_links"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invite_opens")),
    )
    with op.batch_alter_table("invite_opens", schema=None) as batch_op:
        batch_op.create_index(
            "ix_invite_opens_community_id_consultation_id",
            ["community_id", "consultation_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("invite_opens", schema=None) as batch_op:
        batch_op.drop_index("ix_invite_opens_community_id_consultation_id")

    op.drop_table("invite_opens")
    with op.batch_alter_table("leader_communities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leader_communities_community_id"))

    op.drop_table("leader_communities")
    with op.batch_alter_table("leader_broadcasts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leader_broadcasts_organisation_id"))
        batch_op.drop_index("ix_leader_broadcasts_leader_id_status")

    op.drop_table("leader_broadcasts")
    with op.batch_alter_table("invite_links", schema=None) as batch_op:
        batch_op.drop_index("ix_invite_links_consultation_id_community_id")

    op.drop_table("invite_links")
    with op.batch_alter_table("leaders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leaders_organisation_id"))

    op.drop_table("leaders")
    op.drop_table("leader_policies")
    with op.batch_alter_table("leader_approvers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leader_approvers_citizen_id"))

    op.drop_table("leader_approvers")
    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_communities_organisation_id"))

    op.drop_table("communities")
