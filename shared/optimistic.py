"""One helper for optimistic writes: read, decide, write only if the version read is still current, and
on a lost race read and decide again, a bounded number of times.

Every state change in Huiying is one guarded single-document write (the guard is the version or the
status read). When another replica or a staff member wrote first, the guard matches nothing; deciding
again on the fresh document is what makes a second `claim` a clear 409 and a second escalation nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final


class _Again:
    __slots__ = ()

    def __repr__(self) -> str:
        return "AGAIN"


AGAIN: Final = _Again()
"""Returned by an attempt whose guarded write matched nothing: read and decide again."""

ATTEMPTS = 5


async def optimistic[T](
    attempt: Callable[[], Awaitable[T | _Again]],
    *,
    gave_up: Callable[[], BaseException],
    attempts: int = ATTEMPTS,
) -> T:
    """Run `attempt` (read, decide, guarded write) until it returns anything but AGAIN.

    After `attempts` lost races, raise what `gave_up()` returns (a 409/503 for a caller over HTTP, a
    `RetryLater` for an event handler).
    """
    for _ in range(attempts):
        result = await attempt()
        if not isinstance(result, _Again):
            return result
    raise gave_up()


Again = _Again
"""The type of AGAIN, for annotations: `async def attempt() -> Result | Again`."""
