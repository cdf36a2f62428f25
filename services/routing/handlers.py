"""Routing's event consumers, each idempotent; bootstrap subscribes them.

- `RequestEventsHandler` (queue `routing.request-events`): intake's request events drive the lifecycle.
- `WorkItemPublisher` (queue `routing.work-items`): team work queues. Every dispatch also becomes a work item
  on `work.<team_id>` (exchange `huiying.work`).

Decision: the work item is published by a consumer of routing's OWN task events (`task.dispatched`,
`task.transferred`, `task.reopened`), not straight after the write. Those events are in the task's
outbox, so they reach the broker at least once; the queue `routing.work-items` holds them until this
handler has published the work item with a confirm, and only then acks. A crash anywhere means a
redelivery and a re-publish with the same `message_id` (the event id), never a lost item; a team's
system deduplicates on `message_id`. No second outbox kind is needed.

An event that is no longer current (the task moved to another team since) gives no item: the later
event gives the right one.
"""

from __future__ import annotations

import structlog
from aiormq.exceptions import DeliveryError

from services.routing.domain.model import OPEN_STATUSES
from services.routing.domain.workitems import KINDS, PhonePolicy, addition_item, work_item
from services.routing.service import RoutingService
from services.routing.store import RoutingStore
from shared.bus import Bus, Poison, RetryLater
from shared.events import (
    Envelope,
    EventData,
    FeedbackReceived,
    RequestCancelled,
    RequestNotAccepted,
    RequestSubmitted,
    TaskEvent,
)
from shared.events.requests import RequestSupplemented

log = structlog.get_logger("huiying.routing.work")

REQUEST_EVENTS = (
    "request.submitted",
    "request.cancelled",
    "request.feedback_received",
    "request.not_accepted",
    "request.supplemented",
)
WORK_EVENTS = (*KINDS, "request.supplemented")


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
        elif isinstance(data, RequestSupplemented):
            await self.service.supplement_from(envelope, data)
        else:
            raise Poison(f"routing does not handle {envelope.type}")


class WorkItemPublisher:
    def __init__(self, store: RoutingStore, bus: Bus, phones: dict[str, PhonePolicy]) -> None:
        """`phones`: each team's `work_item_phone` setting, by team id (every team with a work queue)."""
        self.store, self.bus, self.phones = store, bus, phones
        self.team_ids = set(phones)

    async def __call__(self, envelope: Envelope, data: EventData) -> None:
        if isinstance(data, RequestSupplemented):
            await self._addition(envelope, data)
            return
        if not isinstance(data, TaskEvent) or data.team is None:
            raise Poison(f"{envelope.type} without a team cannot become a work item")
        if data.team.id not in self.team_ids:
            raise Poison(f"team {data.team.id!r} has no work queue (is it still in deploy/teams.yaml?)")
        # The task as the write that carried this event stored it, when this process made that write (no read).
        task = await self.store.written_document(data.request_id, envelope.seq)
        if task is None:
            raise RetryLater(f"task {data.request_id} not readable yet")
        if task.get("seq", 0) > envelope.seq and task.get("team_id") != data.team.id:
            log.info("stale work item skipped", request_id=data.request_id, team=data.team.id)
            return
        item = work_item(envelope, data, task, self.phones[data.team.id])
        await self._publish(item.team_id, item.model_dump_json().encode(), str(envelope.event_id))

    async def _publish(self, team_id: str, body: bytes, message_id: str) -> None:
        try:
            await self.bus.publish_work_item(team_id, body, message_id=message_id)
        except DeliveryError:
            # Returned or refused: someone deleted the team's queue, or its leader just died (a cluster). Declare
            # it again (its policies were put in place at start-up and outlast the queue, so this needs no
            # management API, whose node may be the one that died) and publish once more; if that fails too
            # the message is retried later (RetryLater), never dropped.
            log.warning("work queue refused the item; declaring it again", team=team_id)
            try:
                await self.bus.declare_work_queue(team_id, policies=False)
                await self.bus.publish_work_item(team_id, body, message_id=message_id)
            except DeliveryError as exc:
                raise RetryLater(f"work queue for {team_id} is not routable: {exc}") from exc

    async def _addition(self, envelope: Envelope, data: RequestSupplemented) -> None:
        """The resident added to the request: an item for the team handling it now (none while nobody does)."""
        task = await self.store.get_document(data.request_id)
        if task is None:
            raise RetryLater(f"task {data.request_id} not readable yet")
        team_id = task.get("team_id")
        if team_id not in self.team_ids or task.get("status") not in OPEN_STATUSES:
            log.info("addition without a team queue", request_id=data.request_id, team=team_id)
            return
        item = addition_item(envelope, data, task, self.phones[team_id])
        await self._publish(item.team_id, item.model_dump_json().encode(), str(envelope.event_id))
