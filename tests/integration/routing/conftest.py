"""Routing's real app in-process (real RabbitMQ, embedded MongoDB) with a movable business clock, intake's
events published on the test's exchange as intake would, and a listener that sees everything published."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from shared.bus import Bus
from shared.events import (
    Envelope,
    EventData,
    FeedbackReceived,
    Location,
    RequestCancelled,
    RequestSubmitted,
    Resident,
    new_event,
)
from tests.integration.observer import Observer, listening
from tests.support import eventually

SH = ZoneInfo("Asia/Shanghai")
# A Tuesday, 09:00 in Shanghai: inside everyone's working hours, whatever the time on this machine.
TUESDAY_9AM = datetime(2026, 11, 24, 9, 0, tzinfo=SH).astimezone(UTC)
FAST = {"routing_sla_sweep_interval_s": 0.2}


def local(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH).astimezone(UTC)


class MovableClock:
    """Business time for the app: stands still unless a test moves it."""

    def __init__(self, start: datetime = TUESDAY_9AM) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, instant: datetime) -> None:
        self.now = instant

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def submitted(
    service_code: str = "property_repair",
    description: str = "卫生间门锁坏了",
    *,
    building: str | None = "3",
    address: str | None = "幸福路8号3号楼2单元501",
    vulnerability: list[str] | None = None,
    attributes: dict[str, Any] | None = None,
    channel: str = "web",
    at: datetime = TUESDAY_9AM,
    phone: str = "13800138000",
) -> RequestSubmitted:
    return RequestSubmitted(
        request_id=str(uuid.uuid4()),
        tracking_code="HY" + uuid.uuid4().hex[:10].upper(),
        service_code=service_code,
        description=description,
        location=Location(address=address, building=building, unit="2单元501"),
        resident=Resident(name="王阿姨", phone=phone, language="zh-CN", vulnerability=vulnerability or []),
        channel=channel,
        attributes=attributes or {},
        submitted_at=at,
    )


@dataclass
class Routing:
    http: httpx.AsyncClient
    app: Any
    clock: MovableClock
    listener: Observer
    bus: Bus
    tokens: dict[str, str] = field(default_factory=dict)
    seq: dict[str, int] = field(default_factory=dict)

    @property
    def settings(self) -> Any:
        return self.app.state.settings

    async def headers(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            r = await self.http.post("/v1/auth/login", json={"username": username, "password": "dev-password"})
            assert r.status_code == 200, r.text
            self.tokens[username] = r.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    async def add_staff(self, username: str, role: str, team: str | None, **extra: Any) -> dict[str, Any]:
        body = {"username": username, "password": "dev-password", "role": role, "team": team, **extra}
        r = await self.http.post("/v1/staff", json=body, headers={"X-Admin-Token": self.settings.admin_token})
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    async def publish(self, data: EventData) -> Envelope:
        """As intake: its own seq per request."""
        self.seq[data.request_id] = self.seq.get(data.request_id, 0) + 1
        envelope = new_event(data, producer="intake", seq=self.seq[data.request_id], occurred_at=self.clock())
        await self.bus.publish(envelope)
        return envelope

    async def submit(self, data: RequestSubmitted | None = None, **kw: Any) -> dict[str, Any]:
        """Publish request.submitted and wait for the dispatched task (as the supervisor sees it)."""
        data = data or submitted(**kw)
        await self.publish(data)
        return await self.wait_task(data.request_id, lambda t: t["status"] == "dispatched")

    async def task(self, request_id: str, as_: str = "supervisor") -> httpx.Response:
        return await self.http.get(f"/v1/tasks/{request_id}", headers=await self.headers(as_))

    async def wait_task(
        self, request_id: str, ok: Callable[[dict[str, Any]], bool], what: str = "the task", timeout: float = 20
    ) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            r = await self.task(request_id)
            return r.json() if r.status_code == 200 and ok(r.json()) else None

        return await eventually(probe, timeout=timeout, what=what)

    async def act(self, request_id: str, action: str, as_: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await self.http.post(f"/v1/tasks/{request_id}/{action}", json=body, headers=await self.headers(as_))

    async def ok(self, request_id: str, action: str, as_: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        r = await self.act(request_id, action, as_, body)
        assert r.status_code == 200, f"{action} as {as_}: {r.status_code} {r.text}"
        return r.json()  # type: ignore[no-any-return]

    async def events_of(self, request_id: str, count: int, timeout: float = 20) -> list[Envelope]:
        async def probe() -> list[Envelope] | None:
            got = self.listener.for_request(request_id)
            return got if len(got) >= count else None

        return await eventually(probe, timeout=timeout, what=f"{count} routing events for {request_id}")

    async def cancel(self, request_id: str, tracking_code: str) -> None:
        await self.publish(
            RequestCancelled(request_id=request_id, tracking_code=tracking_code, cancelled_at=self.clock())
        )

    async def feedback(self, request_id: str, tracking_code: str, rating: str) -> Envelope:
        return await self.publish(
            FeedbackReceived(
                request_id=request_id,
                tracking_code=tracking_code,
                rating=rating,  # type: ignore[arg-type]
                received_at=self.clock(),
            )
        )


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
async def start_routing(
    run_service: Callable[..., Any], amqp_url: str, clock: MovableClock
) -> AsyncIterator[Callable[..., Any]]:
    """Routing replicas for the test; their queues go with the test's `names` (see tests/conftest.py)."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[Routing]:
        async with run_service("routing", clock=clock, **{**FAST, **overrides}) as (http, app):
            settings = app.state.settings
            bus = Bus(settings, producer="intake")
            await bus.connect()
            try:
                async with listening(amqp_url, settings.events_exchange) as listener:
                    routing = Routing(http, app, clock, listener, bus)
                    # A second member for the tests of competing members (dev mode seeds one per team).
                    if await app.state.container.staff.get("property_maintenance.member2") is None:
                        await routing.add_staff("property_maintenance.member2", "member", "property_maintenance")
                    yield routing
            finally:
                await bus.close()

    yield start


@pytest.fixture
async def routing(start_routing: Callable[..., Any]) -> AsyncIterator[Routing]:
    async with start_routing() as r:
        yield r
