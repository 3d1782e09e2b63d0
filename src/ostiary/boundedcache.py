"""The one cache helper: a dict with a size bound, for memo tables keyed by what peers send.

Every cache whose keys come from outside (method names, tool names, policy targets, principals)
must be bounded, or a peer that invents keys grows the gateway without limit. When full, the
oldest entry goes (first in, first out): O(1), and no bookkeeping on a hit, which is the common
case on the message path; a recency order would cost a write per hit for little gain on tables
this small.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    __slots__ = ("_data", "limit")

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a bounded cache holds at least one entry")
        self.limit = limit
        self._data: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        return self._data.get(key)

    def put(self, key: K, value: V) -> V:
        """Remember `value` under `key` (dropping the oldest entry if full); returns `value`."""
        data = self._data
        if len(data) >= self.limit and key not in data:
            del data[next(iter(data))]
        data[key] = value
        return value

    def pop(self, key: K) -> V | None:
        return self._data.pop(key, None)

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data
