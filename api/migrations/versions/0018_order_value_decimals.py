"""Order value in any currency: the basket keeps the currency's decimals.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07

0015 stored the basket as a whole number, the original deployment's won; a
shop in dollars or euros has cents. The column becomes a decimal with four
places (the most any ISO 4217 currency has); whole numbers stored before
keep their value. Going down rounds to whole units.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision: str | None = "0017"
branch_labels: str | None = None
depends_on: str | None = None

#: Up to 10^12 (money's bound) with four decimals.
VALUE = sa.Numeric(20, 4, asdecimal=False)


def upgrade() -> None:
    """The whole-number column becomes a decimal one."""
    with op.batch_alter_table("orders") as batch:
        batch.alter_column(
            "value", existing_type=sa.BigInteger(), type_=VALUE, existing_nullable=True
        )


def downgrade() -> None:
    """Back to whole units, rounded."""
    op.execute("UPDATE orders SET value = ROUND(value) WHERE value IS NOT NULL")
    with op.batch_alter_table("orders") as batch:
        batch.alter_column(
            "value",
            existing_type=VALUE,
            type_=sa.BigInteger(),
            existing_nullable=True,
            postgresql_using="value::bigint",
        )
