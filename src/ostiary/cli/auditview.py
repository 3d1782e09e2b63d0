"""`ostiary audit search` as a table that fits the terminal, with what was left out said.

Columns that carry identity and outcome (seq, time, verdict, code) keep their full width; the
rest (principal, server, target, method, reason, rule) are cut with an ellipsis to fit the
terminal, `--wide` prints everything. A table taller than the terminal goes through the pager.
"""

from __future__ import annotations

import json
import shutil
import sys
from typing import Any

from ostiary.audit.export import iso
from ostiary.store import AuditRow

HEADERS = ("seq", "time", "principal", "server", "target", "method", "verdict", "code", "reason", "rule")
# The narrowest each cut column gets before the terminal is simply too narrow.
_FLOOR = {"principal": 5, "server": 5, "target": 8, "method": 6, "reason": 10, "rule": 4}
_GAP = 2


def _body(row: AuditRow) -> dict[str, Any]:
    try:
        body = json.loads(row.body)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def cells(row: AuditRow, wide: bool = True) -> list[str]:
    body = _body(row)
    details = body.get("details")
    rule = details.get("rule") if isinstance(details, dict) else None
    when = iso(row.ts_us)
    short = when[5:19].replace("T", " ")  # month-day and time of day, UTC
    return [
        str(row.seq), when if wide else short, row.principal or "", row.server or "",
        row.target or "", row.method, row.action, row.code, str(body.get("reason") or ""), str(rule or ""),
    ]  # fmt: skip


def fit(natural: list[int], width: int) -> list[int]:
    """Column widths within `width`: cut columns share what the others leave, none below its floor."""
    widths = list(natural)
    total = sum(widths) + _GAP * (len(widths) - 1)
    cut = [i for i, h in enumerate(HEADERS) if h in _FLOOR]
    while total > width:
        widest = max(cut, key=lambda i: widths[i] - _FLOOR[HEADERS[i]])
        spare = widths[widest] - _FLOOR[HEADERS[widest]]
        if spare <= 0:
            break
        step = min(spare, total - width, max(1, spare // 2))
        widths[widest] -= step
        total -= step
    return widths


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def render(rows: list[AuditRow], wide: bool, width: int) -> list[str]:
    table = [list(HEADERS), *(cells(r, wide) for r in rows)]
    natural = [max(len(" ".join(line[i].split())) for line in table) for i in range(len(HEADERS))]
    widths = natural if wide else fit(natural, width)
    gap = " " * _GAP
    return [
        gap.join(_clip(c, w).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in table
    ]


def print_rows(rows: list[AuditRow], total: int, wide: bool, pager: bool, oldest_first: bool) -> None:
    size = shutil.get_terminal_size()
    lines = render(rows, wide, size.columns) if rows else []
    more = total - len(rows)
    if not rows:
        lines.append("no records match")
    elif more > 0:
        nxt = "--oldest-first with --since to go on" if oldest_first else f"--before {rows[-1].seq}"
        lines.append(f"{more} more (showing {len(rows)} of {total}): ostiary audit search … {nxt}")
    text = "\n".join(lines) + "\n"
    if pager and sys.stdout.isatty() and len(lines) > size.lines - 1:
        import pydoc  # noqa: PLC0415

        pydoc.pager(text)
        return
    sys.stdout.write(text)
