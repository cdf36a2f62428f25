"""Routing's event consumers: intake's request events drive the lifecycle. All idempotent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from services.routing.service import RoutingService
from services.routing.store import RoutingStore
from services.routing.teams import Directory
from shared.bus import Poison
from shared.events import Envelope, EventData, FeedbackReceived, RequestCancelled, RequestNotAccepted, RequestSubmitted
from shared.outbox import OutboxRelay

REQUEST_EVENTS = ("request.submitted", "request.cancelled", "request.feedback_received", "request.not_accepted")


class RequestEventsHandler:
    """One handler for the `routing.request-events` queue."""

    def __init__(self, service: RoutingService) -> None:
        self.service = service

    async def __call__(self, envelope: Envelope, data: EventData) -> None:
        if isinstance(data, RequestSubmitted):
            await self.service.open_from(envelope, data)
        elif isinstance(data, RequestCancelled):
            await self.service.cancel_from(envelope, data)
        elif isinstance(data, FeedbackReceived):
            await self.service.feedback_from(envelope, data)
        elif isinstance(data, RequestNotAccepted):
            await self.service.record_not_accepted(envelope, data)
        else:
            raise Poison(f"routing does not handle {envelope.type}")


class RequestSubmittedHandler(RequestEventsHandler):
    """A new request becomes a dispatched task (kept for callers that wire routing by hand, e.g. the
    crash tests): the shipped rules, calendar and SLA limits, the staff and rule versions in `store`'s db."""

    def __init__(
        self, store: RoutingStore, relay: OutboxRelay, directory: Directory, clock: Callable[[], datetime]
    ) -> None:
        from services.routing.app import build_service
        from services.routing.config import RoutingSettings

        super().__init__(build_service(RoutingSettings(), store, relay, directory, clock))
