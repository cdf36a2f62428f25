"""intake's MongoDB collections: requests (with their embedded outbox and status view), channels and the
rate-limit windows. Every change is one single-document write carrying its events (shared/outbox.py).

`IntakeStore` is what the service layer (services/intake/service.py), the rate limiter and the event handler
call; `MongoIntakeStore` implements it with PyMongo's async API, and tests/unit/intake/fakes.py in memory.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.intake.domain.channels import PORTAL_CHANNEL, hash_key, portal_channel
from services.intake.domain.request import Accepted, Change
from services.intake.domain.status_view import keeps_cancelled
from shared.limits import ensure_window_indexes
from shared.outbox import HIDE, OutboxWriter, ensure_outbox_indexes

Document = dict[str, Any]

# Never sent to anybody: the outbox is plumbing, the resident's contact details stay inside.
HIDDEN = HIDE


class TrackingCodeTaken(Exception):
    pass


class IdempotencySlotTaken(Exception):
    """Another request already holds this channel's Idempotency-Key (perhaps written a moment ago by
    another replica): the caller reads it back and compares bodies."""


class IntakeStore(Protocol):
    async def insert_request(self, accepted: Accepted) -> Document: ...
    async def by_idempotency_slot(self, slot: str) -> Document | None: ...
    async def by_tracking_code(self, code: str) -> Document | None: ...
    async def by_id(self, request_id: str) -> Document | None: ...
    async def apply_change(self, change: Change) -> Document | None: ...
    async def find_requests(self, query: Document, *, skip: int, limit: int) -> list[Document]: ...
    async def apply_routing_event(self, request_id: str, seq: int, state: Document, entry: Document) -> bool: ...
    async def insert_channel(self, document: Document) -> bool: ...
    async def list_channels(self) -> list[Document]: ...
    async def get_channel(self, channel_id: str) -> Document | None: ...
    async def update_channel(self, channel_id: str, fields: Document) -> Document | None: ...
    async def active_channels(self) -> list[Document]: ...


def _duplicate_index(exc: DuplicateKeyError) -> str:
    details = exc.details or {}
    pattern = details.get("keyPattern") or {}
    if pattern:
        return next(iter(pattern))
    message = str(details.get("errmsg") or exc)
    for name in ("idem", "tracking_code"):
        if name in message:
            return name
    return "_id"


class MongoIntakeStore:
    def __init__(self, db: AsyncDatabase[Document], writer: OutboxWriter) -> None:
        self.db = db
        self.writer = writer
        self.requests = db["requests"]
        self.channels = db["channels"]
        self.rate_windows = db["rate_windows"]

    async def ensure_indexes(self) -> None:
        await self.requests.create_index("tracking_code", unique=True)
        # One stored request per (channel, Idempotency-Key): the index makes the check atomic with the
        # insert, so two replicas racing on the same key cannot both store a request.
        await self.requests.create_index("idem", unique=True, sparse=True, name="idempotency")
        await self.requests.create_index([("submitted_at", DESCENDING)])
        await self.requests.create_index([("updated_at", DESCENDING)])  # Open311 updated_after (sync clients)
        await self.requests.create_index([("service_code", ASCENDING), ("submitted_at", DESCENDING)])
        await self.requests.create_index([("channel", ASCENDING), ("submitted_at", DESCENDING)])
        await ensure_outbox_indexes(self.requests)
        await self.requests.create_index("photos.id", sparse=True)  # the orphan-photo sweep's reference check
        await self.channels.create_index("key_hash", unique=True)
        await ensure_window_indexes(self.rate_windows)

    # -- requests ----------------------------------------------------------------------------------

    async def insert_request(self, accepted: Accepted) -> Document:
        """Store the request and its events in one write.

        Raises TrackingCodeTaken on a code clash, IdempotencySlotTaken when the Idempotency-Key is in use.
        """
        document = self.writer.on_insert(accepted.document, accepted.events)
        try:
            await self.requests.insert_one(document)
        except DuplicateKeyError as exc:
            index = _duplicate_index(exc)
            if index == "idem":
                raise IdempotencySlotTaken from exc
            if index == "tracking_code":
                raise TrackingCodeTaken from exc
            raise
        return document

    async def by_idempotency_slot(self, slot: str) -> Document | None:
        return await self.requests.find_one({"idem": slot}, HIDDEN)

    async def by_tracking_code(self, code: str) -> Document | None:
        return await self.requests.find_one({"tracking_code": code}, HIDDEN)

    async def by_id(self, request_id: str) -> Document | None:
        return await self.requests.find_one({"_id": request_id}, HIDDEN)

    async def apply_change(self, change: Change) -> Document | None:
        """Apply a guarded change with its events in one write. None if the guard no longer matches
        (someone changed the request meanwhile): the caller reads again and decides again."""
        return await self.requests.find_one_and_update(
            change.guard, self.writer.on_update(change.update, change.events), return_document=ReturnDocument.AFTER
        )

    async def find_requests(self, query: Document, *, skip: int, limit: int) -> list[Document]:
        """A page of requests, newest first, without the resident and the timeline (public listings)."""
        cursor = (
            self.requests.find(query, {**HIDDEN, "resident": 0, "timeline": 0})
            .sort([("submitted_at", DESCENDING), ("_id", ASCENDING)])
            .skip(skip)
            .limit(limit)
        )
        return await cursor.to_list()

    async def apply_routing_event(self, request_id: str, seq: int, state: Document, entry: Document) -> bool:
        """Apply a routing event to the status view. Idempotent; an older seq never overwrites a newer.

        Returns False if the request is unknown.
        """
        # The common case in one write: a new event that is also the newest.
        both = await self.requests.update_one(
            {
                "_id": request_id,
                "routing_seq": {"$lt": seq},
                "status": {"$ne": "cancelled"},
                "timeline.event_id": {"$ne": entry["event_id"]},
            },
            {"$set": state, "$push": {"timeline": entry}},
        )
        if both.matched_count:
            return True
        newer = await self.requests.update_one(
            {"_id": request_id, "routing_seq": {"$lt": seq}, "status": {"$ne": "cancelled"}}, {"$set": state}
        )
        if not newer.matched_count:
            newer = await self.requests.update_one(
                {"_id": request_id, "routing_seq": {"$lt": seq}, "status": "cancelled"},
                {"$set": keeps_cancelled(state)},
            )
        logged = await self.requests.update_one(
            {"_id": request_id, "timeline.event_id": {"$ne": entry["event_id"]}}, {"$push": {"timeline": entry}}
        )
        if newer.matched_count or logged.matched_count:
            return True
        return await self.requests.count_documents({"_id": request_id}, limit=1) > 0

    async def referenced_photos(self, photo_ids: list[str]) -> set[str]:
        """Which of these photos a request lists (services/intake/photos.py, the orphan sweep)."""
        wanted = set(photo_ids)
        cursor = self.requests.find({"photos.id": {"$in": photo_ids}}, {"photos.id": 1})
        return {p["id"] async for doc in cursor for p in doc.get("photos") or [] if p.get("id") in wanted}

    # -- channels ----------------------------------------------------------------------------------

    async def active_channels(self) -> list[Document]:
        """Every active channel with its key hash (a handful of documents: intake keeps them in memory)."""
        return await self.channels.find({"active": True}).to_list()

    async def seed_channel(self, channel_id: str, kind: str, api_key: str, now: datetime) -> None:
        """Dev mode's `web` channel with its well-known key (docs/intake.md)."""
        await self.channels.update_one(
            {"_id": channel_id},
            {
                "$setOnInsert": {"created_at": now, "webhook_url": None},
                "$set": {
                    "kind": kind,
                    "key_hash": hash_key(api_key),
                    "key_hint": api_key[:4],
                    "active": True,
                    "name": channel_id,
                    "updated_at": now,
                },
            },
            upsert=True,
        )

    async def ensure_portal_channel(self, unused_key: str, now: datetime) -> None:
        """The portal's channel, created once and then left alone (an admin may disable it to pause online
        filing, or rename it)."""
        try:
            await self.channels.update_one(
                {"_id": PORTAL_CHANNEL}, {"$setOnInsert": portal_channel(unused_key, now)}, upsert=True
            )
        except DuplicateKeyError:
            pass  # another replica created it at the same moment

    async def insert_channel(self, document: Document) -> bool:
        """False if a channel with this id exists."""
        try:
            await self.channels.insert_one(document)
        except DuplicateKeyError:
            return False
        return True

    async def list_channels(self) -> list[Document]:
        return await self.channels.find({}, {"key_hash": 0}).sort("_id", ASCENDING).to_list()

    async def get_channel(self, channel_id: str) -> Document | None:
        return await self.channels.find_one({"_id": channel_id}, {"key_hash": 0})

    async def update_channel(self, channel_id: str, fields: Document) -> Document | None:
        return await self.channels.find_one_and_update(
            {"_id": channel_id},
            {"$set": fields},
            projection={"key_hash": 0},
            return_document=ReturnDocument.AFTER,
        )
