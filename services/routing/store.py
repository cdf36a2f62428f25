"""Routing's MongoDB collections: tasks (with their embedded outbox)."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.routing.domain import NewTask
from shared.outbox import OutboxWriter, ensure_outbox_indexes

Document = dict[str, Any]


class RoutingStore:
    def __init__(self, db: AsyncDatabase[Document], writer: OutboxWriter) -> None:
        self.db = db
        self.writer = writer
        self.tasks = db["tasks"]

    async def ensure_indexes(self) -> None:
        await self.tasks.create_index([("team_id", ASCENDING), ("status", ASCENDING)])
        await self.tasks.create_index("tracking_code")
        await ensure_outbox_indexes(self.tasks)

    async def insert_task(self, task: NewTask) -> Document | None:
        """Store a new task with its events. None if the task exists already (a redelivery)."""
        document = self.writer.on_insert(task.document, task.events)
        try:
            await self.tasks.insert_one(document)
        except DuplicateKeyError:
            return None
        return document

    async def get(self, request_id: str) -> Document | None:
        return await self.tasks.find_one({"_id": request_id}, {"outbox": 0, "outbox_lease": 0})
