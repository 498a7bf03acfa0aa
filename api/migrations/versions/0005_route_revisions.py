"""Route revisions: a counter per van and day that live-ETA caches key on.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the table."""
    op.create_table(
        "route_revisions",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("vehicle", sa.String(128), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "vehicle", name=op.f("pk_route_revisions")),
    )


def downgrade() -> None:
    """Drop the table."""
    op.drop_table("route_revisions")
