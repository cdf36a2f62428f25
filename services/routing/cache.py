"""A value routing reads on every event but that changes rarely (the current rule set, the active staff, a
team's loads), kept in memory for a few seconds instead of being read from MongoDB each time.

Freshness: the replica that makes a change (a rule-set publish, a staff create or update) drops its copy at
once, so it sees the change on its next read (a task write adjusts the loads it holds: `peek`); every other
replica sees it within `ttl_s` (the setting `HUIYING_ROUTING_CACHE_TTL_S`, 2 s by default), when its copy
expires. A time bound rather than change events: it needs no extra queue per replica and holds on a
standalone MongoDB (no change streams). The load is single-flight: a burst of events after an expiry costs
one read, not one per event.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

CACHE_TTL_S = 2.0  # the default of HUIYING_ROUTING_CACHE_TTL_S


class Cached[T]:
    def __init__(self, load: Callable[[], Awaitable[T]], ttl_s: float, clock: Callable[[], float] = time.monotonic):
        self._load, self.ttl_s, self._clock = load, ttl_s, clock
        self._value: T | None = None
        self._loaded_at: float | None = None
        self._generation = 0
        self._lock = asyncio.Lock()

    def _fresh(self) -> bool:
        return self._loaded_at is not None and self._clock() - self._loaded_at < self.ttl_s

    async def get(self) -> T:
        if self._fresh():
            return self._value  # type: ignore[return-value]
        async with self._lock:
            if self._fresh():  # another task loaded it while this one waited
                return self._value  # type: ignore[return-value]
            generation, started = self._generation, self._clock()
            value = await self._load()
            if generation == self._generation:  # not invalidated while loading: keep it
                self._value, self._loaded_at = value, started
            return value

    def peek(self) -> T | None:
        """The value if it is fresh, without reading: for a replica to apply its own change to it."""
        return self._value if self._fresh() else None

    def invalidate(self) -> None:
        """This replica changed the value: the next `get` reads it again."""
        self._generation += 1
        self._loaded_at = None
