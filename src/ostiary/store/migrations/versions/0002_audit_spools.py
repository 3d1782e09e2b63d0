"""Audit spools: which journals of not yet chained records exist, and how far each is in the chain.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_spools",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("place", sa.String(1024), nullable=False),
        sa.Column("chain", sa.String(32), nullable=False),
        sa.Column("ingested", sa.BigInteger, nullable=False),
        sa.Column("tag", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("opened_us", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit_spools")
