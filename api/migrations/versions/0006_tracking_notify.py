"""Tracking notifications: PostgreSQL tells listeners what changed.

After every committed change of an order's status or route stop, a tracked
plan or a route revision, channel ``milepost_tracking`` carries
``o:<order>``, ``p:<plan>`` or ``v:<day>:<van>`` (:mod:`api.read_cache`).
Nothing on SQLite, where reads are local and cheap.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

_FUNCTION = """
CREATE OR REPLACE FUNCTION milepost_notify_tracking() RETURNS trigger AS $$
DECLARE
    r record;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    IF TG_TABLE_NAME IN ('order_statuses', 'route_stops') THEN
        PERFORM pg_notify('milepost_tracking', 'o:' || r.order_id);
    ELSIF TG_TABLE_NAME = 'tracked_plans' THEN
        PERFORM pg_notify('milepost_tracking', 'p:' || r.plan_id);
    ELSE
        PERFORM pg_notify('milepost_tracking', 'v:' || r.day || ':' || r.vehicle);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""
_TABLES = ("order_statuses", "route_stops", "tracked_plans", "route_revisions")


def upgrade() -> None:
    """Create the function and one trigger per table (PostgreSQL only)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_FUNCTION)
    for table in _TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE "
            f"ON {table} FOR EACH ROW EXECUTE FUNCTION milepost_notify_tracking()"
        )


def downgrade() -> None:
    """Drop the triggers and the function."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in _TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify ON {table}")
    op.execute("DROP FUNCTION IF EXISTS milepost_notify_tracking()")
