"""Front-door limits: request body size (413) and rate limits per API key and per client address (429).

Rate limits are fixed windows shared by every replica (`shared/limits.SharedWindows`): each replica counts
in memory and adds its counts to intake's MongoDB (`rate_windows`, one document per scope and window, expired
by a TTL index) every HUIYING_RATE_LIMIT_FLUSH_S seconds (default 1), reading the shared totals back. So a
request costs no database command for its limits, and a limit is exceeded across N replicas by at most what
the other replicas admit within one flush interval. A fixed window lets a client send up to twice the limit
across a window boundary.
"""

from __future__ import annotations

from shared.limits import BodySizeLimit, BodyTooLarge, RateLimited, SharedWindows, Window, window_for

__all__ = ["BodySizeLimit", "BodyTooLarge", "RateLimited", "SharedWindows", "Window", "window_for"]
