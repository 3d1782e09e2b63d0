"""The tables, as SQLAlchemy Core metadata: one schema for SQLite and PostgreSQL.

Migrations (in `migrations/`) create exactly this; the store's queries are written against it.
Timestamps are integer microseconds since the Unix epoch (UTC) so that both databases compare
and index them identically.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

audit_records = Table(
    "audit_records",
    metadata,
    Column("chain", String(32), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("ts_us", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("prev", String(64), nullable=False),
    Column("principal", String(256)),
    Column("server", String(64)),
    Column("target", String(1024)),
    Column("method", String(128), nullable=False),
    Column("action", String(16), nullable=False),
    Column("code", String(128), nullable=False),
    Column("body", Text, nullable=False),
)
Index("ix_audit_ts", audit_records.c.chain, audit_records.c.ts_us)
Index("ix_audit_principal", audit_records.c.principal)
Index("ix_audit_server_target", audit_records.c.server, audit_records.c.target)

# One row per chain: the lock every appender takes, and where the next record links to.
audit_heads = Table(
    "audit_heads",
    metadata,
    Column("chain", String(32), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("checkpoint_seq", BigInteger, nullable=False),
    Column("checkpoint_ts_us", BigInteger, nullable=False),
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("chain", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("ts_us", BigInteger, nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("signature", String(128), nullable=False),
)
Index("ix_checkpoint_chain_seq", audit_checkpoints.c.chain, audit_checkpoints.c.seq)

# One row per audit spool (store/spool.py): a gateway's journal of records not yet in their chain.
# `ingested` is how many of its bytes are in the chain and `tag` the last such line's MAC, both
# moved in the transaction that appends those records, so recovery resumes exactly there.
audit_spools = Table(
    "audit_spools",
    metadata,
    Column("name", String(64), primary_key=True),
    # Host and directory of the spool file: replicas sharing a database keep their spools apart.
    Column("place", String(1024), nullable=False),
    Column("chain", String(32), nullable=False),
    Column("ingested", BigInteger, nullable=False),
    Column("tag", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("detail", Text),
    Column("opened_us", BigInteger, nullable=False),
)

pins = Table(
    "pins",
    metadata,
    Column("tenant", String(128), primary_key=True),
    Column("server", String(64), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("name", String(512), primary_key=True),
    Column("fingerprint", String(64)),
    Column("document", Text),
    Column("status", String(16), nullable=False),
    Column("pending_fingerprint", String(64)),
    Column("pending_document", Text),
    Column("first_seen_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

# The inventory is kept per gateway (its configured `name`): one store serves every gateway a
# user runs, and two of them may both call a server `time`.
inventory_servers = Table(
    "inventory_servers",
    metadata,
    Column("gateway", String(128), primary_key=True),
    Column("server", String(64), primary_key=True),
    Column("info", Text, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

inventory_items = Table(
    "inventory_items",
    metadata,
    Column("gateway", String(128), primary_key=True),
    Column("server", String(64), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("name", String(1024), primary_key=True),
    Column("definition", Text, nullable=False),
    Column("risk", String(16), nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

# One row per approval request (approvals/): what was asked, bound to its arguments' hash, and
# who decided. `holder` is the gateway holding the call; its `heartbeat_us` goes stale if it dies.
approval_requests = Table(
    "approval_requests",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger, nullable=False),
    Column("heartbeat_us", BigInteger, nullable=False),
    Column("decided_us", BigInteger),
    Column("used_us", BigInteger),
    Column("holder", String(64), nullable=False),
    Column("mode", String(16), nullable=False),
    Column("principal", String(256), nullable=False),
    Column("principal_key", String(300), nullable=False),
    Column("session", String(128), nullable=False),
    Column("server", String(64), nullable=False),
    Column("method", String(128), nullable=False),
    Column("target", String(1024), nullable=False),
    Column("args_hash", String(64), nullable=False),
    # The rest as one JSON document: arguments (redacted), rule, reason, findings, approvers,
    # host, policy version; and after the decision: reviewer, reason, channel.
    Column("document", Text, nullable=False),
    Column("reviewer", String(256)),
)
Index("ix_approval_status", approval_requests.c.status, approval_requests.c.created_us)
Index("ix_approval_hash", approval_requests.c.args_hash)
