"""Front-door limits: request body size (413) and rate limits per API key and per client address (429).

Rate limits are fixed windows counted in intake's MongoDB (`rate_windows`, one document per scope and
window, `$inc` with upsert, expired by a TTL index), so every replica sees the same counts and nothing
lives in process memory. A fixed window lets a client send up to twice the limit across a window
boundary; that is the accepted price of one atomic write per request.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.intake.store import IntakeStore


@dataclass(frozen=True)
class Window:
    id: str
    expires_at: datetime
    retry_after_s: int  # whole seconds until the window ends, at least 1


def window_for(scope: str, subject: str, now: datetime, window_s: int) -> Window:
    """The fixed window `now` falls in. The subject (a client address, a channel id) is hashed, so the
    collection holds no addresses."""
    epoch = now.timestamp()
    start = math.floor(epoch / window_s) * window_s
    end = start + window_s
    digest = hashlib.sha256(subject.encode("utf-8", "replace")).hexdigest()[:20]
    return Window(
        id=f"{scope}:{digest}:{start}",
        # Keep the document a little past the window's end so a slow clock on one replica still counts.
        expires_at=datetime.fromtimestamp(end, UTC) + timedelta(seconds=window_s),
        retry_after_s=max(1, math.ceil(end - epoch)),
    )


class RateLimited(HTTPException):
    def __init__(self, what: str, limit: int, window_s: int, retry_after_s: int) -> None:
        super().__init__(
            429,
            f"too many requests {what}: at most {limit} per {window_s} s; try again in {retry_after_s} s",
            headers={"Retry-After": str(retry_after_s)},
        )


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


class BodyTooLarge(HTTPException):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            413, f"the request body is larger than {max_bytes} bytes; send less (descriptions: 4000 chars)"
        )


Renderer = Callable[[Scope, HTTPException], Awaitable[Response] | Response]


class BodySizeLimit:
    """Refuses bodies over `max_bytes` with 413: at once from Content-Length, without reading the body; and
    while streaming for chunked bodies (the handler's read raises BodyTooLarge, answered 413 by the
    HTTPException handler)."""

    def __init__(self, app: ASGIApp, max_bytes: int, render: Renderer) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            response = self.render(scope, BodyTooLarge(self.max_bytes))
            if not isinstance(response, Response):
                response = await response
            response.headers["Connection"] = "close"
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited, send)
