"""Device keys bound to a vehicle or a depot's vehicles; keys may expire.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-06

Device keys issued before this revision have no binding. They are kept (so
``GET /v1/keys`` still lists them and they can be revoked) but may send no
event at all: ``POST /v1/events`` answers 403 saying to issue a new device key
bound to a vehicle or depot. Nothing a migration could guess (which van a
key's device sits in) would be safe.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the binding and the expiry to the keys."""
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("vehicle_id", sa.String(128), nullable=True))
        batch.add_column(sa.Column("depot_id", sa.String(128), nullable=True))
        batch.add_column(
            sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("expires_at")
        batch.drop_column("depot_id")
        batch.drop_column("vehicle_id")
