"""notify's application layer: an event in -> plan, then ONE guarded write to the request's document (the
resident and team, the inbox message, the delivery records), wake the delivery worker. And the two reads:
a resident's inbox, and a request's delivery log for staff.

The write is idempotent on the event id (the document lists the events it has taken), so a redelivered or
duplicated event rewrites nothing. The events that introduce the resident (`request.submitted`,
`request.not_accepted`) carry all their plan needs and are written without a read; every other event reads
the document, decides on it and writes only if the document is still the version it read
(`shared.optimistic`). The resident is first-write-wins and the team is applied only if its event is
newer. Nothing is sent here: the delivery worker sends the pending records. notify publishes no events, so
it needs no outbox.
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
from services.notify.domain.record import EventWrite, is_newer_team, recipient_of
from services.notify.domain.templates import Templates
from services.notify.metrics import DELIVERIES_PLANNED, MISSING_TRANSLATIONS
from services.notify.store import STALE, WRITTEN, NotifyStore
from shared.events import Envelope, EventData, RequestNotAccepted, RequestSubmitted, TaskEvent
from shared.events.servicedays import SignupMade
from shared.optimistic import AGAIN, Again, optimistic
from shared.tracking import normalize_tracking_code

log = structlog.get_logger("huiying.notify.service")

Document = dict[str, Any]

NO_INBOX = "no messages for this tracking code; check the code on your receipt"


class NotifyError(Exception):
    """What a caller of the service can be told went wrong."""


class RecipientNotKnownYet(NotifyError):
    """A request's event came before the event that introduces its resident: try again later."""


class KeptChanging(RecipientNotKnownYet):
    """Every write lost a race with another replica or the worker: try the event again later."""


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
        if isinstance(data, RequestSubmitted | RequestNotAccepted | SignupMade):
            # The event brings the resident with it: plan and write without reading anything first.
            recipient = recipient_from(envelope, data)
            plan = self._plan(envelope, data, recipient)
            if await self.store.record(self._write(envelope, data, plan, recipient=recipient)) == WRITTEN:
                return self._written(envelope, plan)
            # The document was there already (a redelivery, or another event came first): read, then decide.

        async def attempt() -> Recorded | Again:
            doc = await self.store.request(data.request_id)
            if doc is not None and str(envelope.event_id) in doc.get("events", ()):
                return Recorded()  # a redelivery
            recipient, introduced = recipient_of(doc), None
            if recipient is None and isinstance(data, RequestSubmitted | RequestNotAccepted | SignupMade):
                recipient = introduced = recipient_from(envelope, data)
            team = None
            if isinstance(data, TaskEvent) and data.team is not None and is_newer_team(doc, envelope.seq):
                team = (data.team.id, envelope.seq)
                if recipient is not None:
                    recipient = {**recipient, "team_id": data.team.id}
            plan = self._plan(envelope, data, recipient)
            write = self._write(
                envelope, data, plan, recipient=introduced, team=team, version=(doc or {}).get("version", 0)
            )
            if await self.store.record(write) == STALE:
                return AGAIN
            return self._written(envelope, plan)

        return await optimistic(attempt, gave_up=lambda: KeptChanging(f"request {data.request_id} kept changing"))

    def _plan(self, envelope: Envelope, data: EventData, recipient: Document | None) -> Plan:
        try:
            if is_for_staff(envelope):
                return plan_for_staff(envelope, data, recipient, self.templates, self.policy, self.clock())
            if recipient is None:
                # The request.submitted event has not reached us yet (it is being retried): wait for it.
                raise RecipientNotKnownYet(f"recipient of {data.request_id} not known yet")
            return plan_for_resident(envelope, data, recipient, self.templates, self.policy, self.clock())
        except TemplateError as exc:
            # After the template is fixed, `huiying dlq` replays the event.
            raise TemplateFailed(f"template for {envelope.type} failed: {type(exc).__name__}: {exc}") from exc

    def _write(
        self,
        envelope: Envelope,
        data: EventData,
        plan: Plan,
        *,
        recipient: Document | None = None,
        team: tuple[str, int] | None = None,
        version: int | None = None,
    ) -> EventWrite:
        return EventWrite(
            request_id=data.request_id,
            event_id=str(envelope.event_id),
            now=self.clock(),
            tracking_code=getattr(data, "tracking_code", None),
            recipient=recipient,
            team=team,
            message=plan.inbox,
            deliveries=tuple(plan.deliveries),
            version=version,
        )

    def _written(self, envelope: Envelope, plan: Plan) -> Recorded:
        for language in plan.missing_translations:
            log.warning("missing translation; falling back to zh-CN", event_type=envelope.type, language=language)
            MISSING_TRANSLATIONS.labels(event_type=envelope.type, language=language).inc()
        pending = 0
        for delivery in plan.deliveries:
            DELIVERIES_PLANNED.labels(channel=delivery["channel"], status=delivery["status"]).inc()
            pending += delivery["status"] == PENDING
        if pending:
            self.on_pending()
        return Recorded(inbox=plan.inbox is not None, deliveries=len(plan.deliveries), pending=pending)

    async def inbox(self, tracking_code: str, *, allow_empty: bool = False) -> Inbox:
        """The messages told to the resident of a request. `allow_empty`: a well-formed code nothing was
        told about yet is an empty inbox rather than `NotFound`."""
        code = normalize_tracking_code(tracking_code)
        if code is None:
            raise NotFound(NO_INBOX)
        doc = await self.store.request_by_code(code)
        if recipient_of(doc) is None:
            if allow_empty:
                return Inbox(code, [])
            raise NotFound(NO_INBOX)
        assert doc is not None
        messages = sorted(doc.get("messages") or [], key=lambda m: (m["event_at"], m["created_at"]))
        return Inbox(code, messages)

    async def delivery_log(self, request_id: str, viewer: Viewer) -> DeliveryLog:
        doc = await self.store.request(request_id)
        recipient = recipient_of(doc)
        team_id = (recipient or {}).get("team_id")
        # A care household (`care:<id>`, routing's care register) has staff messages and no resident: supervisors
        # read its log.
        if doc is None or (recipient is None and not doc.get("deliveries")) or not viewer.sees(team_id):
            # The same answer for "no such request" and "not your team's": no probing of other teams' work.
            raise NotFound("no request with this request_id among your team's requests")
        return DeliveryLog(
            request_id=request_id,
            tracking_code=(recipient or {}).get("tracking_code"),
            team_id=team_id,
            deliveries=sorted(doc.get("deliveries") or [], key=lambda d: (d["created_at"], d["_id"])),
        )
