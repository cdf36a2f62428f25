"""Notify's MongoDB collection: one document per request (`requests`): the resident, the request's team, the
inbox messages and the delivery records together (services/notify/domain/record.py says what each event
writes).

Two small Protocols say what the rest of notify needs: `NotifyStore` for the service (one guarded write per
event, reading a request's document) and `DeliveryQueue` for the delivery worker (leasing a request
document with due records, settling their outcomes). `MongoNotifyStore` is both, with PyMongo's async
API; the unit tests use an in-memory twin (tests/unit/notify/fakes.py) that keeps the same guards.

Why an indexed `due_at` on the request document rather than a separate due-queue collection: the
records a worker must send and the mark that makes them findable are then written by the same single
document update, so a crash can never leave a pending record nobody looks for (a second collection
would need a second write per event and a repair sweep). The index is sparse: only documents with
something to send are in it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.notify.domain.deliveries import claim_filter, claim_update
from services.notify.domain.record import EventWrite, settle_update

Document = dict[str, Any]

Written = Literal["written", "duplicate", "stale"]
WRITTEN: Written = "written"
DUPLICATE: Written = "duplicate"  # the event is in the document already (a redelivery)
STALE: Written = "stale"  # the document is not the version the write was decided on: read and decide again

SETTLE_ATTEMPTS = 5


class NotifyStore(Protocol):
    async def request(self, request_id: str) -> Document | None:
        """The request's document (resident, team, messages, deliveries), None if nothing was told yet."""
        ...

    async def request_by_code(self, tracking_code: str) -> Document | None: ...

    async def record(self, write: EventWrite) -> Written:
        """ONE guarded write of what an event adds. `STALE` when the guard no longer matched."""
        ...


class DeliveryQueue(Protocol):
    async def claim_due(self, owner: str, now: datetime, lease_s: float) -> Document | None:
        """Lease the most overdue request document with a due record to `owner`; None when nothing is due."""
        ...

    async def settle(self, claimed: Document, owner: str, outcomes: dict[str, Document]) -> bool:
        """Record the outcomes (delivery id -> update) and release the lease if `owner` still holds it;
        False if another replica took the document over."""
        ...


def event_update(write: EventWrite) -> Document:
    """The update one event makes to its request's document."""
    fields: Document = {"updated_at": write.now}
    if write.tracking_code:
        fields["tracking_code"] = write.tracking_code
    if write.recipient is not None:
        fields["recipient"] = {k: v for k, v in write.recipient.items() if k != "_id"}
    if write.team is not None:
        fields["team_id"], fields["team_seq"] = write.team
    pushes: Document = {"events": write.event_id}
    if write.message is not None:
        pushes["messages"] = write.message
    if write.deliveries:
        pushes["deliveries"] = {"$each": list(write.deliveries)}
    update: Document = {
        "$set": fields,
        "$push": pushes,
        "$inc": {"version": 1},
        "$setOnInsert": {"created_at": write.now},
    }
    if write.due_at is not None:
        update["$min"] = {"due_at": write.due_at}
    return update


def event_filter(write: EventWrite) -> Document:
    if write.version is None:
        # Blind: the event introduces the resident and brings all it needs. It applies while the document has
        # no resident yet (or does not exist: then it is created); a redelivery finds its event id there.
        return {"_id": write.request_id, "events": {"$ne": write.event_id}, "recipient": {"$exists": False}}
    if write.version == 0:
        return {"_id": write.request_id, "version": {"$exists": False}}  # read as absent: create it
    return {"_id": write.request_id, "version": write.version}


class MongoNotifyStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db
        self.requests = db["requests"]

    async def ensure_indexes(self) -> None:
        # The resident's inbox: GET /v1/inbox/{tracking_code}.
        await self.requests.create_index("tracking_code", name="by_tracking_code")
        # The delivery worker's claim: only documents with something to send are in this (sparse) index.
        await self.requests.create_index([("due_at", ASCENDING)], sparse=True, name="due")

    async def request(self, request_id: str) -> Document | None:
        return await self.requests.find_one({"_id": request_id})

    async def request_by_code(self, tracking_code: str) -> Document | None:
        return await self.requests.find_one({"tracking_code": tracking_code})

    async def record(self, write: EventWrite) -> Written:
        upsert = write.version is None or write.version == 0
        try:
            result = await self.requests.update_one(event_filter(write), event_update(write), upsert=upsert)
        except DuplicateKeyError:
            # The document exists and the guard did not match it: a redelivery, or another event came first.
            return STALE
        return WRITTEN if result.matched_count or result.upserted_id is not None else STALE

    async def claim_due(self, owner: str, now: datetime, lease_s: float) -> Document | None:
        """Atomically lease the most overdue document (conditional update): safe with many replicas."""
        return await self.requests.find_one_and_update(
            claim_filter(now),
            claim_update(owner, now, lease_s),
            sort=[("due_at", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )

    async def settle(self, claimed: Document, owner: str, outcomes: dict[str, Document]) -> bool:
        doc: Document | None = claimed
        for _ in range(SETTLE_ATTEMPTS):
            if doc is None or doc.get("lease_owner") != owner:
                return False
            # Guarded by the version too: an event that added records meanwhile moves `due_at`, so read again.
            result = await self.requests.update_one(
                {"_id": doc["_id"], "lease_owner": owner, "version": doc.get("version")},
                settle_update(doc, outcomes),
            )
            if result.matched_count:
                return True
            doc = await self.request(doc["_id"])
        return False
