"""Order value and promotion: the basket (won) and the promotion of an order.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

Both are nullable: orders stored before this revision keep no value (the CRM
metrics price them at the default basket) and no promotion.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision: str | None = "0014"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the two columns to the orders."""
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("value", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("promotion", sa.String(32), nullable=True))


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("promotion")
        batch.drop_column("value")
