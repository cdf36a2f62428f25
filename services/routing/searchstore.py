"""Staff search in MongoDB: tasks found by the search fields stored at dispatch, and each staff member's
saved views, behind the `SearchStore` protocol services/routing/search.py depends on.

A search is one `find` on the tasks, newest first. Every criterion is an equality or a range on a field
with an index (`ensure_indexes`); words are `{terms: <word>}` clauses on the multikey `terms` index, the
phone is its last four digits (`phone_last4`) with the whole number checked beside it. docs/routing.md
("Search") lists the queries and their indexes.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Protocol

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from services.routing.domain.model import Task
from services.routing.domain.search import SearchQuery, Segmenter, index_terms, phone_last4
from shared.outbox import HIDE

Document = dict[str, Any]
NEWEST_FIRST = [("submitted_at", DESCENDING), ("_id", ASCENDING)]
MAX_VIEWS = 30  # saved views per staff member
BACKFILL = "search_terms_backfill"  # the marker of the one walk that gives older tasks their search fields


class SearchStore(Protocol):
    async def search(self, query: SearchQuery) -> tuple[list[Task], int]:
        """The tasks matching, newest first, at most `query.limit` from `query.offset`, and how many match."""
        ...

    async def views(self, owner: str) -> list[Document]: ...

    async def save_view(self, owner: str, name: str, query: dict[str, str], now: datetime) -> bool:
        """Store (or replace) a view by its name; False when the owner has MAX_VIEWS others already."""
        ...

    async def delete_view(self, owner: str, name: str) -> bool: ...


def search_filter(query: SearchQuery) -> Document:
    """The MongoDB filter of a search; the most selective indexed criteria first."""
    clauses: list[Document] = []
    if query.phone_last4 is not None:
        clauses.append({"phone_last4": query.phone_last4})
    clauses.extend({"terms": term} for term in query.terms)
    filter_: Document = {}
    if query.team is not None:
        filter_["team_id"] = query.team
    if query.phone:
        filter_["resident.phone"] = {"$in": list(query.phone)}
    if query.building is not None:
        filter_["building"] = query.building
    if query.kind is not None:
        filter_["service_code"] = query.kind
    if query.assignee is not None or query.assignee_unset:
        filter_["assignee"] = query.assignee
    if query.statuses:
        filter_["status"] = {"$in": list(query.statuses)}
    submitted: Document = {}
    if query.submitted_from is not None:
        submitted["$gte"] = query.submitted_from
    if query.submitted_to is not None:
        submitted["$lt"] = query.submitted_to
    if submitted:
        filter_["submitted_at"] = submitted
    if len(clauses) == 1:
        filter_ = clauses[0] | filter_
    elif clauses:
        filter_ = {"$and": clauses, **filter_}
    return filter_


def view_id(owner: str, name: str) -> str:
    return f"{owner}\x1f{name}"


class MongoSearchStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.tasks = db["tasks"]
        self.saved = db["saved_views"]

    async def ensure_indexes(self) -> None:
        """The search's indexes (the tasks' other indexes are services/routing/store.py's)."""
        await self.tasks.create_index("terms", name="search_terms")  # multikey: one entry per word
        await self.tasks.create_index("phone_last4", sparse=True, name="search_phone_last4")
        await self.tasks.create_index([("team_id", ASCENDING), ("submitted_at", DESCENDING)], name="search_team_newest")
        await self.tasks.create_index("building", sparse=True, name="search_building")
        await self.saved.create_index("owner")

    async def search(self, query: SearchQuery) -> tuple[list[Task], int]:
        filter_ = search_filter(query)
        total = await self.tasks.count_documents(filter_)
        cursor = (
            self.tasks.find(filter_, {**HIDE, "history": 0}).sort(NEWEST_FIRST).skip(query.offset).limit(query.limit)
        )
        return [Task.model_validate(d) async for d in cursor], total

    async def views(self, owner: str) -> list[Document]:
        cursor = self.saved.find({"owner": owner}, {"_id": 0, "owner": 0}).sort("name", ASCENDING)
        return [d async for d in cursor]

    async def save_view(self, owner: str, name: str, query: dict[str, str], now: datetime) -> bool:
        key = view_id(owner, name)
        if await self.saved.find_one({"_id": key}, {"_id": 1}) is None:
            if await self.saved.count_documents({"owner": owner}) >= MAX_VIEWS:
                return False
        document = {"owner": owner, "name": name, "query": query, "saved_at": now}
        await self.saved.replace_one({"_id": key}, document, upsert=True)
        return True

    async def delete_view(self, owner: str, name: str) -> bool:
        return (await self.saved.delete_one({"_id": view_id(owner, name)})).deleted_count == 1


class SearchBackfill:
    """Tasks stored before search existed have no search words (and a staff action since may have stored them
    empty): one walk over the tasks in `_id` order, a batch a pass, gives each its `terms` and `phone_last4`.
    The walk's position is kept in `migrations`, so a restart or another replica goes on where it stopped, and
    once it has ended a pass is one read by `_id`. A write is guarded on the task's `rev` and moves it, so a
    staff action decided on the task before loses its write and decides again (keeping the words)."""

    def __init__(self, db: AsyncDatabase[Document], words: Segmenter, batch: int = 200) -> None:
        self.tasks, self.marks, self.words, self.batch = db["tasks"], db["migrations"], words, batch

    async def step(self) -> bool:
        """One batch; True while more is left (the loop runs the next pass at once)."""
        mark = await self.marks.find_one({"_id": BACKFILL}) or {}
        if mark.get("done"):
            return False
        after = mark.get("after")
        cursor = self.tasks.find(
            {"_id": {"$gt": after}} if after is not None else {},
            {"description": 1, "address": 1, "unit": 1, "resident.phone": 1, "rev": 1, "terms": 1},
        )
        docs = [d async for d in cursor.sort("_id", ASCENDING).limit(self.batch)]
        todo = [d for d in docs if not d.get("terms")]
        fields = await asyncio.to_thread(lambda: [self._fields(d) for d in todo])  # jieba: off the event loop
        for doc, found in zip(todo, fields, strict=True):
            if found["terms"]:
                await self.tasks.update_one(
                    {"_id": doc["_id"], "rev": doc.get("rev")}, {"$set": found, "$inc": {"rev": 1}}
                )
        more = len(docs) == self.batch
        position = {"after": docs[-1]["_id"]} if docs else {}
        await self.marks.update_one({"_id": BACKFILL}, {"$set": {**position, "done": not more}}, upsert=True)
        return more

    def _fields(self, doc: Document) -> Document:
        terms = index_terms(doc.get("description") or "", doc.get("address"), doc.get("unit"), self.words)
        return {"terms": terms, "phone_last4": phone_last4((doc.get("resident") or {}).get("phone"))}
