"""Front-door limits: 413 before a huge body is read, 429 with Retry-After per address and per key,
counted in MongoDB so that two replicas share them; and idempotency across replicas."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.intake.conftest import ADMIN, REQUEST, WEB, stored
from tests.support import eventually

OPEN311_FORM = {
    "api_key": "dev-web-key",
    "service_code": "property_repair",
    "description": "楼道灯不亮",
    "lat": "39.9",
    "long": "116.4",
}


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


async def test_rate_limit_per_key_is_shared_by_replicas(run_service: Any) -> None:
    limits = {"rate_limit_per_key": 3, "rate_limit_per_address": 0, "rate_limit_flush_s": 30.0}
    async with run_service("intake", **limits) as (a, app_a), run_service("intake", **limits) as (b, app_b):
        statuses = []
        for client in (a, b, a, b):
            statuses.append((await client.post("/v1/requests", json=REQUEST, headers=WEB)).status_code)
            # Each replica adds its counts to the shared windows every HUIYING_RATE_LIMIT_FLUSH_S; do it now.
            for app in (app_a, app_b):
                await app.state.container.limiter.flush()
        assert statuses == [201, 201, 201, 429]
        # Another channel's key has its own budget; replica b knows the new key once it refreshes its keys.
        hotline = await a.post(
            "/v1/admin/channels", json={"id": "window", "name": "服务窗口", "kind": "window"}, headers=ADMIN
        )
        key = hotline.json()["api_key"]
        await app_b.state.container.service.refresh_keys()
        assert (await b.post("/v1/requests", json=REQUEST, headers={"X-API-Key": key})).status_code == 201
        assert await stored(app_a) == 4


async def test_limits_within_one_flush_interval_pass_by_at_most_the_other_replicas_hits(run_service: Any) -> None:
    """Without a flush, each replica only knows its own hits: the documented slack, and no more."""
    limits = {"rate_limit_per_key": 2, "rate_limit_per_address": 0, "rate_limit_flush_s": 30.0}
    async with run_service("intake", **limits) as (a, _), run_service("intake", **limits) as (b, _):
        statuses = [(await c.post("/v1/requests", json=REQUEST, headers=WEB)).status_code for c in (a, a, a, b, b, b)]
        assert statuses == [201, 201, 429, 201, 201, 429]


async def test_a_disabled_key_stops_working_on_another_replica_within_the_cache_period(run_service: Any) -> None:
    async with (
        run_service("intake", channel_cache_s=0.3) as (a, _),
        run_service("intake", channel_cache_s=0.3) as (
            b,
            _,
        ),
    ):
        created = await a.post(
            "/v1/admin/channels", json={"id": "grid", "name": "网格员", "kind": "window"}, headers=ADMIN
        )
        key = {"X-API-Key": created.json()["api_key"]}
        await a.post("/v1/admin/channels/grid/disable", headers=ADMIN)
        assert (await a.post("/v1/requests", json=REQUEST, headers=key)).status_code == 403  # at once here

        async def refused_on_b() -> bool:
            return (await b.post("/v1/requests", json=REQUEST, headers=key)).status_code == 403

        await eventually(refused_on_b, timeout=5, what="replica b to refuse the disabled key")


async def test_a_submission_costs_one_database_command_before_the_201(run_service: Any) -> None:
    from shared.metrics import DB_COMMANDS

    def intake_commands() -> dict[str, float]:
        return {
            s.labels["command"]: s.value
            for m in DB_COMMANDS.collect()
            for s in m.samples
            if s.name.endswith("_total") and s.labels["service"] == "intake"
        }

    def spent(before: dict[str, float], name: str) -> float:
        return intake_commands().get(name, 0) - before.get(name, 0)

    # The sweeper and the rate-window flush run in the background; both are quiet here (nothing left behind,
    # limits off), so what is counted is what the submissions cost.
    async with run_service("intake", rate_limit_per_address=0, rate_limit_per_key=0) as (client, app):
        assert (await client.post("/v1/requests", json=REQUEST, headers=WEB)).status_code == 201  # warm-up
        await app.state.container.relay.flush()
        before = intake_commands()
        for _ in range(5):
            r = await client.post("/v1/requests", json=REQUEST, headers=WEB)
            assert r.status_code == 201
        # The channel key came from memory and the limits are off: the insert is the only command on the way.
        assert spent(before, "insert") == 5
        assert spent(before, "findAndModify") == 0
        await app.state.container.relay.flush()  # the background settles, batched
        assert 1 <= spent(before, "update") <= 5


async def test_admission_control_answers_503_with_retry_after_at_once(run_service: Any) -> None:
    async with run_service("intake", max_inflight_writes=1) as (client, app):
        admission = app.state.container.service.admission
        admission.inflight = 1  # one write already in flight: the bound
        r = await client.post("/v1/requests", json=REQUEST, headers=WEB)
        assert r.status_code == 503 and int(r.headers["Retry-After"]) >= 1 and "busy" in r.json()["message"]
        admission.inflight = 0
        commands = app.state.container.infra.commands
        commands.recent_s = 5.0  # the database has been answering in seconds
        r = await client.post("/v1/requests", json=REQUEST, headers=WEB)
        assert r.status_code == 503 and "Retry-After" in r.headers and "slow" in r.json()["message"]
        commands.recent_s = 0.0
        assert (await client.post("/v1/requests", json=REQUEST, headers=WEB)).status_code == 201
        assert await stored(app) == 1


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
