"""Notify's MongoDB collections: recipients (one per request), the inbox, and the delivery log.

Two small Protocols say what the rest of notify needs: `NotifyStore` for the service (recording what an
event tells, reading the inbox and the log) and `DeliveryQueue` for the delivery worker (claiming due
records under a lease, settling them). `MongoNotifyStore` is both, with PyMongo's async API; the unit
tests use an in-memory twin (tests/unit/notify/fakes.py) that keeps the same guards.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.notify.domain.deliveries import SENDING, claim_filter, claim_update

Document = dict[str, Any]


class NotifyStore(Protocol):
    async def save_recipient(self, recipient: Document) -> None:
        """First write wins: a redelivered request.submitted changes nothing."""
        ...

    async def recipient(self, request_id: str) -> Document | None: ...

    async def recipient_by_code(self, tracking_code: str) -> Document | None: ...

    async def set_team(self, request_id: str, team_id: str, seq: int) -> None:
        """The request's current team, applied only if `seq` is newer than the one stored."""
        ...

    async def add_to_inbox(self, message: Document) -> bool:
        """False if this event's message is already there (a redelivery)."""
        ...

    async def inbox_for(self, tracking_code: str) -> list[Document]: ...

    async def add_delivery(self, delivery: Document) -> bool:
        """Insert unless this (event, channel, recipient) is already recorded; True if it is new."""
        ...

    async def deliveries_for(self, request_id: str) -> list[Document]: ...


class DeliveryQueue(Protocol):
    async def claim_due(self, owner: str, now: datetime, lease_s: float) -> Document | None:
        """Take the most overdue claimable delivery, leased to `owner`; None when nothing is due."""
        ...

    async def settle(self, delivery_id: str, owner: str, update: Document) -> bool:
        """Record an attempt's outcome if `owner` still holds the lease; False if another replica took it."""
        ...


class MongoNotifyStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db
        self.recipients = db["recipients"]
        self.inbox = db["inbox"]
        self.deliveries = db["deliveries"]

    async def ensure_indexes(self) -> None:
        await self.recipients.create_index("tracking_code", unique=True)
        await self.inbox.create_index([("tracking_code", ASCENDING), ("created_at", ASCENDING)])
        # The delivery log's identity: a redelivered or duplicated event can never add a second record.
        await self.deliveries.create_index(
            [("event_id", ASCENDING), ("channel", ASCENDING), ("recipient", ASCENDING)],
            unique=True,
            name="one_per_event_channel_recipient",
        )
        await self.deliveries.create_index([("status", ASCENDING), ("next_attempt_at", ASCENDING)], name="due")
        await self.deliveries.create_index([("request_id", ASCENDING), ("created_at", ASCENDING)], name="by_request")

    # --- recipients ---------------------------------------------------------------------------------

    async def save_recipient(self, recipient: Document) -> None:
        fields = {k: v for k, v in recipient.items() if k != "_id"}
        await self.recipients.update_one({"_id": recipient["_id"]}, {"$setOnInsert": fields}, upsert=True)

    async def recipient(self, request_id: str) -> Document | None:
        return await self.recipients.find_one({"_id": request_id})

    async def recipient_by_code(self, tracking_code: str) -> Document | None:
        return await self.recipients.find_one({"tracking_code": tracking_code})

    async def set_team(self, request_id: str, team_id: str, seq: int) -> None:
        await self.recipients.update_one(
            {"_id": request_id, "$or": [{"team_seq": {"$lt": seq}}, {"team_seq": {"$exists": False}}]},
            {"$set": {"team_id": team_id, "team_seq": seq}},
        )

    # --- inbox ---------------------------------------------------------------------------------------

    async def add_to_inbox(self, message: Document) -> bool:
        try:
            await self.inbox.insert_one(message)
        except DuplicateKeyError:
            return False
        return True

    async def inbox_for(self, tracking_code: str) -> list[Document]:
        cursor = self.inbox.find({"tracking_code": tracking_code}).sort([("event_at", 1), ("created_at", 1)])
        return [doc async for doc in cursor]

    # --- deliveries ----------------------------------------------------------------------------------

    async def add_delivery(self, delivery: Document) -> bool:
        fields = {k: v for k, v in delivery.items() if k != "_id"}
        try:
            result = await self.deliveries.update_one({"_id": delivery["_id"]}, {"$setOnInsert": fields}, upsert=True)
        except DuplicateKeyError:
            return False  # two replicas raced on the same redelivered event: the other one wrote it
        return result.upserted_id is not None

    async def deliveries_for(self, request_id: str) -> list[Document]:
        cursor = self.deliveries.find({"request_id": request_id}).sort([("created_at", 1), ("_id", 1)])
        return [doc async for doc in cursor]

    async def claim_due(self, owner: str, now: datetime, lease_s: float) -> Document | None:
        """Atomically take the most overdue delivery (conditional update): safe with many replicas."""
        return await self.deliveries.find_one_and_update(
            claim_filter(now),
            claim_update(owner, now, lease_s),
            sort=[("next_attempt_at", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )

    async def settle(self, delivery_id: str, owner: str, update: Document) -> bool:
        result = await self.deliveries.update_one({"_id": delivery_id, "status": SENDING, "lease_owner": owner}, update)
        return result.modified_count == 1
