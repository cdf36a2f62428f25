"""Front-door limits: request body size (413) and rate limits per API key and per client address (429).

Rate limits are fixed windows counted in intake's MongoDB (`rate_windows`, one document per scope and
window, `$inc` with upsert, expired by a TTL index), so every replica sees the same counts and nothing
lives in process memory. A fixed window lets a client send up to twice the limit across a window
boundary; that is the accepted price of one atomic write per request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from services.intake.store import IntakeStore
from shared.limits import BodySizeLimit, BodyTooLarge, RateLimited, Window, window_for

__all__ = ["BodySizeLimit", "BodyTooLarge", "RateLimited", "RateLimiter", "Window", "window_for"]


class RateLimiter:
    def __init__(self, store: IntakeStore, clock: Callable[[], datetime], window_s: int) -> None:
        self.store = store
        self.clock = clock
        self.window_s = window_s

    async def hit(self, scope: str, subject: str, limit: int, what: str) -> None:
        """Count one request; raise RateLimited (429 with Retry-After) when over the limit."""
        if limit <= 0:
            return  # 0 switches the limit off
        window = window_for(scope, subject, self.clock(), self.window_s)
        count = await self.store.count_hit(window.id, window.expires_at)
        if count > limit:
            raise RateLimited(what, limit, self.window_s, window.retry_after_s)
