"""Limits every service puts at its front door: body size (413), request rates (429), the client's address.

- `BodySizeLimit` refuses a body over the limit at once from Content-Length, and while streaming for
  chunked bodies, before any of it is parsed.
- `client_address` trusts `X-Forwarded-For` only when the connection comes from a configured proxy
  (`HUIYING_TRUSTED_PROXIES`); then the client is the right-most address that is not a trusted proxy.
  Anyone else's header is ignored, so rotating it does not escape the per-address limit.
- `SharedWindows` counts hits in fixed windows shared by every replica through one MongoDB collection,
  without a database round trip per request: each replica counts in memory and adds its counts to the
  shared window document every `flush_interval_s` (one `$inc` per active window), reading the totals back
  (also of the windows it did not hit since).
  A decision uses the last shared total plus the local hits since. So a limit can be passed by at most
  what the other replicas admit within one flush interval; that bounded slack is the price of not
  writing on every request. A fixed window also lets a client send up to twice the limit across a
  window boundary.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import HTTPException
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError, PyMongoError
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.loop import PeriodicLoop
from shared.outbound import IPNetwork

Document = dict[str, Any]
Renderer = Callable[[Scope, HTTPException], Awaitable[Response] | Response]


# -- body size ---------------------------------------------------------------------------------------


class BodyTooLarge(HTTPException):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body is larger than {max_bytes} bytes; send less")


async def _render(render: Renderer, scope: Scope, exc: HTTPException) -> Response:
    response = render(scope, exc)
    return response if isinstance(response, Response) else await response


def _json_error(_scope: Scope, exc: HTTPException) -> Response:
    from starlette.responses import JSONResponse

    names = {413: "too_large", 429: "rate_limited"}
    return JSONResponse(
        {"error": names.get(exc.status_code, "error"), "message": exc.detail, "fields": []},
        exc.status_code,
        headers=exc.headers,
    )


class BodySizeLimit:
    """Refuses bodies over `max_bytes` with 413: at once from Content-Length, without reading the body; and
    while streaming for chunked bodies (the handler's read raises BodyTooLarge)."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, render: Renderer = _json_error, multipart_max_bytes: int | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.render = render
        # multipart/form-data bodies (file uploads such as photos) may have a limit of their own.
        self.multipart_max_bytes = multipart_max_bytes or max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        limit = self.max_bytes
        if headers.get(b"content-type", b"").lower().startswith(b"multipart/form-data"):
            limit = self.multipart_max_bytes
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            response = await _render(self.render, scope, BodyTooLarge(limit))
            response.headers["Connection"] = "close"
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited, send)


# -- the client's address ------------------------------------------------------------------------------


