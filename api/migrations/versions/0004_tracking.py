"""Tracking events, order statuses, vehicle states and route stops.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "events",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("at", sa.Integer(), nullable=False),
        sa.Column("vehicle", sa.String(128), nullable=True),
        sa.Column("order_id", sa.String(128), nullable=True),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", "id", name=op.f("pk_events")),
    )
    op.create_index(op.f("ix_events_vehicle"), "events", ["vehicle"])
    op.create_index(op.f("ix_events_order_id"), "events", ["order_id"])
    op.create_table(
        "order_statuses",
        sa.Column("order_id", sa.String(128), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("vehicle", sa.String(128), nullable=True),
        sa.Column("updated_at", sa.Integer(), nullable=False),
        sa.Column("status", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_order_statuses")),
    )
    op.create_index(op.f("ix_order_statuses_day"), "order_statuses", ["day"])
    op.create_table(
        "vehicle_states",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("vehicle", sa.String(128), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("day", "vehicle", name=op.f("pk_vehicle_states")),
    )
    op.create_table(
        "route_stops",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("order_id", sa.String(128), nullable=False),
        sa.Column("vehicle", sa.String(128), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("day", "order_id", name=op.f("pk_route_stops")),
    )
    op.create_index(op.f("ix_route_stops_vehicle"), "route_stops", ["vehicle"])
    op.create_table(
        "tracked_plans",
        sa.Column("plan_id", sa.String(128), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("problem", sa.JSON(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("plan_id", name=op.f("pk_tracked_plans")),
    )
    op.create_index(op.f("ix_tracked_plans_day"), "tracked_plans", ["day"])


def downgrade() -> None:
    """Drop the tables."""
    op.drop_index(op.f("ix_tracked_plans_day"), table_name="tracked_plans")
    op.drop_table("tracked_plans")
    op.drop_index(op.f("ix_route_stops_vehicle"), table_name="route_stops")
    op.drop_table("route_stops")
    op.drop_table("vehicle_states")
    op.drop_index(op.f("ix_order_statuses_day"), table_name="order_statuses")
    op.drop_table("order_statuses")
    op.drop_index(op.f("ix_events_order_id"), table_name="events")
    op.drop_index(op.f("ix_events_vehicle"), table_name="events")
    op.drop_table("events")
