"""Notify's event consumer: records what each event tells whom, then acks. It sends nothing itself.

Per event: the resident (from request.submitted / request.not_accepted) is stored, the request's current
team is kept (staff access to the delivery log), then the inbox message and one delivery record per
(event, channel, recipient) are written, each keyed by a deterministic id: a redelivered or duplicated
event rewrites nothing. The delivery worker sends the pending records.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from jinja2 import TemplateError

from services.notify.deliveries import PENDING
from services.notify.domain import (
    Plan,
    Policy,
    is_for_staff,
    plan_for_resident,
    plan_for_staff,
    recipient_from,
)
from services.notify.metrics import DELIVERIES_PLANNED
from services.notify.store import NotifyStore
from services.notify.templates import Templates
from shared.bus import Poison, RetryLater
from shared.events import Envelope, EventData, RequestNotAccepted, RequestSubmitted, TaskEvent


class NotifyHandler:
    def __init__(
        self,
        store: NotifyStore,
        templates: Templates,
        clock: Callable[[], datetime],
        policy: Policy,
        *,
        on_pending: Callable[[], None] = lambda: None,
    ) -> None:
        self.store, self.templates, self.clock, self.policy = store, templates, clock, policy
        self.on_pending = on_pending

    async def __call__(self, envelope: Envelope, data: EventData) -> None:
        if isinstance(data, RequestSubmitted | RequestNotAccepted):
            await self.store.save_recipient(recipient_from(envelope, data))
        if isinstance(data, TaskEvent) and data.team is not None:
            await self.store.set_team(data.request_id, data.team.id, envelope.seq)
        recipient = await self.store.recipient(data.request_id)
        try:
            if is_for_staff(envelope):
                plan = plan_for_staff(envelope, data, recipient, self.templates, self.policy, self.clock())
            elif recipient is None:
                # The request.submitted event has not reached us yet (it is being retried): wait for it.
                raise RetryLater(f"recipient of {data.request_id} not known yet")
            else:
                plan = plan_for_resident(envelope, data, recipient, self.templates, self.policy, self.clock())
        except TemplateError as exc:
            # A template that fails at render time (compiled fine at start-up): park the event in the DLQ;
            # after the template is fixed, `huiying dlq` replays it.
            raise Poison(f"template for {envelope.type} failed: {type(exc).__name__}: {exc}") from exc
        await self._record(plan)

    async def _record(self, plan: Plan) -> None:
        if plan.inbox is not None:
            await self.store.add_to_inbox(plan.inbox)
        pending = False
        for delivery in plan.deliveries:
            if await self.store.add_delivery(delivery):
                DELIVERIES_PLANNED.labels(channel=delivery["channel"], status=delivery["status"]).inc()
                pending = pending or delivery["status"] == PENDING
        if pending:
            self.on_pending()
