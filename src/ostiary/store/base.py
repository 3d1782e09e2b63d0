"""The Store seam: what the rest of Ostiary may ask of persistence, without seeing SQL.

Rows cross this seam as small frozen dataclasses. The audit chain's cryptography stays with the
caller (a `Sealer`), so the store only guarantees ordering and atomicity: one batch, one
transaction, under the chain's head lock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ostiary.store.spool import Mark, Spool

JSON = dict[str, Any]


class StoreError(Exception):
    """The store cannot be reached or refused an operation; callers fail closed on it."""


@dataclass(frozen=True, slots=True)
class AuditRow:
    chain: str
    seq: int
    ts_us: int
    hash: str
    prev: str
    # The canonical JSON the hash commits to; search columns are copies of fields in it.
    body: str
    principal: str | None = None
    server: str | None = None
    target: str | None = None
    method: str = ""
    action: str = ""
    code: str = ""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    chain: str
    # "periodic": the record `seq` has hash `hash`. "retention": the log now starts at `seq`, whose
    # predecessor (deleted) had hash `hash`.
    kind: str
    seq: int
    hash: str
    ts_us: int
    key_id: str
    signature: str


@dataclass(frozen=True, slots=True)
class AuditQuery:
    principal: str | None = None
    server: str | None = None
    target: str | None = None
    action: str | None = None
    code: str | None = None
    since_us: int | None = None
    until_us: int | None = None
    limit: int | None = None
    # Newest first (what a person reading the log wants), and only records before this sequence
    # number: the next page of a search.
    newest_first: bool = False
    before_seq: int | None = None


@dataclass(frozen=True, slots=True)
class Pin:
    tenant: str
    server: str
    kind: str  # tool, prompt, template
    name: str
    # The approved fingerprint and document; None when the definition was never approved.
    fingerprint: str | None
    document: str | None
    status: str  # trusted, quarantined
    pending_fingerprint: str | None = None
    pending_document: str | None = None
    first_seen_us: int = 0
    updated_us: int = 0


@dataclass(frozen=True, slots=True)
class InventoryServer:
    server: str
    info: JSON
    updated_us: int
    gateway: str = ""


@dataclass(frozen=True, slots=True)
class InventoryItem:
    server: str
    kind: str
    name: str
    definition: JSON
    risk: str
    updated_us: int
    gateway: str = ""


class Sealer(Protocol):
    """The audit log's cryptography, called by the store inside the append transaction."""

    def mac(self, data: bytes) -> str:
        """The keyed hash (hex) that tags audit spool lines, so recovery can tell if one changed."""

    def seal(self, seq: int, prev: str, body: JSON) -> tuple[str, str]:
        """Return (canonical text, hash) of the record `body` placed at `seq` after `prev`."""

    def checkpoint(self, chain: str, kind: str, seq: int, hash: str, ts_us: int) -> Checkpoint:
        """A signed checkpoint over those fields."""

    def checkpoint_due(self, records_since: int, seconds_since: float) -> bool:
        """Whether the head should be checkpointed now."""


class Store(Protocol):
    url: str

    async def close(self) -> None: ...

    async def append_audit(
        self, chain: str, bodies: Sequence[JSON], sealer: Sealer, mark: Mark | None = None
    ) -> list[AuditRow]:
        """Append records in order in one transaction; returns them once durable. `mark`: they
        come from an audit spool, chained up to that mark by the same transaction."""

    def append_audit_now(
        self, chain: str, bodies: Sequence[JSON], sealer: Sealer, mark: Mark | None = None
    ) -> list[AuditRow] | None:
        """`append_audit` without leaving the calling thread, where the store can do that without
        waiting (None where it cannot, and nothing was written)."""

    async def checkpoint_head(self, chain: str, sealer: Sealer) -> Checkpoint | None:
        """Checkpoint the head now (at shutdown) unless it already is."""

    async def audit_head(self, chain: str) -> tuple[int, str] | None:
        """The chain head's (seq, hash), as the appenders last left it."""

    def audit_rows(self, chain: str, query: AuditQuery | None = None) -> AsyncIterator[AuditRow]:
        """Records in sequence order, streamed."""

    async def count_audit(self, chain: str, query: AuditQuery) -> int:
        """How many records match `query`, its limit aside."""

    async def checkpoints(self, chain: str) -> list[Checkpoint]: ...

    async def prune_audit(self, chain: str, before_us: int, sealer: Sealer) -> int:
        """Delete the records older than `before_us`, anchoring the new start; returns the count."""

    async def load_pins(self, tenant: str, server: str | None = None) -> list[Pin]: ...

    async def save_pin(self, pin: Pin) -> None: ...

    async def record_server(self, server: str, info: JSON, gateway: str = "") -> None: ...

    async def record_items(self, items: Sequence[InventoryItem]) -> None: ...

    async def inventory(
        self, gateway: str | None = None
    ) -> tuple[list[InventoryServer], list[InventoryItem]]: ...


@runtime_checkable
class SpoolKeeper(Protocol):
    """A store that keeps audit spools (`store/spool.py`): the SQLite side, and PostgreSQL with
    `audit.spool: true`. Apart from `Store` because a store may keep none."""

    async def open_spool(self, chain: str, sealer: Sealer) -> Spool | None:
        """A new registered audit spool for `chain`, or None where this store keeps none."""

    async def retire_spool(self, spool: Spool) -> None:
        """Remove a spool whose every record is in the chain."""

    async def recover_spools(self, sealer: Sealer) -> int:
        """Chain the records left in the spools of stopped gateways; returns how many."""

    async def spool_problems(self) -> list[tuple[str, str, str]]:
        """(name, state, detail) of each audit spool found tampered with or missing."""


def spool_keeper(store: object) -> SpoolKeeper | None:
    """The store's audit spools, if it keeps any."""
    return store if isinstance(store, SpoolKeeper) else None
