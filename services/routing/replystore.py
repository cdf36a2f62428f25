"""Canned replies in MongoDB (collection `canned_replies`), behind the `ReplyStore` protocol
services/routing/replies.py depends on. An edit is guarded by the reply's `version`, like a task's `rev`:
two leads editing the same reply cannot both win unseen."""

from __future__ import annotations

from typing import Any, Protocol

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.routing.domain.replies import CannedReply

Document = dict[str, Any]


class ReplyStore(Protocol):
    async def list(self, team_id: str | None, kind: str | None = None) -> list[CannedReply]:
        """A team's replies (None: every team's); with `kind`, those for that kind and for every kind."""
        ...

    async def get(self, reply_id: str) -> CannedReply | None: ...

    async def count(self, team_id: str) -> int: ...

    async def insert(self, reply: CannedReply) -> bool: ...

    async def replace(self, reply: CannedReply, version: int) -> CannedReply | None:
        """Store `reply` if the stored one is still `version`; None if it changed or is gone."""
        ...

    async def delete(self, reply_id: str) -> bool: ...


class MongoReplyStore:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("team_id", ASCENDING), ("kind", ASCENDING)])

    async def list(self, team_id: str | None, kind: str | None = None) -> list[CannedReply]:
        filter_: Document = {} if team_id is None else {"team_id": team_id}
        if kind is not None:
            filter_["kind"] = {"$in": [kind, None]}
        cursor = self.collection.find(filter_).sort([("team_id", ASCENDING), ("title", ASCENDING)])
        return [CannedReply.model_validate(d) async for d in cursor]

    async def get(self, reply_id: str) -> CannedReply | None:
        doc = await self.collection.find_one({"_id": reply_id})
        return CannedReply.model_validate(doc) if doc else None

    async def count(self, team_id: str) -> int:
        return await self.collection.count_documents({"team_id": team_id})

    async def insert(self, reply: CannedReply) -> bool:
        try:
            await self.collection.insert_one(reply.document())
        except DuplicateKeyError:
            return False
        return True

    async def replace(self, reply: CannedReply, version: int) -> CannedReply | None:
        doc = await self.collection.find_one_and_replace(
            {"_id": reply.id, "version": version}, reply.document(), return_document=ReturnDocument.AFTER
        )
        return CannedReply.model_validate(doc) if doc else None

    async def delete(self, reply_id: str) -> bool:
        return (await self.collection.delete_one({"_id": reply_id})).deleted_count == 1
