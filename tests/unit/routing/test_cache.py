"""services/routing/cache.py: a rarely changed value read once per TTL, at once again after a local change."""

from __future__ import annotations

import asyncio

from services.routing.cache import Cached


class Source:
    def __init__(self) -> None:
        self.value, self.reads = 1, 0

    async def read(self) -> int:
        self.reads += 1
        value = self.value
        await asyncio.sleep(0)  # the answer is on its way: another task may ask, or change it, meanwhile
        return value


class Monotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_change_elsewhere_is_seen_once_the_ttl_has_passed() -> None:
    source, clock = Source(), Monotonic()
    cached = Cached(source.read, ttl_s=2.0, clock=clock)
    assert await cached.get() == 1 and await cached.get() == 1 and source.reads == 1
    source.value = 2  # another replica changed it
    clock.now += 1.9
    assert await cached.get() == 1
    clock.now += 0.2
    assert await cached.get() == 2 and source.reads == 2


async def test_a_change_by_this_replica_is_seen_at_once() -> None:
    source, clock = Source(), Monotonic()
    cached = Cached(source.read, ttl_s=60.0, clock=clock)
    await cached.get()
    source.value = 2
    cached.invalidate()
    assert await cached.get() == 2


async def test_a_burst_after_an_expiry_costs_one_read() -> None:
    source = Source()
    cached = Cached(source.read, ttl_s=2.0, clock=Monotonic())
    assert await asyncio.gather(*(cached.get() for _ in range(20))) == [1] * 20
    assert source.reads == 1


async def test_a_value_read_before_an_invalidation_is_not_kept() -> None:
    source, clock = Source(), Monotonic()
    cached = Cached(source.read, ttl_s=60.0, clock=clock)
    loading = asyncio.create_task(cached.get())
    await asyncio.sleep(0)  # the read has started with the old value
    source.value = 2
    cached.invalidate()
    assert await loading == 1
    assert await cached.get() == 2
