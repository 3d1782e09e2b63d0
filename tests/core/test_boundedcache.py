"""Caches keyed by what peers send stay bounded: a peer that invents names cannot grow them."""

from __future__ import annotations

from ostiary import messages
from ostiary.boundedcache import BoundedCache
from ostiary.config import Config
from ostiary.identity import Principal
from ostiary.inspections import toolfilter
from ostiary.pipeline import Exchange, Hook, Pipeline, Stage
from ostiary.pipeline.chain import STAGE_CACHE_SIZE


def test_a_full_cache_drops_its_oldest_entry_and_keeps_the_rest() -> None:
    cache: BoundedCache[str, int] = BoundedCache(3)
    for n, key in enumerate("abcd"):
        cache.put(key, n)
    assert len(cache) == 3
    assert cache.get("a") is None
    assert [cache.get(k) for k in "bcd"] == [1, 2, 3]
    cache.put("b", 10)  # replacing an entry evicts nothing
    assert len(cache) == 3 and cache.get("b") == 10 and cache.get("c") == 2


async def test_invented_method_names_do_not_grow_the_pipeline() -> None:
    stage = Stage(toolfilter.build({}, Config()))
    pipeline = Pipeline([stage])
    who = Principal(subject="alice")
    for n in range(STAGE_CACHE_SIZE * 3):
        method = f"invented/{n}"
        exchange = Exchange(who, "s", method, server="srv")
        decision = await pipeline.run(Hook.CLIENT_REQUEST, messages.request(n, method, {}), exchange)
        assert decision.forwarded
    assert len(pipeline._cache) <= STAGE_CACHE_SIZE
