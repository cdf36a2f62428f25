"""Fixtures for notify against the real broker, the embedded MongoDB, a real SMTP server and HTTP peers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.bus import Bus
from shared.events import Envelope
from shared.metrics import EVENTS_HANDLED
from shared.security import StaffClaims, issue_token
from shared.settings import DEV_WEBHOOK_SECRET, Settings
from tests.integration.notify.servers import HttpPeer, MovableClock, SmtpServer

# Fast retries for tests; production defaults are seconds to an hour.
FAST = {
    "notify_retry_base_s": 0.1,
    "notify_retry_max_s": 0.5,
    "notify_poll_interval_s": 0.1,
    "notify_max_attempts": 5,
    "notify_lease_s": 15.0,
    # The tests' SMS gateway and webhook receiver listen on loopback, which outbound calls may reach only
    # when listed (shared/outbound.py).
    "outbound_allow": "127.0.0.1",
}


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    server = await SmtpServer().start()
    yield server
    await server.stop()


DAYTIME = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai: outside the quiet hours


@pytest.fixture
def clock() -> MovableClock:
    """notify's clock: starts at 10:00 Shanghai time, whatever the hour on this machine, and runs."""
    return MovableClock(DAYTIME)


@pytest.fixture
async def peer(clock: MovableClock) -> AsyncIterator[HttpPeer]:
    server = await HttpPeer(secret=DEV_WEBHOOK_SECRET, clock=clock).start()
    yield server
    await server.stop()


@pytest.fixture
async def publish(make_settings: Callable[..., Settings]) -> AsyncIterator[Callable[..., Any]]:
    """`await publish(envelope, ...)`: confirmed publishes on this test's exchange, as intake/routing do."""
    bus = Bus(make_settings(), producer="test")
    await bus.connect()

    async def send(*envelopes: Envelope) -> None:
        for envelope in envelopes:
            await bus.publish(envelope)

    yield send
    await bus.close()


@pytest.fixture
def handled(make_settings: Callable[..., Settings]) -> Callable[[], float]:
    """How many events notify's consumer has handled (acked) in this test, from the bus's own metric."""
    queue = make_settings().queue("notify.events")

    def count() -> float:
        total = 0.0
        for metric in EVENTS_HANDLED.collect():
            for sample in metric.samples:
                if sample.name.endswith("_total") and sample.labels.get("queue") == queue:
                    if sample.labels.get("outcome") in ("ok", "ignored"):
                        total += sample.value
        return total

    return count


@pytest.fixture
def token(make_settings: Callable[..., Settings]) -> Callable[..., str]:
    def mint(role: str = "supervisor", team: str | None = None, sub: str = "someone") -> str:
        return issue_token(make_settings(), StaffClaims(sub=sub, role=role, team=team))  # type: ignore[arg-type]

    return mint


async def deliveries(client: Any, request_id: str, bearer: str) -> list[dict[str, Any]]:
    r = await client.get(
        "/v1/deliveries", params={"request_id": request_id}, headers={"Authorization": f"Bearer {bearer}"}
    )
    if r.status_code == 404:
        return []
    assert r.status_code == 200, r.text
    return list(r.json()["deliveries"])
