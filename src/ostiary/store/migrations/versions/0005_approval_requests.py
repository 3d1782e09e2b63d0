"""Approval requests: held calls waiting for a reviewer, bound to their arguments' hash.

Revision ID: 0005
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "approval_requests",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("expires_us", sa.BigInteger, nullable=False),
        sa.Column("heartbeat_us", sa.BigInteger, nullable=False),
        sa.Column("decided_us", sa.BigInteger),
        sa.Column("used_us", sa.BigInteger),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("principal", sa.String(256), nullable=False),
        sa.Column("principal_key", sa.String(300), nullable=False),
        sa.Column("session", sa.String(128), nullable=False),
        sa.Column("server", sa.String(64), nullable=False),
        sa.Column("method", sa.String(128), nullable=False),
        sa.Column("target", sa.String(1024), nullable=False),
        sa.Column("args_hash", sa.String(64), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("reviewer", sa.String(256)),
    )
    op.create_index("ix_approval_status", "approval_requests", ["status", "created_us"])
    op.create_index("ix_approval_hash", "approval_requests", ["args_hash"])


def downgrade() -> None:
    op.drop_table("approval_requests")
