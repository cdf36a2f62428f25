"""Intake's MongoDB collections: requests (with their embedded outbox and status view) and channels."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.intake.domain import Accepted
from shared.outbox import OutboxWriter, ensure_outbox_indexes

Document = dict[str, Any]


def hash_key(api_key: str) -> str:
    # API keys are long random strings, so a fast hash is enough (unlike passwords).
    return hashlib.sha256(api_key.encode()).hexdigest()


class TrackingCodeTaken(Exception):
    pass


class IntakeStore:
    def __init__(self, db: AsyncDatabase[Document], writer: OutboxWriter) -> None:
        self.db = db
        self.writer = writer
        self.requests = db["requests"]
        self.channels = db["channels"]

    async def ensure_indexes(self) -> None:
        await self.requests.create_index("tracking_code", unique=True)
        await self.requests.create_index([("submitted_at", DESCENDING)])
        await self.requests.create_index([("service_code", ASCENDING), ("submitted_at", DESCENDING)])
        await ensure_outbox_indexes(self.requests)
        await self.channels.create_index("key_hash", unique=True)

    # -- requests ----------------------------------------------------------------------------------

    async def insert_request(self, accepted: Accepted) -> Document:
        """Store the request and its events in one write. Raises TrackingCodeTaken on a code clash."""
        document = self.writer.on_insert(accepted.document, accepted.events)
        try:
            await self.requests.insert_one(document)
        except DuplicateKeyError as exc:
            if "tracking_code" in str(exc):
                raise TrackingCodeTaken from exc
            raise
        return document

    async def by_tracking_code(self, code: str) -> Document | None:
        return await self.requests.find_one({"tracking_code": code}, {"outbox": 0, "outbox_lease": 0})

    async def apply_routing_event(self, request_id: str, seq: int, state: Document, entry: Document) -> bool:
        """Apply a routing event to the status view. Idempotent; an older seq never overwrites a newer.

        Returns False if the request is unknown.
        """
        newer = await self.requests.update_one({"_id": request_id, "routing_seq": {"$lt": seq}}, {"$set": state})
        logged = await self.requests.update_one(
            {"_id": request_id, "timeline.event_id": {"$ne": entry["event_id"]}}, {"$push": {"timeline": entry}}
        )
        if newer.matched_count or logged.matched_count:
            return True
        return await self.requests.count_documents({"_id": request_id}, limit=1) > 0

    # -- channels ----------------------------------------------------------------------------------

    async def channel_for_key(self, api_key: str) -> Document | None:
        return await self.channels.find_one({"key_hash": hash_key(api_key), "active": True})

    async def seed_channel(self, channel_id: str, kind: str, api_key: str, now: datetime) -> None:
        await self.channels.update_one(
            {"_id": channel_id},
            {
                "$setOnInsert": {"created_at": now},
                "$set": {"kind": kind, "key_hash": hash_key(api_key), "active": True, "name": channel_id},
            },
            upsert=True,
        )
