"""routing's service days (便民服务日): the application layer and the consumer of intake's sign-up events.

Staff plan a day (create, edit, cancel: each one guarded write carrying `serviceday.changed` in the
outbox); intake's read model shows it to residents, who sign up there. Intake's `signup.made` /
`signup.cancelled` events fill the day's attendance list here (name and masked phone only); staff tick who
came; the ledger counts sign-ups and attendance by day and by service. See docs/routing.md.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.routing.daystore import DayStore
from services.routing.domain import servicedays as rules
from services.routing.domain.errors import Conflict, Invalid, NotVisible
from services.routing.domain.model import Actor
from shared.bus import Poison, RetryLater
from shared.events import Envelope, EventData
from shared.events.servicedays import SignupCancelled, SignupMade
from shared.optimistic import AGAIN, Again, optimistic
from shared.outbox import Publisher
from shared.tracking import TRACKING_ALPHABET

Document = dict[str, Any]
MAX_SPAN_DAYS = 400
# What `routing.request-events` takes for service days besides intake's request events (shared/topology.py).
SIGNUP_EVENTS = ("signup.made", "signup.cancelled")


def new_day_id() -> str:
    return "SD" + "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(8))


class ServiceDays:
    def __init__(
        self,
        store: DayStore,
        publisher: Publisher,
        clock: Callable[[], datetime],
        zone: ZoneInfo,
        new_id: Callable[[], str] = new_day_id,
    ) -> None:
        self.store, self.publisher, self.clock, self.zone, self.new_id = store, publisher, clock, zone, new_id

    async def _written(self, doc: Document | None) -> Document | None:
        if doc is not None and doc.get("outbox"):
            await self.publisher.publish_after_write(doc)
        return doc

    async def create(self, draft: rules.DayDraft, actor: Actor) -> Document:
        write = rules.create(self.new_id(), draft, actor, self.clock(), self.zone)
        doc = await self._written(await self.store.write(write))
        assert doc is not None
        return doc

    async def get(self, day_id: str, actor: Actor) -> Document:
        doc = await self.store.get(day_id)
        if doc is None or not rules.may_see(actor, doc.get("team")):
            raise NotVisible(f"no service day {day_id} among your team's days")
        return doc

    async def _change(self, day_id: str, actor: Actor, decide: Callable[[Document], rules.DayWrite | None]) -> Document:
        async def attempt() -> Document | Again:
            doc = await self.get(day_id, actor)
            write = decide(doc)
            if write is None:
                return doc
            written = await self._written(await self.store.write(write))
            return AGAIN if written is None else written

        return await optimistic(attempt, gave_up=lambda: Conflict("the day kept changing; try again"))

    async def edit(self, day_id: str, draft: rules.DayDraft, actor: Actor) -> Document:
        return await self._change(day_id, actor, lambda doc: rules.edit(doc, draft, actor, self.clock(), self.zone))

    async def cancel(self, day_id: str, actor: Actor) -> Document:
        return await self._change(day_id, actor, lambda doc: rules.cancel(doc, actor, self.clock(), self.zone))

    async def mark(self, day_id: str, code: str, attended: bool, actor: Actor) -> Document:
        return await self._change(day_id, actor, lambda doc: rules.attendance(doc, code, attended, actor, self.clock()))

    def _span(self, first: date | None, last: date | None, default_back: int, default_ahead: int) -> tuple[str, str]:
        today = rules.local_today(self.clock(), self.zone)
        first = first or today - timedelta(days=default_back)
        last = last or today + timedelta(days=default_ahead)
        if first > last:
            raise Invalid("from", "must not be after `to`")
        if (last - first).days > MAX_SPAN_DAYS:
            raise Invalid("from", f"the period is at most {MAX_SPAN_DAYS} days; narrow it")
        return first.isoformat(), last.isoformat()

    async def list(self, actor: Actor, first: date | None = None, last: date | None = None) -> list[Document]:
        """The days the caller may see, from 30 days back to 180 ahead unless told."""
        a, b = self._span(first, last, 30, 180)
        return await self.store.between(a, b, None if actor.sees_everything else (actor.team or "-"))

    async def ledger(self, actor: Actor, first: date | None = None, last: date | None = None) -> Document:
        a, b = self._span(first, last, 90, 0)
        team = None if actor.sees_everything else (actor.team or "-")
        return {"from": a, "to": b, **rules.ledger(await self.store.between(a, b, team))}

    # -- intake's sign-up events ------------------------------------------------------------------------

    async def apply_signup(self, envelope: Envelope, data: EventData) -> None:
        """Idempotent: a sign-up is added once, cancelled once. Raises KeyError while the day (or the sign-up
        a cancellation names) is not known here yet."""
        if not isinstance(data, SignupMade | SignupCancelled):
            return
        day_id = data.day.day_id

        async def attempt() -> bool | Again:
            doc = await self.store.get(day_id)
            if doc is None:
                raise KeyError(day_id)
            if isinstance(data, SignupMade):
                entry = {
                    "code": data.tracking_code,
                    "signup_id": data.signup_id,
                    "name": data.resident.name,
                    "phone_masked": data.phone_masked,
                    "services": list(data.services),
                    "channel": data.channel,
                    "status": "active",
                    "made_at": data.made_at,
                    "attended": False,
                }
                write = rules.signup_added(doc, entry)
            else:
                write = rules.signup_cancelled(doc, data.tracking_code, data.cancelled_at)
            if write is None:
                return False
            return AGAIN if await self.store.write(write) is None else True

        await optimistic(attempt, gave_up=lambda: RetryLater(f"service day {day_id} kept changing"))


class SignupsHandler:
    """On `routing.request-events`: intake's signup.made / signup.cancelled -> the day's attendance list."""

    def __init__(self, days: ServiceDays) -> None:
        self.days = days

    async def __call__(self, envelope: Envelope, data: EventData) -> None:
        if not isinstance(data, SignupMade | SignupCancelled):
            raise Poison(f"{envelope.type} is not a sign-up event")
        try:
            await self.days.apply_signup(envelope, data)
        except KeyError as exc:
            # The day is routing's own, so it exists; a cancellation may overtake its sign-up on a retry.
            raise RetryLater(f"{envelope.type}: {exc} not known yet") from exc
