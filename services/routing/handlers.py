"""Routing's event consumers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from services.routing.domain import open_task
from services.routing.store import RoutingStore
from services.routing.teams import Directory
from shared.events import Envelope, EventData, RequestSubmitted
from shared.outbox import OutboxRelay


class RequestSubmittedHandler:
    """A new request becomes a dispatched task. Idempotent: the task id is the request id."""

    def __init__(
        self, store: RoutingStore, relay: OutboxRelay, directory: Directory, clock: Callable[[], datetime]
    ) -> None:
        self.store, self.relay, self.directory, self.clock = store, relay, directory, clock

    async def __call__(self, envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, RequestSubmitted)
        task = open_task(data, envelope, self.directory, self.clock())
        document = await self.store.insert_task(task)
        if document is not None:
            await self.relay.publish_after_write(self.store.tasks, document)
