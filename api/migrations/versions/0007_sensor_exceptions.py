"""Order limits, sensor excursions and dispatcher exceptions.

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "order_limits",
        sa.Column("order_id", sa.String(128), nullable=False),
        sa.Column("limits", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_order_limits")),
    )
    op.create_table(
        "excursions",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("id", sa.String(256), nullable=False),
        sa.Column("order_id", sa.String(128), nullable=False),
        sa.Column("vehicle", sa.String(128), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("day", "id", name=op.f("pk_excursions")),
    )
    op.create_index(op.f("ix_excursions_order_id"), "excursions", ["order_id"])
    op.create_index(op.f("ix_excursions_vehicle"), "excursions", ["vehicle"])
    op.create_table(
        "dispatch_exceptions",
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(256), nullable=False),
        sa.Column("vehicle", sa.String(128), nullable=True),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("opened_at", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatch_exceptions")),
    )
    for column in ("day", "key", "vehicle", "open"):
        op.create_index(
            op.f(f"ix_dispatch_exceptions_{column}"), "dispatch_exceptions", [column]
        )


def downgrade() -> None:
    """Drop the tables."""
    op.drop_table("dispatch_exceptions")
    op.drop_table("excursions")
    op.drop_table("order_limits")
