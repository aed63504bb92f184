"""Broadcasts belong to an organisation, which bounds who they can reach.

A broadcast reaches only citizens who took part in one of its organisation's
consultations, whatever its segment says. Existing broadcasts take the organisation of
their consultation or, in a deployment with one organisation, that one; the rest stay
without one and reach nobody.

Revision ID: 0016_broadcast_organisation
Revises: 0015_inbox_claims
Create Date: 2026-12-07 03:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_broadcast_organisation"
down_revision: str | None = "0015_inbox_claims"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("broadcasts") as batch:
        batch.add_column(sa.Column("organisation_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_broadcasts_organisation_id_organisations",
            "organisations",
            ["organisation_id"],
            ["id"],
        )
        batch.create_index("ix_broadcasts_organisation_id", ["organisation_id"])
    op.execute(
        "UPDATE broadcasts SET organisation_id = (SELECT consultations.organisation_id "
        "FROM consultations WHERE consultations.id = broadcasts.consultation_id) "
        "WHERE consultation_id IS NOT NULL"
    )
    op.execute(
        "UPDATE broadcasts SET organisation_id = (SELECT MIN(id) FROM organisations) "
        "WHERE organisation_id IS NULL AND (SELECT COUNT(*) FROM organisations) = 1"
    )


def downgrade() -> None:
    with op.batch_alter_table("broadcasts") as batch:
        batch.drop_index("ix_broadcasts_organisation_id")
        batch.drop_constraint("fk_broadcasts_organisation_id_organisations", type_="foreignkey")
        batch.drop_column("organisation_id")
