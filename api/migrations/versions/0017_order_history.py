"""The operation's past orders, imported from history files, and its calendar.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-09

A forecast of the stored operation counts these rows per zone and day; the
embedded city stays the default while the table is empty.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision: str | None = "0016"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the order_history, calendar_entries and calendar_options tables."""
    op.create_table(
        "order_history",
        sa.Column("order_id", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("zone", sa.String(128), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("depot", sa.String(128), nullable=True),
        sa.Column("promotions", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_order_history")),
    )
    op.create_index("ix_order_history_created_at", "order_history", ["created_at"])
    op.create_table(
        "calendar_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("scope", sa.String(128), nullable=False),
        sa.Column("intensity", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_entries")),
    )
    op.create_table(
        "calendar_options",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_holidays", sa.String(8), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_options")),
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_table("calendar_options")
    op.drop_table("calendar_entries")
    op.drop_index("ix_order_history_created_at", table_name="order_history")
    op.drop_table("order_history")
