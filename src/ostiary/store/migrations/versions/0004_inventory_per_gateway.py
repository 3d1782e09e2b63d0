"""Inventory per gateway: servers and their definitions are keyed by the gateway's name too.

The inventory describes what servers offered and is rebuilt from the next handshake and list of
each server, so its tables are recreated rather than converted; rows from before have no gateway
to belong to.

Revision ID: 0004
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def _create(gateway: bool) -> None:
    key = [sa.Column("gateway", sa.String(128), primary_key=True)] if gateway else []
    op.create_table(
        "inventory_servers",
        *key,
        sa.Column("server", sa.String(64), primary_key=True),
        sa.Column("info", sa.Text, nullable=False),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
    )
    key = [sa.Column("gateway", sa.String(128), primary_key=True)] if gateway else []
    op.create_table(
        "inventory_items",
        *key,
        sa.Column("server", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(1024), primary_key=True),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("risk", sa.String(16), nullable=False),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
    )


def upgrade() -> None:
    op.drop_table("inventory_items")
    op.drop_table("inventory_servers")
    _create(gateway=True)


def downgrade() -> None:
    op.drop_table("inventory_items")
    op.drop_table("inventory_servers")
    _create(gateway=False)
