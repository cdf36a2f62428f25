"""notify's application layer: an event in -> record the recipient and team, plan, write the inbox
message and the delivery records, wake the delivery worker. And the two reads: a resident's inbox, and a
request's delivery log for staff.

Every write is keyed by a deterministic id (the request for a recipient, the event for an inbox message,
(event, channel, recipient) for a delivery), so a redelivered or duplicated event rewrites nothing; the
recipient is first-write-wins and the team is applied only if its event is newer. Nothing is sent here:
the delivery worker sends the pending records. notify publishes no events, so it needs no outbox.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from jinja2 import TemplateError

from services.notify.domain.access import Viewer
from services.notify.domain.deliveries import PENDING
from services.notify.domain.planning import (
    Plan,
    Policy,
    is_for_staff,
    plan_for_resident,
    plan_for_staff,
    recipient_from,
)
from services.notify.domain.templates import Templates
from services.notify.metrics import DELIVERIES_PLANNED, MISSING_TRANSLATIONS
from services.notify.store import NotifyStore
from shared.events import Envelope, EventData, RequestNotAccepted, RequestSubmitted, TaskEvent
from shared.tracking import normalize_tracking_code

log = structlog.get_logger("huiying.notify.service")

Document = dict[str, Any]

NO_INBOX = "no messages for this tracking code; check the code on your receipt"


class NotifyError(Exception):
    """What a caller of the service can be told went wrong."""


class RecipientNotKnownYet(NotifyError):
    """A request's event came before the event that introduces its resident: try again later."""


class TemplateFailed(NotifyError):
    """A template failed at render time (it compiled at start-up): the event cannot be told as it is."""


class NotFound(NotifyError):
    """Nothing to show for what was asked (or nothing this caller may see: the same answer)."""


@dataclass(frozen=True)
class Recorded:
    """What one event added: the inbox message and the new delivery records (nothing on a redelivery)."""

    inbox: bool = False
    deliveries: int = 0
    pending: int = 0


@dataclass(frozen=True)
class Inbox:
    tracking_code: str
    messages: list[Document]


@dataclass(frozen=True)
class DeliveryLog:
    request_id: str
    tracking_code: str | None
    team_id: str | None
    deliveries: list[Document]


def _nothing() -> None:
    return None


class NotifyService:
    def __init__(
        self,
        store: NotifyStore,
        templates: Templates,
        policy: Policy,
        clock: Callable[[], datetime],
        *,
        on_pending: Callable[[], None] = _nothing,
    ) -> None:
        self.store, self.templates, self.policy, self.clock = store, templates, policy, clock
        self.on_pending = on_pending  # the delivery worker's wake-up

    async def record_event(self, envelope: Envelope, data: EventData) -> Recorded:
        """Record what `envelope` tells whom. Raises `RecipientNotKnownYet` or `TemplateFailed`."""
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
                raise RecipientNotKnownYet(f"recipient of {data.request_id} not known yet")
            else:
                plan = plan_for_resident(envelope, data, recipient, self.templates, self.policy, self.clock())
        except TemplateError as exc:
            # After the template is fixed, `huiying dlq` replays the event.
            raise TemplateFailed(f"template for {envelope.type} failed: {type(exc).__name__}: {exc}") from exc
        return await self._write(envelope, plan)

    async def _write(self, envelope: Envelope, plan: Plan) -> Recorded:
        for language in plan.missing_translations:
            log.warning("missing translation; falling back to zh-CN", event_type=envelope.type, language=language)
            MISSING_TRANSLATIONS.labels(event_type=envelope.type, language=language).inc()
        inbox = plan.inbox is not None and await self.store.add_to_inbox(plan.inbox)
        added = pending = 0
        for delivery in plan.deliveries:
            if await self.store.add_delivery(delivery):
                DELIVERIES_PLANNED.labels(channel=delivery["channel"], status=delivery["status"]).inc()
                added += 1
                if delivery["status"] == PENDING:
                    pending += 1
        if pending:
            self.on_pending()
        return Recorded(inbox=inbox, deliveries=added, pending=pending)

    async def inbox(self, tracking_code: str, *, allow_empty: bool = False) -> Inbox:
        """The messages told to the resident of a request. `allow_empty`: a well-formed code nothing was
        told about yet is an empty inbox rather than `NotFound`."""
        code = normalize_tracking_code(tracking_code)
        if code is None:
            raise NotFound(NO_INBOX)
        if await self.store.recipient_by_code(code) is None:
            if allow_empty:
                return Inbox(code, [])
            raise NotFound(NO_INBOX)
        return Inbox(code, await self.store.inbox_for(code))

    async def delivery_log(self, request_id: str, viewer: Viewer) -> DeliveryLog:
        recipient = await self.store.recipient(request_id)
        team_id = (recipient or {}).get("team_id")
        if recipient is None or not viewer.sees(team_id):
            # The same answer for "no such request" and "not your team's": no probing of other teams' work.
            raise NotFound("no request with this request_id among your team's requests")
        return DeliveryLog(
            request_id=request_id,
            tracking_code=recipient.get("tracking_code"),
            team_id=team_id,
            deliveries=await self.store.deliveries_for(request_id),
        )
