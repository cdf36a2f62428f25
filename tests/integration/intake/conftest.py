"""Helpers for intake's integration tests: the real app in-process (real RabbitMQ, embedded MongoDB),
a listener on the test's own exchange, and routing's events played as routing would publish them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.events import Envelope, EventData, TeamRef, new_event
from shared.events.tasks import TaskDispatched, TaskResolved
from shared.security import StaffClaims, issue_token
from tests.integration.observer import listening

WEB = {"X-API-Key": "dev-web-key"}
ADMIN = {"X-Admin-Token": "dev-admin-token"}
TEAM = TeamRef(id="property_maintenance", name={"zh-CN": "物业维修组", "en": "Property maintenance"})

REQUEST: dict[str, Any] = {
    "service_code": "property_repair",
    "description": "厨房水管漏水，楼下也在渗水",
    "location": {"address": "幸福路8号", "building": "3号楼", "unit": "2单元501", "lat": 39.91, "long": 116.40},
    "resident": {
        "name": "王阿姨",
        "phone": "13800138000",
        "email": "wang@example.org",
        "language": "en",
        "preferred_channel": "sms",
        "vulnerability": ["elderly_alone"],
    },
    "attributes": {"place": "kitchen", "urgency": "leaking_now"},
    "media_urls": ["https://example.org/leak.jpg"],
}


@pytest.fixture
def listen(amqp_url: str) -> Callable[[Any], Any]:
    """`async with listen(app) as heard:` — what is published on that app's exchange."""
    return lambda app: listening(amqp_url, app.state.settings.events_exchange)


def routing_event(data: EventData, seq: int, at: datetime | None = None) -> Envelope:
    return new_event(data, producer="routing", seq=seq, occurred_at=at or datetime.now(UTC))


async def play(app: Any, envelope: Envelope) -> None:
    """Publish as routing would (confirmed, persistent); intake's consumer applies it to the view."""
    await app.state.container.infra.bus.publish(envelope)


def dispatched(request_id: str, code: str, seq: int = 1, due: datetime | None = None) -> Envelope:
    return routing_event(
        TaskDispatched(
            request_id=request_id,
            tracking_code=code,
            status="dispatched",
            team=TEAM,
            due_at=due,
            public_note="已派给物业维修组",
            rule="category:property_repair",
        ),
        seq,
    )


def resolved(request_id: str, code: str, seq: int = 2) -> Envelope:
    return routing_event(
        TaskResolved(
            request_id=request_id,
            tracking_code=code,
            status="resolved",
            team=TEAM,
            public_note="水管已更换",
            reply="水管已更换",
        ),
        seq,
    )


def staff_token(app: Any, role: str, username: str = "zhang") -> str:
    return issue_token(app.state.settings, StaffClaims(sub=username, role=role, team=None))  # type: ignore[arg-type]


async def stored(app: Any) -> int:
    return await app.state.container.store.requests.count_documents({})
