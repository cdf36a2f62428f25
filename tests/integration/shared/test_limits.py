"""Front-door limits shared by every service (shared/limits.py), against the real embedded MongoDB."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from pymongo import AsyncMongoClient

from shared.limits import (
    BodySizeLimit,
    RateLimited,
    SharedWindows,
    client_address,
    ensure_window_indexes,
)
from shared.outbound import parse_networks
from tests.support import unique

# Half a minute into a window a day from now: the windows' TTL index must not expire them during the test.
NOW = (datetime.now(UTC) + timedelta(days=1)).replace(second=30, microsecond=0)


async def test_two_replicas_share_a_window_through_the_database(mongo: AsyncMongoClient[dict[str, Any]]) -> None:
    db = mongo[unique("hyt-limits-")]
    try:
        await ensure_window_indexes(db["rate_windows"])
        a, b = SharedWindows(db["rate_windows"], lambda: NOW, 60), SharedWindows(db["rate_windows"], lambda: NOW, 60)
        for _ in range(6):
            a.hit("addr", "10.9.8.7", 10, "from this address")
        await a.flush()
        for _ in range(4):
            b.hit("addr", "10.9.8.7", 10, "from this address")
        await b.flush()  # b now knows the shared total: 10
        with pytest.raises(RateLimited) as refused:
            b.hit("addr", "10.9.8.7", 10, "from this address")
        assert refused.value.status_code == 429 and refused.value.headers == {"Retry-After": "30"}
        b.hit("addr", "10.9.8.6", 10, "from this address")  # another address has its own window
        stored = await db["rate_windows"].find_one({})
        assert stored is not None and "10.9.8.7" not in str(stored)  # addresses are hashed
    finally:
        await mongo.drop_database(db.name)


async def test_hits_made_while_a_flush_is_in_flight_still_count(mongo: AsyncMongoClient[dict[str, Any]]) -> None:
    db = mongo[unique("hyt-limits-")]
    try:
        windows = SharedWindows(db["rate_windows"], lambda: NOW, 60)
        for _ in range(3):
            windows.hit("signin-user", "admin", 3, "to sign in to this account")
        flushing = asyncio.create_task(windows.flush())
        await asyncio.sleep(0)  # the flush has taken the counts and waits for the database
        assert not flushing.done()
        with pytest.raises(RateLimited):
            windows.hit("signin-user", "admin", 3, "to sign in to this account")
        await flushing
        assert windows.count("signin-user", "admin")[0] == 4
    finally:
        await mongo.drop_database(db.name)


async def test_a_limit_of_zero_is_off() -> None:
    windows = SharedWindows(None, lambda: NOW, 60)  # type: ignore[arg-type]
    for _ in range(100):
        windows.hit("key", "k", 0, "for this key")


def scope(peer: str, forwarded: str | None) -> dict[str, Any]:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return {"type": "http", "client": (peer, 1234), "headers": headers}


def test_forwarded_for_is_trusted_only_from_configured_proxies() -> None:
    proxies = parse_networks(["10.0.0.0/8", ""])
    assert client_address(scope("203.0.113.9", "1.2.3.4"), proxies) == "203.0.113.9"  # not a proxy: ignored
    assert client_address(scope("10.0.0.2", "1.2.3.4"), proxies) == "1.2.3.4"
    # A client that sends its own X-Forwarded-For through the proxy cannot choose its address.
    assert client_address(scope("10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.3"), proxies) == "198.51.100.7"
    assert client_address(scope("10.0.0.2", "1.2.3.4"), ()) == "10.0.0.2"
    with pytest.raises(ValueError, match="not an IP address"):
        parse_networks(["proxy.internal"])


async def test_bodies_over_the_limit_are_refused_before_parsing() -> None:
    app = FastAPI()

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"n": len(await request.body())}

    limited = BodySizeLimit(app, max_bytes=1024)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=limited), base_url="http://t") as client:
        assert (await client.post("/echo", content=b"x" * 1024)).json() == {"n": 1024}
        refused = await client.post("/echo", content=b"x" * 1025)
        assert refused.status_code == 413 and refused.json()["error"] == "too_large"

        async def chunks() -> Any:
            for _ in range(4):
                yield b"y" * 400

        streamed = await client.post("/echo", content=chunks())
        assert streamed.status_code == 413
