"""Pickup stations, and the station an order is delivered to.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

Orders stored before this revision have no station (the service refused
station deliveries until now), so ``orders.station_id`` starts null.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision: str | None = "0015"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the stations table and the orders' station column."""
    op.create_table(
        "stations",
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stations")),
    )
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("station_id", sa.String(128), nullable=True))
        batch.create_index(op.f("ix_orders_station_id"), ["station_id"])


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("orders") as batch:
        batch.drop_index(op.f("ix_orders_station_id"))
        batch.drop_column("station_id")
    op.drop_table("stations")
