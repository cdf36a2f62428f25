"""Notify's MongoDB collections: recipients (per request) and the inbox."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

Document = dict[str, Any]


class NotifyStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db
        self.recipients = db["recipients"]
        self.inbox = db["inbox"]

    async def ensure_indexes(self) -> None:
        await self.recipients.create_index("tracking_code", unique=True)
        await self.inbox.create_index([("tracking_code", ASCENDING), ("created_at", ASCENDING)])

    async def save_recipient(self, recipient: Document) -> None:
        fields = {k: v for k, v in recipient.items() if k != "_id"}
        await self.recipients.update_one({"_id": recipient["_id"]}, {"$setOnInsert": fields}, upsert=True)

    async def recipient(self, request_id: str) -> Document | None:
        return await self.recipients.find_one({"_id": request_id})

    async def recipient_by_code(self, tracking_code: str) -> Document | None:
        return await self.recipients.find_one({"tracking_code": tracking_code})

    async def add_to_inbox(self, message: Document) -> bool:
        """False if this event's message is already there (a redelivery)."""
        try:
            await self.inbox.insert_one(message)
        except DuplicateKeyError:
            return False
        return True

    async def inbox_for(self, tracking_code: str) -> list[Document]:
        cursor = self.inbox.find({"tracking_code": tracking_code}).sort([("event_at", 1), ("created_at", 1)])
        return [doc async for doc in cursor]
