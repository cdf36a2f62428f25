"""Front-door limits: 413 before a huge body is read, 429 with Retry-After per address and per key,
counted in MongoDB so that two replicas share them; and idempotency across replicas."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.intake.conftest import ADMIN, REQUEST, WEB, stored


class Clock:
    """Wall time that a test can move forward (the rate windows are keyed by the injected clock)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


async def test_body_size_limit_answers_413_without_storing(run_service: Any) -> None:
    async with run_service("intake", max_body_bytes=2048) as (client, app):
        big = {**REQUEST, "description": "漏" * 1500}  # 4500 bytes of UTF-8: within 4000 characters
        r = await client.post("/v1/requests", json=big, headers=WEB)
        assert r.status_code == 413 and r.json()["error"] == "payload_too_large"
        r = await client.post("/open311/v2/requests.xml", data={"api_key": "dev-web-key", "description": "x" * 3000})
        assert r.status_code == 413 and ET.fromstring(r.content).findtext("error/code") == "413"

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: caught while streaming
            for _ in range(10):
                yield b"x" * 512

        r = await client.post("/v1/requests", content=chunks(), headers={**WEB, "Content-Type": "application/json"})
        assert r.status_code == 413
        assert await stored(app) == 0
        assert (await client.post("/v1/requests", json=REQUEST, headers=WEB)).status_code == 201


async def test_rate_limit_per_address_with_retry_after(run_service: Any) -> None:
    clock = Clock()
    async with run_service("intake", clock=clock, rate_limit_per_address=3, rate_limit_window_s=60) as (client, _):
        for _ in range(3):
            assert (await client.get("/v1/services")).status_code == 200
        r = await client.get("/v1/services")
        assert r.status_code == 429 and r.json()["error"] == "rate_limited"
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        r = await client.get("/open311/v2/services.json")
        assert r.status_code == 429 and r.json()[0]["code"] == 429 and "Retry-After" in r.headers
        # Health checks are not API calls.
        assert (await client.get("/healthz")).status_code == 200
        clock.offset += timedelta(seconds=61)  # the next window
        assert (await client.get("/v1/services")).status_code == 200


async def test_rotating_x_forwarded_for_does_not_escape_the_per_address_limit(run_service: Any) -> None:
    async with run_service("intake", rate_limit_per_address=3, rate_limit_window_s=3600) as (client, _):
        answers = [
            (await client.get("/v1/services", headers={"X-Forwarded-For": f"203.0.113.{n}"})).status_code
            for n in range(4)
        ]
        assert answers == [200, 200, 200, 429]
    # From a trusted proxy the header names the client: each client has its own window.
    async with run_service("intake", rate_limit_per_address=3, trusted_proxies="127.0.0.1") as (client, _):
        for n in range(4):
            r = await client.get("/v1/services", headers={"X-Forwarded-For": f"203.0.113.{n}"})
            assert r.status_code == 200


async def test_rate_limit_per_key_is_shared_by_replicas(run_service: Any) -> None:
    limits = {"rate_limit_per_key": 3, "rate_limit_per_address": 0}
    async with run_service("intake", **limits) as (a, app_a), run_service("intake", **limits) as (b, _app_b):
        statuses = []
        for client in (a, b, a, b):
            statuses.append((await client.post("/v1/requests", json=REQUEST, headers=WEB)).status_code)
        assert statuses == [201, 201, 201, 429]
        # Another channel's key has its own budget.
        hotline = await a.post(
            "/v1/admin/channels", json={"id": "window", "name": "服务窗口", "kind": "window"}, headers=ADMIN
        )
        key = hotline.json()["api_key"]
        assert (await b.post("/v1/requests", json=REQUEST, headers={"X-API-Key": key})).status_code == 201
        assert await stored(app_a) == 4


async def test_idempotency_key_across_replicas(run_service: Any) -> None:
    async with run_service("intake") as (a, app_a), run_service("intake") as (b, _app_b):
        headers = {**WEB, "Idempotency-Key": "two-doors"}
        answers = await asyncio.gather(
            *(client.post("/v1/requests", json=REQUEST, headers=headers) for client in (a, b, a, b))
        )
        assert {r.status_code for r in answers} == {201}
        assert len({r.json()["tracking_code"] for r in answers}) == 1
        assert await stored(app_a) == 1


async def test_a_database_outage_is_503_with_retry_after_not_500(run_service: Any) -> None:
    async with run_service("intake") as (client, app):
        assert (await client.get("/v1/services")).status_code == 200
        await app.state.container.infra.client.close()  # the database is gone for this replica
        r = await client.post("/v1/requests", json=REQUEST, headers=WEB)
        assert r.status_code == 503 and r.json()["error"] == "unavailable" and r.headers["Retry-After"] == "5"
        r = await client.get("/open311/v2/requests.xml")
        assert r.status_code == 400 and "temporarily unavailable" in ET.fromstring(r.content).findtext(
            "error/description"
        )
