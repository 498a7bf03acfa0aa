"""Order ratings: the customer's CSAT, NPS and comment after delivery.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

One row per order (``POST /v1/track/{token}/rating`` writes it, a second
post replaces it). Proof of delivery needs no table: it is part of the
stored ``delivered`` event.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the table."""
    op.create_table(
        "order_ratings",
        sa.Column("order_id", sa.String(128), nullable=False),
        sa.Column("csat", sa.Integer(), nullable=False),
        sa.Column("nps", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_order_ratings")),
    )


def downgrade() -> None:
    """Drop the table."""
    op.drop_table("order_ratings")
