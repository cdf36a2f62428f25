"""The care register in MongoDB (`care_households`, with its embedded outbox), behind `CareStore`.

Every change is ONE write: an insert, or a `find_one_and_update` whose filter holds the `_id` and the `rev`
the decision was made on, carrying the household's new state and its events. Two sweepers (or a sweeper and
a staff member) deciding on the same version: one write wins, the other matches nothing and decides again
on the fresh document.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.routing.cache import CACHE_TTL_S, Cached
from services.routing.domain.care import CareOutcome, Household
from shared.outbox import HIDE, OutboxWriter, ensure_outbox_indexes

Document = dict[str, Any]
LIST_ORDER = [("next_due_at", ASCENDING)]
MAX_LIST = 500
PHONE_FIELDS = {"phone", "kinds", "active"}  # what the dispatch look-up reads


class CareStore(Protocol):
    async def insert(self, outcome: CareOutcome) -> Document | None:
        """None if the id is taken."""
        ...

    async def save(self, outcome: CareOutcome) -> Document | None:
        """Apply a change if the household is still the version it was decided on; None if it is not."""
        ...

    async def set_next_check(self, h: Household, when: datetime | None) -> None: ...

    async def get(self, household_id: str) -> Household | None: ...

    async def households_of(
        self, team_id: str | None, *, active: bool = True, due_before: datetime | None = None
    ) -> list[Household]:
        """A team's households (every team's with None), soonest due first, at most MAX_LIST."""
        ...

    async def due_for_sweep(self, now: datetime, limit: int) -> list[Household]: ...

    async def kinds_by_phone(self, phone: str) -> list[str]:
        """The kinds of care of the active households with this phone (E.164), for routing's dispatch."""
        ...


class MongoCareStore:
    def __init__(
        self, collection: AsyncCollection[Document], writer: OutboxWriter, cache_ttl_s: float = CACHE_TTL_S
    ) -> None:
        self.households = collection
        self.writer = writer
        # The registered phones, read at most once per TTL: dispatch asks for every request (services/routing/cache.py)
        self._phones: Cached[dict[str, list[str]]] = Cached(self._read_phones, cache_ttl_s)

    async def ensure_indexes(self) -> None:
        # a team's register and the overdue list, soonest due first; every team's for supervisors
        await self.households.create_index([("team_id", ASCENDING), ("active", ASCENDING), *LIST_ORDER])
        await self.households.create_index([("active", ASCENDING), *LIST_ORDER])
        await self.households.create_index("next_check_at", sparse=True)  # the sweeper
        await ensure_outbox_indexes(self.households)

    async def insert(self, outcome: CareOutcome) -> Document | None:
        document = self.writer.on_insert(outcome.household.document(), outcome.events)
        try:
            await self.households.insert_one(document)
        except DuplicateKeyError:
            return None
        self._phones.invalidate()
        return document

    async def save(self, outcome: CareOutcome) -> Document | None:
        assert outcome.before is not None
        fields = outcome.household.model_dump(by_alias=True, exclude={"id", "seq", "rev"})
        update: Document = {"$set": fields, "$inc": {"rev": 1, "seq": len(outcome.events)}}
        saved = await self.households.find_one_and_update(
            {"_id": outcome.before.id, "rev": outcome.before.rev},
            self.writer.on_update(update, outcome.events),
            return_document=ReturnDocument.AFTER,
        )
        if saved is not None and outcome.before.model_dump(include=PHONE_FIELDS) != outcome.household.model_dump(
            include=PHONE_FIELDS
        ):
            self._phones.invalidate()
        return saved

    async def set_next_check(self, h: Household, when: datetime | None) -> None:
        await self.households.update_one({"_id": h.id, "rev": h.rev}, {"$set": {"next_check_at": when}})

    async def get(self, household_id: str) -> Household | None:
        doc = await self.households.find_one({"_id": household_id}, HIDE)
        return Household.model_validate(doc) if doc else None

    async def households_of(
        self, team_id: str | None, *, active: bool = True, due_before: datetime | None = None
    ) -> list[Household]:
        filter_: Document = {"active": active}
        if team_id is not None:
            filter_["team_id"] = team_id
        if due_before is not None:
            filter_["next_due_at"] = {"$lte": due_before}
        cursor = self.households.find(filter_, {**HIDE, "visits": 0, "audit": 0}).sort(LIST_ORDER).limit(MAX_LIST)
        return [Household.model_validate(d) async for d in cursor]

    async def due_for_sweep(self, now: datetime, limit: int) -> list[Household]:
        cursor = (
            self.households.find({"next_check_at": {"$lte": now}}, HIDE).sort("next_check_at", ASCENDING).limit(limit)
        )
        return [Household.model_validate(d) async for d in cursor]

    async def kinds_by_phone(self, phone: str) -> list[str]:
        phones = await self._phones.get()
        return phones.get(phone) or ([] if phone.startswith("+") else phones.get(f"+86{phone}", []))

    async def _read_phones(self) -> dict[str, list[str]]:
        phones: dict[str, list[str]] = {}
        async for doc in self.households.find({"active": True, "phone": {"$ne": None}}, {"phone": 1, "kinds": 1}):
            known = phones.setdefault(doc["phone"], [])
            known.extend(k for k in doc.get("kinds", []) if k not in known)
        return phones
