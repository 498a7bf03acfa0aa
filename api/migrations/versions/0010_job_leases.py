"""Job leases: which runner holds a running job, and when it last said so.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

Several job runners (``milepost worker`` processes, ``serve --workers N``)
may share one database. A runner writes its id on the jobs it claims and
renews ``heartbeat_at`` while it runs them; a running job whose lease has
lapsed (or whose runner is known to be dead) is re-queued by any runner.
Rows left running by an older version have no lease and are re-queued at
once, as that version's restart would have.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the holder and the heartbeat of running jobs."""
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("worker_id", sa.String(200), nullable=True))
        batch.add_column(
            sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("worker_id")
