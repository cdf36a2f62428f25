"""Staff search in MongoDB: tasks found by the search fields stored at dispatch, and each staff member's
saved views, behind the `SearchStore` protocol services/routing/search.py depends on.

A search is one `find` on the tasks, newest first. Every criterion is an equality or a range on a field
with an index (`ensure_indexes`); words are `{terms: <word>}` clauses on the multikey `terms` index, the
phone is its last four digits (`phone_last4`) with the whole number checked beside it. docs/routing.md
("Search") lists the queries and their indexes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from services.routing.domain.model import Task
from services.routing.domain.search import SearchQuery
from shared.outbox import HIDE

Document = dict[str, Any]
NEWEST_FIRST = [("submitted_at", DESCENDING), ("_id", ASCENDING)]
MAX_VIEWS = 30  # saved views per staff member


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
