"""Checks an audit chain end to end and names the first place it was tampered with.

Walks the records in sequence order from the log's start (genesis, or the signed retention
anchor left by pruning) and checks, for each: it is the next number; its body says the same
number and links to the previous record's hash; its keyed hash matches; its search columns agree
with its body; and it matches any signed checkpoint at that number. Finally, no signed
checkpoint may lie beyond the last record (the tail was cut), and no audit spool (records on
their way into the chain, store/spool.py) may have been found altered or removed: those records
are lost to the chain, which is reported after the chain itself checks out (seq 0: no record).

Given what the audit witness holds (audit/witness.py: checkpoints written outside the database),
the database must also hold everything below the witnessed high-water mark: each witnessed
checkpoint, each record up to it with the hash the witness saw, and a head at least as high. A
database emptied, or cut with its checkpoints and head rewound, fails there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from ostiary.audit.seal import HmacSealer
from ostiary.store import GENESIS, AuditRow, Checkpoint, Store
from ostiary.store.base import spool_keeper


@dataclass(frozen=True, slots=True)
class Problem:
    seq: int
    kind: str  # altered, missing, reordered, inserted, truncated, checkpoint, spool, emptied
    detail: str


@dataclass(frozen=True, slots=True)
class Report:
    records: int
    first_seq: int
    last_seq: int
    checkpoints: int
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


COLUMNS = ("principal", "server", "target", "method", "action", "code", "ts_us")


def _check_row(row: AuditRow, seq: int, prev: str, sealer: HmacSealer) -> Problem | None:
    if row.seq > seq:
        return Problem(seq, "missing", f"records {seq}..{row.seq - 1} are missing (deleted)")
    try:
        body = orjson.loads(row.body)
    except orjson.JSONDecodeError:
        return Problem(row.seq, "altered", "the record body is not valid JSON")
    if not isinstance(body, dict):
        return Problem(row.seq, "altered", "the record body is not a JSON object")
    if sealer.mac(row.body.encode()) != row.hash:
        return Problem(row.seq, "altered", "the record's content does not match its hash")
    if body.get("seq") != row.seq:
        return Problem(row.seq, "reordered", f"the record was written as number {body.get('seq')}")
    if body.get("prev") != row.prev or row.prev != prev:
        return Problem(row.seq, "inserted", "the record does not follow its predecessor")
    for column in COLUMNS:
        if body.get(column) != getattr(row, column):
            return Problem(row.seq, "altered", f"the stored {column} differs from the signed record")
    return None


def _start(checkpoints: list[Checkpoint]) -> tuple[int, str]:
    anchors = [cp for cp in checkpoints if cp.kind == "retention"]
    if not anchors:
        return 1, GENESIS
    anchor = max(anchors, key=lambda cp: cp.seq)
    return anchor.seq, anchor.hash


@dataclass(frozen=True, slots=True)
class WitnessedPoint:
    """A checkpoint held by the witness: the chain had record `seq` with hash `hash`."""

    seq: int
    hash: str
    where: str  # e.g. "line 12 of /var/lib/ostiary/ostiary.db-witness"


def _against_witness(
    witnessed: Sequence[WitnessedPoint],
    checkpoints: list[Checkpoint],
    first: int,
    last: int,
    head: tuple[int, str] | None,
) -> Problem | None:
    if not witnessed:
        return None
    high = max(witnessed, key=lambda w: w.seq)
    if last < first and head is None and not checkpoints:
        detail = f"the store holds no records, but the witness ({high.where}) says it held {high.seq}"
        return Problem(high.seq, "emptied", detail)
    if head is None or head[0] < high.seq:
        at = "is missing" if head is None else f"says {head[0]} records"
        detail = f"the chain head {at}, but the witness ({high.where}) saw record {high.seq}"
        return Problem(high.seq, "truncated", detail)
    if last < high.seq:
        detail = f"the log ends at {last}, but the witness ({high.where}) saw record {high.seq}"
        return Problem(last + 1, "truncated", detail)
    held = {(cp.seq, cp.hash) for cp in checkpoints if cp.kind == "periodic"}
    for point in sorted(witnessed, key=lambda w: w.seq):
        if point.seq >= first and (point.seq, point.hash) not in held:
            detail = f"the checkpoint at record {point.seq} in the witness ({point.where}) is missing"
            return Problem(point.seq, "checkpoint", detail)
    return None


async def verify(
    store: Store, sealer: HmacSealer, chain: str = "main", witnessed: Sequence[WitnessedPoint] = ()
) -> Report:
    """Check the chain in `store`; with `witnessed`, also against the witness (see above)."""
    checkpoints = await store.checkpoints(chain)
    for cp in checkpoints:
        if not sealer.signed(cp):
            why = "signed with another key" if cp.key_id != sealer.key_id else "its signature is invalid"
            return Report(
                0, 0, 0, len(checkpoints), Problem(cp.seq, "checkpoint", f"checkpoint {cp.seq}: {why}")
            )
    first, prev = _start(checkpoints)
    pinned = {cp.seq: cp.hash for cp in checkpoints if cp.kind == "periodic" and cp.seq >= first}
    seen = {w.seq: w for w in witnessed if w.seq >= first}
    seq, count = first, 0
    async for row in store.audit_rows(chain):
        if row.seq < first:
            return Report(
                count,
                first,
                seq - 1,
                len(checkpoints),
                Problem(row.seq, "inserted", "record before the log's start"),
            )
        problem = _check_row(row, seq, prev, sealer)
        if problem is None and pinned.get(row.seq, row.hash) != row.hash:
            problem = Problem(row.seq, "altered", "the record differs from the signed checkpoint")
        if problem is None and row.seq in seen and seen[row.seq].hash != row.hash:
            where = seen[row.seq].where
            problem = Problem(row.seq, "altered", f"the record differs from the witness ({where})")
        if problem is not None:
            return Report(count, first, seq - 1, len(checkpoints), problem)
        seq, prev, count = seq + 1, row.hash, count + 1
    last = seq - 1
    head = await store.audit_head(chain)
    problem = _against_witness(witnessed, checkpoints, first, last, head)
    if problem is not None:
        return Report(count, first, last, len(checkpoints), problem)
    if head is not None and head[0] > last:
        detail = f"the log ends at {last} but its head says {head[0]} records were written"
        return Report(count, first, last, len(checkpoints), Problem(last + 1, "truncated", detail))
    beyond = [s for s in pinned if s > last]
    if beyond:
        detail = f"the log ends at {last} but a signed checkpoint covers record {max(beyond)}"
        return Report(count, first, last, len(checkpoints), Problem(last + 1, "truncated", detail))
    keeper = spool_keeper(store)
    for name, state, detail in await keeper.spool_problems() if keeper is not None else []:
        problem = Problem(0, "spool", f"audit spool {name} was {state}: {detail}")
        return Report(count, first, last, len(checkpoints), problem)
    return Report(count, first, last, len(checkpoints))
