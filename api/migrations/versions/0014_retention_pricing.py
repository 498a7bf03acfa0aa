"""Retention pricing: each fit of the deployment's lateness pricing.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

One row per successful ``retention_fit`` job: the pricing and the fitted
coefficients with their intervals (JSON), the customers' expected future
margins, the counts and the history window; the newest ``succeeded`` row is
the current pricing. ``retention_nightly_fits`` holds the shop day of each
nightly fit queued (``MILEPOST_RETENTION_FIT_AT``), one per day.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision: str | None = "0013"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "retention_pricing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("pricing", sa.JSON(), nullable=False),
        sa.Column("coefficients", sa.JSON(), nullable=False),
        sa.Column("customer_values", sa.JSON(), nullable=False),
        sa.Column("n_spells", sa.Integer(), nullable=False),
        sa.Column("n_events", sa.Integer(), nullable=False),
        sa.Column("n_customers", sa.Integer(), nullable=False),
        sa.Column("n_orders", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_pricing")),
        sa.UniqueConstraint("job_id", name=op.f("uq_retention_pricing_job_id")),
    )
    op.create_index(
        op.f("ix_retention_pricing_created_at"), "retention_pricing", ["created_at"]
    )
    op.create_table(
        "retention_nightly_fits",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_retention_nightly_fits")),
    )


def downgrade() -> None:
    """Drop the tables."""
    op.drop_table("retention_nightly_fits")
    op.drop_index(op.f("ix_retention_pricing_created_at"), "retention_pricing")
    op.drop_table("retention_pricing")
