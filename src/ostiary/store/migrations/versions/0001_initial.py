"""The first schema: audit records, heads and checkpoints; pins; inventory.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_records",
        sa.Column("chain", sa.String(32), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("ts_us", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("prev", sa.String(64), nullable=False),
        sa.Column("principal", sa.String(256)),
        sa.Column("server", sa.String(64)),
        sa.Column("target", sa.String(1024)),
        sa.Column("method", sa.String(128), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("code", sa.String(128), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_index("ix_audit_ts", "audit_records", ["chain", "ts_us"])
    op.create_index("ix_audit_principal", "audit_records", ["principal"])
    op.create_index("ix_audit_server_target", "audit_records", ["server", "target"])
    op.create_table(
        "audit_heads",
        sa.Column("chain", sa.String(32), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("checkpoint_seq", sa.BigInteger, nullable=False),
        sa.Column("checkpoint_ts_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("chain", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("ts_us", sa.BigInteger, nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
    )
    op.create_index("ix_checkpoint_chain_seq", "audit_checkpoints", ["chain", "seq"])
    op.create_table(
        "pins",
        sa.Column("tenant", sa.String(128), primary_key=True),
        sa.Column("server", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(512), primary_key=True),
        sa.Column("fingerprint", sa.String(64)),
        sa.Column("document", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("pending_fingerprint", sa.String(64)),
        sa.Column("pending_document", sa.Text),
        sa.Column("first_seen_us", sa.BigInteger, nullable=False),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "inventory_servers",
        sa.Column("server", sa.String(64), primary_key=True),
        sa.Column("info", sa.Text, nullable=False),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "inventory_items",
        sa.Column("server", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(1024), primary_key=True),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("risk", sa.String(16), nullable=False),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "inventory_items",
        "inventory_servers",
        "pins",
        "audit_checkpoints",
        "audit_heads",
        "audit_records",
    ):
        op.drop_table(table)
