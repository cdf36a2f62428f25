"""routing's service days in MongoDB (`service_days`, one document per day, its events in the embedded outbox).

`DayStore` is what services/routing/servicedays.py depends on; tests/unit/routing/test_servicedays.py
runs the service over an in-memory one.
"""

from __future__ import annotations

from typing import Any, Protocol

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from services.routing.domain.servicedays import DayWrite
from shared.outbox import HIDE, OutboxWriter, ensure_outbox_indexes

Document = dict[str, Any]


class DayStore(Protocol):
    async def get(self, day_id: str) -> Document | None: ...
    async def between(self, first: str, last: str, team: str | None) -> list[Document]: ...
    async def write(self, write: DayWrite) -> Document | None: ...


class MongoDayStore:
    def __init__(self, collection: AsyncCollection[Document], writer: OutboxWriter) -> None:
        self.collection = collection
        self.writer = writer

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("date", ASCENDING)])
        await ensure_outbox_indexes(self.collection)

    async def get(self, day_id: str) -> Document | None:
        return await self.collection.find_one({"_id": day_id}, HIDE)

    async def between(self, first: str, last: str, team: str | None) -> list[Document]:
        """Days from `first` to `last` (ISO dates, both included), of `team` when given."""
        query: Document = {"date": {"$gte": first, "$lte": last}}
        if team is not None:
            query["team"] = team
        return [d async for d in self.collection.find(query, HIDE).sort([("date", ASCENDING), ("_id", ASCENDING)])]

    async def write(self, write: DayWrite) -> Document | None:
        """The one write; the written document (with its outbox), or None when the guard matched nothing."""
        if write.guard is None:
            assert write.document is not None
            document = self.writer.on_insert(write.document, write.events)
            await self.collection.insert_one(document)
            return document
        assert write.update is not None
        return await self.collection.find_one_and_update(
            write.guard, self.writer.on_update(write.update, write.events), return_document=ReturnDocument.AFTER
        )