def _is_in(address: str, networks: tuple[IPNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(scope: Scope, trusted_proxies: tuple[IPNetwork, ...]) -> str:
    """The client's address: the peer's, or, when the peer is a trusted proxy, the right-most address of
    X-Forwarded-For that is not itself a trusted proxy."""
    peer = (scope.get("client") or ("unknown", 0))[0]
    if not trusted_proxies or not _is_in(peer, trusted_proxies):
        return str(peer)
    forwarded = b",".join(v for k, v in scope.get("headers") or [] if k == b"x-forwarded-for").decode("latin-1")
    for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
        if not _is_in(hop, trusted_proxies):
            return hop
    return str(peer)


# -- rate limits ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    id: str
    expires_at: datetime
    retry_after_s: int  # whole seconds until the window ends, at least 1


def window_for(scope: str, subject: str, now: datetime, window_s: int) -> Window:
    """The fixed window `now` falls in. The subject (a client address, a key, an account) is hashed, so
    the collection holds no addresses."""
    epoch = now.timestamp()
    start = math.floor(epoch / window_s) * window_s
    end = start + window_s
    digest = hashlib.sha256(subject.encode("utf-8", "replace")).hexdigest()[:20]
    return Window(
        id=f"{scope}:{digest}:{start}",
        # Kept a little past the window's end so a replica whose clock is slow still counts in it.
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


async def ensure_window_indexes(collection: AsyncCollection[Document]) -> None:
    # Windows expire on their own (TTL): the collection stays the size of the active windows.
    await collection.create_index("expires_at", expireAfterSeconds=0)


class SharedWindows:
    def __init__(self, collection: AsyncCollection[Document], clock: Callable[[], datetime], window_s: int) -> None:
        self.collection = collection
        self.clock = clock
        self.window_s = window_s
        self._known: dict[str, int] = {}  # window id -> the shared total at the last flush
        self._pending: dict[str, int] = {}  # window id -> hits counted here since
        self._expires: dict[str, datetime] = {}
        self._flushing = asyncio.Lock()

    def hit(self, scope: str, subject: str, limit: int, what: str) -> None:
        """Count one request; raise RateLimited (429 with Retry-After) when over the limit. No I/O."""
        if limit <= 0:
            return  # 0 switches the limit off
        window = window_for(scope, subject, self.clock(), self.window_s)
        self._pending[window.id] = self._pending.get(window.id, 0) + 1
        self._expires[window.id] = window.expires_at
        if self._known.get(window.id, 0) + self._pending[window.id] > limit:
            raise RateLimited(what, limit, self.window_s, window.retry_after_s)

    def count(self, scope: str, subject: str) -> tuple[int, Window]:
        """The hits counted so far in the current window (the last shared total plus the local ones)."""
        window = window_for(scope, subject, self.clock(), self.window_s)
        return self._known.get(window.id, 0) + self._pending.get(window.id, 0), window

    def record(self, scope: str, subject: str) -> None:
        """Count one hit without a limit (failures, looked at later with `count`)."""
        window = window_for(scope, subject, self.clock(), self.window_s)
        self._pending[window.id] = self._pending.get(window.id, 0) + 1
        self._expires[window.id] = window.expires_at

    async def flush(self) -> None:
        """Add this replica's counts to the shared windows and read the totals back; forget old windows.
        One flush at a time (the periodic one and a final one at shutdown may meet)."""
        async with self._flushing:
            await self._flush()

    async def _flush(self) -> None:
        now = self.clock()
        pending, self._pending = self._pending, {}
        for window_id, count in pending.items():
            # Counted as known while the write is in flight, so hits meanwhile still see them.
            self._known[window_id] = self._known.get(window_id, 0) + count
        items = list(pending.items())
        for done, (window_id, count) in enumerate(items):
            try:
                self._known[window_id] = await self._add(window_id, count)
            except PyMongoError:
                # Keep the unwritten counts for the next flush; the limits stay local meanwhile.
                for left, n in items[done:]:
                    self._known[left] -= n
                    self._pending[left] = self._pending.get(left, 0) + n
                raise
        # Windows this replica knows but did not hit since: read the other replicas' totals back too.
        stale = [w for w in self._known if w not in pending]
        if stale:
            async for doc in self.collection.find({"_id": {"$in": stale}}, {"n": 1}):
                self._known[doc["_id"]] = max(self._known.get(doc["_id"], 0), int(doc.get("n", 0)))
        for window_id, expires in list(self._expires.items()):
            if expires < now and window_id not in self._pending:
                self._expires.pop(window_id, None)
                self._known.pop(window_id, None)

    async def _add(self, window_id: str, count: int) -> int:
        for _ in range(3):
            try:
                doc = await self.collection.find_one_and_update(
                    {"_id": window_id},
                    {"$inc": {"n": count}, "$setOnInsert": {"expires_at": self._expires[window_id]}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:
                continue  # two replicas created the window at once; the other insert won: add again
            return int(doc["n"]) if doc else count
        return count


# -- per-address limit for a whole service ------------------------------------------------------------------

OPS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class AddressRateLimit:
    """429 with Retry-After once a client address passes `limit` requests per window (ops paths exempt).

    The windows are the container's (`app.state.container.windows`, built by the service's bootstrap and
    flushed by its loop); before the container exists (start-up) nothing is counted."""

    def __init__(
        self, app: ASGIApp, limit: int, trusted: tuple[IPNetwork, ...], render: Renderer = _json_error
    ) -> None:
        self.app = app
        self.limit = limit
        self.trusted = trusted
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.limit > 0 and scope.get("path") not in OPS_PATHS:
            container = getattr(getattr(scope.get("app"), "state", None), "container", None)
            windows = getattr(container, "windows", None)
            if isinstance(windows, SharedWindows):
                try:
                    windows.hit("addr", client_address(scope, self.trusted), self.limit, "from this address")
                except RateLimited as exc:
                    await (await _render(self.render, scope, exc))(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def flush_loop(*windows: SharedWindows, interval_s: float = 1.0) -> PeriodicLoop:
    """The loop that adds this replica's counts to the shared windows (one per service)."""

    async def flush() -> None:
        for each in windows:
            await each.flush()

    return PeriodicLoop("rate-windows", flush, interval_s)
