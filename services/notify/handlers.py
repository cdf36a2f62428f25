"""Notify's event consumer: decode -> `NotifyService.record_event`, then ack. It sends nothing itself.

One quorum queue (`notify.events`) takes every request.* and task.* event, and routing's staff.* events
for the staff read model (shared/staff_access.py). Idempotent: the service keys
every record it writes by the event, so a redelivered or duplicated event rewrites nothing. A task event
that arrives before its request.submitted is retried later; an event whose template fails at render time
is parked in the DLQ (after the template is fixed, `huiying dlq` replays it).
"""

from __future__ import annotations

from services.notify.service import NotifyService, RecipientNotKnownYet, TemplateFailed
from shared.bus import Handler, Poison, RetryLater
from shared.events import Envelope, EventData
from shared.topology import NOTIFY_CARE_EVENTS, NOTIFY_LEDGER_EVENTS

QUEUE = "notify.events"


class NotifyHandler:
    def __init__(self, service: NotifyService) -> None:
        self.service = service

    async def __call__(self, envelope: Envelope, data: EventData) -> None:
        try:
            await self.service.record_event(envelope, data)
        except RecipientNotKnownYet as exc:
            raise RetryLater(str(exc)) from exc
        except TemplateFailed as exc:
            raise Poison(str(exc)) from exc

    def bindings(self, staff: Handler) -> dict[str, Handler]:
        """What bootstrap subscribes on `QUEUE`: binding key -> handler (`staff.*` feeds the staff read model)."""
        # care.*: visits due or missed, told to the staff they are addressed to (like task.reminder)
        # signup.*: service days; a sign-up is told like a request (confirmation, reminder, cancellation)
        return {
            "request.*": self,
            "task.*": self,
            "staff.*": staff,
            "signup.*": self,
            **dict.fromkeys(NOTIFY_CARE_EVENTS, self),
            # ledger.weekly_report: routing's weekly report, e-mailed to the supervisors
            **dict.fromkeys(NOTIFY_LEDGER_EVENTS, self),
        }
