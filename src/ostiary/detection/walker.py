"""Every string in a JSON value, with its path, within a budget.

Detectors scan what a peer sent as nested JSON (a tool's input schema, a structured result). The
walker yields `(path, text)` pairs in document order, object keys included (a property name is
model-visible too), and stops at a character, node and depth budget so a hostile document cannot
make a scan unbounded; `truncated` tells the caller the budget ran out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

KEY_SUFFIX = "#key"


@dataclass(frozen=True, slots=True)
class Budget:
    chars: int = 8 * 1024 * 1024
    nodes: int = 200_000
    depth: int = 64


def pointer(parent: str, step: str | int) -> str:
    """A JSON Pointer (RFC 6901) for a child, so paths are unambiguous for any key."""
    token = str(step).replace("~", "~0").replace("/", "~1")
    return f"{parent}/{token}"


class Walk:
    """One pass over a value. Iterate it; read `truncated` afterwards."""

    def __init__(self, value: Any, root: str = "", budget: Budget | None = None, keys: bool = True) -> None:
        self.value = value
        self.root = root
        self.budget = budget or Budget()
        self.keys = keys
        self.truncated = False
        self._chars = 0
        self._nodes = 0

    def __iter__(self) -> Iterator[tuple[str, str]]:
        # An explicit stack instead of recursion: depth is bounded by the budget, not the C stack.
        stack: list[tuple[str, Any, int]] = [(self.root, self.value, 0)]
        while stack:
            path, node, depth = stack.pop()
            self._nodes += 1
            if self._nodes > self.budget.nodes or depth > self.budget.depth:
                self.truncated = True
                return
            if isinstance(node, str):
                if not self._spend(len(node)):
                    return
                yield path, node
            elif isinstance(node, dict):
                children: list[tuple[str, Any, int]] = []
                for key, child in node.items():
                    child_path = pointer(path, key)
                    if self.keys and isinstance(key, str) and key:
                        children.append((child_path + KEY_SUFFIX, key, depth + 1))
                    children.append((child_path, child, depth + 1))
                stack.extend(reversed(children))
            elif isinstance(node, list):
                stack.extend((pointer(path, i), node[i], depth + 1) for i in range(len(node) - 1, -1, -1))

    def _spend(self, size: int) -> bool:
        self._chars += size
        if self._chars > self.budget.chars:
            self.truncated = True
            return False
        return True


def strings(value: Any, root: str = "", budget: Budget | None = None) -> list[tuple[str, str]]:
    return list(Walk(value, root, budget))
