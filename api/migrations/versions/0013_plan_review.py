"""Plans under review: who superseded a plan, and the stops locked on it.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-07

``superseded_by`` names the plan that replaced a superseded one (its
re-optimised or edited child, or a later solve of the same day and depot
that replaced a draft); ``locks`` lists the order ids whose stop keeps its
van and its place in later re-optimisations.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the columns."""
    with op.batch_alter_table("plans") as batch:
        batch.add_column(sa.Column("superseded_by", sa.String(32), nullable=True))
        batch.add_column(sa.Column("locks", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop the columns."""
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("locks")
        batch.drop_column("superseded_by")
