"""In-memory fakes shared by the fast service-layer tests of all three services (cosmicpython's style).

Only the service layer runs against these; everything that talks to MongoDB or RabbitMQ is tested
against the real ones (tests/integration, tests/e2e).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.events import Envelope
from shared.outbox import OUTBOX

Document = dict[str, Any]


class FakePublisher:
    """The outbox relay bound to a collection: records the events each written document carries."""

    def __init__(self, *, fail: bool = False) -> None:
        self.published: list[Envelope] = []
        self.fail = fail

    async def publish_after_write(self, document: Document) -> bool:
        if self.fail:
            return False
        for raw in document.get(OUTBOX) or []:
            self.published.append(Envelope.model_validate(raw))
        return True

    def types(self) -> list[str]:
        return [e.type for e in self.published]


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Asia/Shanghai

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now
