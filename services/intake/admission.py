"""Admission control for intake's writes: refuse at once (503 with Retry-After) rather than queue.

When the database is slow or too many writes are already in flight, a new submission would only wait behind
them, past the client's own timeout, and then be stored after the client gave up (a request nobody got an
answer for). So `slot()` refuses straight away with `Overloaded` (a `Busy`: every front door answers 503 with
Retry-After) when either bound is passed:

- in-flight writes >= HUIYING_MAX_INFLIGHT_WRITES (default 64);
- the recent database latency (a moving average the PyMongo command listener keeps, shared/mongo.py)
  >= HUIYING_DB_SLOW_MS (default 2000 ms).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Admission:
    def __init__(self, max_inflight: int, slow_s: float, recent_latency_s: Callable[[], float]) -> None:
        self.max_inflight = max_inflight
        self.slow_s = slow_s
        self.recent_latency_s = recent_latency_s
        self.inflight = 0

    def refusal(self) -> str | None:
        """Why a new write would be refused now, or None."""
        if self.inflight >= self.max_inflight:
            return f"intake is busy ({self.inflight} requests being stored); try again shortly"
        if self.recent_latency_s() >= self.slow_s:
            return "intake's database is slow right now; try again shortly"
        return None

    @contextmanager
    def slot(self, refuse: Callable[[str], Exception]) -> Iterator[None]:
        reason = self.refusal()
        if reason is not None:
            raise refuse(reason)
        self.inflight += 1
        try:
            yield
        finally:
            self.inflight -= 1


def unlimited() -> Admission:
    """For tests and tools that build the service without a database to watch."""
    return Admission(max_inflight=1 << 30, slow_s=float("inf"), recent_latency_s=lambda: 0.0)
