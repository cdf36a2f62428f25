"""intake's service days (便民服务日): the read model of routing's programme, residents' sign-ups (portal and
channels), cancelling with the sign-up code, and the day-before reminder. See docs/intake.md, "Service days".

The store is MongoDB's `service_days` (one document per day, its events in the embedded outbox); every
change is one guarded write (services/intake/domain/servicedays.py decides). The reminder rides on a
periodic pass every replica runs: each pass reads today's and tomorrow's days and, for each, writes the
due reminders in one guarded write; a replica that loses the race writes nothing, so each resident is
reminded once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.intake.domain import servicedays as rules
from shared.bus import Poison, RetryLater
from shared.events import Envelope, EventData
from shared.events.servicedays import ServiceDayChanged
from shared.optimistic import AGAIN, Again, optimistic
from shared.outbox import HIDE, OutboxWriter, Publisher, ensure_outbox_indexes
from shared.tracking import new_tracking_code, normalize_tracking_code

Document = dict[str, Any]
UPCOMING = 60  # days listed at most


class Busy(Exception):
    """Every attempt lost a race with other writers: try again (503)."""


class DayStore(Protocol):
    async def get(self, day_id: str) -> Document | None: ...
    async def by_code(self, code: str) -> Document | None: ...
    async def from_date(self, first: str, limit: int) -> list[Document]: ...
    async def on_dates(self, dates: list[str]) -> list[Document]: ...
    async def write(self, write: rules.DayWrite) -> Document | None: ...


class MongoDayStore:
    def __init__(self, collection: AsyncCollection[Document], writer: OutboxWriter) -> None:
        self.collection = collection
        self.writer = writer

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("date", ASCENDING)])
        await self.collection.create_index("signups.code")
        await ensure_outbox_indexes(self.collection)

    async def get(self, day_id: str) -> Document | None:
        return await self.collection.find_one({"_id": day_id}, HIDE)

    async def by_code(self, code: str) -> Document | None:
        return await self.collection.find_one({"signups.code": code}, HIDE)

    async def from_date(self, first: str, limit: int) -> list[Document]:
        cursor = self.collection.find({"date": {"$gte": first}}, HIDE).sort([("date", ASCENDING), ("_id", ASCENDING)])
        return [d async for d in cursor.limit(limit)]

    async def on_dates(self, dates: list[str]) -> list[Document]:
        return [d async for d in self.collection.find({"date": {"$in": dates}}, HIDE)]

    async def write(self, write: rules.DayWrite) -> Document | None:
        """The written document (with its outbox), or None when the guard matched nothing (or, for an insert,
        the document is there already)."""
        if write.guard is None:
            assert write.document is not None
            document = self.writer.on_insert(write.document, write.events)
            try:
                await self.collection.insert_one(document)
            except DuplicateKeyError:
                return None
            return document
        assert write.update is not None
        return await self.collection.find_one_and_update(
            write.guard, self.writer.on_update(write.update, write.events), return_document=ReturnDocument.AFTER
        )


class ServiceDays:
    def __init__(
        self,
        store: DayStore,
        publisher: Publisher,
        clock: Callable[[], datetime],
        zone: ZoneInfo,
        *,
        remind_hour: int = 10,
        new_code: Callable[[], str] = new_tracking_code,
    ) -> None:
        self.store, self.publisher, self.clock, self.zone = store, publisher, clock, zone
        self.remind_hour = remind_hour
        self.new_code = new_code

    async def _written(self, doc: Document | None) -> Document | None:
        if doc is not None and doc.get("outbox"):
            await self.publisher.publish_after_write(doc)
        return doc

    # -- what residents read ---------------------------------------------------------------------------

    async def upcoming(self) -> list[Document]:
        now = self.clock()
        first = now.astimezone(self.zone).date().isoformat()
        days = await self.store.from_date(first, UPCOMING)
        return [rules.public_day(d, now, self.zone) for d in days if d["status"] == rules.SCHEDULED]

    async def day(self, day_id: str) -> Document | None:
        doc = await self.store.get(day_id)
        return None if doc is None else rules.public_day(doc, self.clock(), self.zone)

    async def signup(self, raw_code: str) -> Document | None:
        code = normalize_tracking_code(raw_code)
        doc = await self.store.by_code(code) if code else None
        found = rules.find(doc, code) if doc is not None and code else None
        if found is None:
            return None
        assert doc is not None
        return rules.signup_view(doc, found[1], self.clock(), self.zone)

    # -- what residents do -----------------------------------------------------------------------------

    async def sign_up(self, day_id: str, draft: rules.SignupDraft) -> Document:
        """Store a sign-up; the view with its code. Raises `SignupRefused` (full, closed, already, ...)."""
        code, signup_id = self.new_code(), str(uuid.uuid4())

        async def attempt() -> Document | Again:
            doc = await self.store.get(day_id)
            now = self.clock()
            write = rules.sign_up(doc, draft, code, signup_id, now, self.zone)
            written = await self._written(await self.store.write(write))
            if written is None:
                return AGAIN  # another sign-up took the last place, or the programme changed: decide again
            found = rules.find(written, code)
            assert found is not None
            return rules.signup_view(written, found[1], now, self.zone)

        # A lost race means the document moved on (a place was taken, the programme changed): at most one
        # attempt per place left plus a few; a full service ends it with SignupRefused("full").
        return await optimistic(attempt, gave_up=lambda: Busy("too many sign-ups at once; try again"), attempts=50)

    async def cancel(self, raw_code: str) -> Document:
        code = normalize_tracking_code(raw_code)
        if code is None:
            raise rules.SignupRefused("unknown_code", "no sign-up with this code; check the code", field="code")

        async def attempt() -> Document | Again:
            doc = await self.store.by_code(code)
            if doc is None:
                raise rules.SignupRefused("unknown_code", "no sign-up with this code; check the code", field="code")
            now = self.clock()
            write = rules.cancel(doc, code, now, self.zone)
            written = doc if write is None else await self._written(await self.store.write(write))
            if written is None:
                return AGAIN
            found = rules.find(written, code)
            assert found is not None
            return rules.signup_view(written, found[1], now, self.zone)

        return await optimistic(attempt, gave_up=lambda: Busy("the day kept changing; try again"))

    # -- routing's programme ---------------------------------------------------------------------------

    async def apply_programme(self, envelope: Envelope, data: ServiceDayChanged) -> bool:
        """Apply `serviceday.changed` if newer. Idempotent."""

        async def attempt() -> bool | Again:
            doc = await self.store.get(data.day.day_id)
            write = rules.apply_programme(doc, envelope.seq, data, self.clock())
            if write is None:
                return False
            return AGAIN if await self._written(await self.store.write(write)) is None else True

        return await optimistic(attempt, gave_up=lambda: Busy(f"service day {data.day.day_id} kept changing"))

    # -- the reminder ----------------------------------------------------------------------------------

    async def remind(self) -> int:
        """One pass: write the due day-before reminders (each day's in one guarded write). The number of
        reminders this replica wrote; a lost race leaves them to the writer that won."""
        now = self.clock()
        count = 0
        for doc in await self.store.on_dates(rules.reminder_dates(now, self.zone)):
            write = rules.due_reminders(doc, now, self.zone, self.remind_hour)
            if write is not None and await self._written(await self.store.write(write)) is not None:
                count += len(write.events)
        return count

    async def remind_pass(self) -> None:
        """The periodic loop's tick (a pass that wrote reminders is not "more to do": the next pass is enough)."""
        await self.remind()


class ProgrammeHandler:
    """On `intake.task-events`: routing's serviceday.changed -> the read model residents sign up from."""

    def __init__(self, days: ServiceDays) -> None:
        self.days = days

    async def __call__(self, envelope: Envelope, data: EventData) -> None:
        if not isinstance(data, ServiceDayChanged):
            raise Poison(f"{envelope.type} is not a service day event")
        try:
            await self.days.apply_programme(envelope, data)
        except Busy as exc:
            raise RetryLater(str(exc)) from exc
