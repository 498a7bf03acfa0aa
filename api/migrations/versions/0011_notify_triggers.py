"""Notifications of new jobs and of live tracking changes (PostgreSQL).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

Triggers ``NOTIFY`` the channels :mod:`api.db.notify` listens on, so every
process sharing the database hears of a write at its commit, whichever
process or path made it: ``milepost_jobs`` when a job is inserted or its
status changes, ``milepost_live`` when an order's status, a van's state, a
route's revision, a tracked plan or a plan changes. One statement-level
trigger per table, with an empty payload: PostgreSQL folds equal
notifications of one transaction into one, so a batch of 500 events costs
one notification. SQLite (one process) has no such triggers.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None

#: Tables whose changes move the live views.
LIVE_TABLES = (
    "order_statuses",
    "vehicle_states",
    "route_revisions",
    "tracked_plans",
    "plans",
    "dispatch_exceptions",
    "orders",
)


def upgrade() -> None:
    """Create the notifying functions and their triggers (PostgreSQL only)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for channel in ("milepost_jobs", "milepost_live"):
        op.execute(
            f"""
            CREATE OR REPLACE FUNCTION {channel}_notify() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_notify('{channel}', '');
                RETURN NULL;
            END $$
            """
        )
    op.execute(
        "CREATE TRIGGER jobs_notify AFTER INSERT OR UPDATE OF status ON jobs "
        "FOR EACH STATEMENT EXECUTE FUNCTION milepost_jobs_notify()"
    )
    for table in LIVE_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION milepost_live_notify()"
        )


def downgrade() -> None:
    """Drop the triggers and their functions."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in LIVE_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify ON {table}")
    op.execute("DROP TRIGGER IF EXISTS jobs_notify ON jobs")
    op.execute("DROP FUNCTION IF EXISTS milepost_live_notify()")
    op.execute("DROP FUNCTION IF EXISTS milepost_jobs_notify()")
