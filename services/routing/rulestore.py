"""Versioned routing rules in routing's database (`rulesets`, `_id` = version number).

Version 1 is the shipped file (deploy/routing/rules.yaml, read once by services/routing/config.py), stored
at first start. An edit inserts
version n+1 and names the version it was based on: two admins editing at once cannot both win (the
second insert of the same `_id` fails and gets a 409). Old versions stay, so every task's decision
(`<rule>@<version>`) can be looked up later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pymongo import DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.routing.cache import CACHE_TTL_S, Cached
from services.routing.domain.rules import RuleSet

Document = dict[str, Any]


@dataclass(frozen=True)
class Version:
    version: int
    rules: RuleSet
    created_at: datetime
    created_by: str
    note: str | None

    def meta(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "note": self.note,
        }

    def body(self) -> dict[str, Any]:
        return {**self.meta(), "rules": self.rules.model_dump(mode="json", by_alias=True)}


class StaleVersion(Exception):
    def __init__(self, current: int) -> None:
        super().__init__(f"the rules changed meanwhile; the current version is {current}")
        self.current = current


class RuleStore(Protocol):
    """The rule versions, as the service (the current one) and the rules API use them."""

    async def current(self, now: datetime) -> Version: ...

    async def get(self, version: int) -> Version | None: ...

    async def versions(self) -> list[dict[str, Any]]: ...

    async def publish(self, base_version: int, rules: RuleSet, by: str, note: str | None, now: datetime) -> Version:
        """Store `rules` as version base_version + 1; StaleVersion if someone else got there first."""
        ...


class MongoRuleStore:
    def __init__(self, collection: AsyncCollection[Document], seed: RuleSet, cache_ttl_s: float = CACHE_TTL_S) -> None:
        self.collection = collection
        self.seed = seed
        # The current version is read on every request.submitted: kept for a few seconds (cache.py).
        self._current: Cached[Document | None] = Cached(self._latest_document, cache_ttl_s)

    @staticmethod
    def _version(doc: Document) -> Version:
        return Version(
            doc["_id"], RuleSet.model_validate(doc["rules"]), doc["created_at"], doc["created_by"], doc.get("note")
        )

    async def ensure_seeded(self, now: datetime) -> None:
        try:
            await self.collection.insert_one(
                {
                    "_id": 1,
                    "rules": self.seed.model_dump(mode="json", by_alias=True),
                    "created_at": now,
                    "created_by": "config",
                    "note": "deploy/routing/rules.yaml",
                }
            )
        except DuplicateKeyError:
            pass

    async def current(self, now: datetime) -> Version:
        """The newest version as of at most the cache's TTL ago (at once after a publish by this replica)."""
        doc = await self._current.get()
        if doc is None:
            await self.ensure_seeded(now)
            self._current.invalidate()
            doc = await self._current.get()
            assert doc is not None
        return self._version(doc)

    async def _latest_document(self) -> Document | None:
        return await self.collection.find_one({}, sort=[("_id", DESCENDING)])

    async def _latest(self, now: datetime) -> Version:
        """The newest version, read now: what a publish checks its base against."""
        doc = await self._latest_document()
        return self._version(doc) if doc is not None else await self.current(now)

    async def get(self, version: int) -> Version | None:
        doc = await self.collection.find_one({"_id": version})
        return self._version(doc) if doc else None

    async def versions(self) -> list[dict[str, Any]]:
        cursor = self.collection.find({}, {"rules": 0}).sort("_id", DESCENDING)
        return [
            {"version": d["_id"], "created_at": d["created_at"], "created_by": d["created_by"], "note": d.get("note")}
            async for d in cursor
        ]

    async def publish(self, base_version: int, rules: RuleSet, by: str, note: str | None, now: datetime) -> Version:
        current = await self._latest(now)
        if base_version != current.version:
            raise StaleVersion(current.version)
        doc = {
            "_id": base_version + 1,
            "rules": rules.model_dump(mode="json", by_alias=True),
            "created_at": now,
            "created_by": by,
            "note": note,
        }
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError as exc:
            raise StaleVersion((await self._latest(now)).version) from exc
        finally:
            self._current.invalidate()
        return self._version(doc)
