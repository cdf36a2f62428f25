"""Versioned configuration documents in a service's own database, each change with its audit entry, and the
per-replica copy that follows them without a restart (issue 15: administration in the console).

A document is a name ("calendar", "sla", "teams", "catalogue", "templates") and a JSON body. Every change is
one insert into `config_versions` (`_id` = "<name>:<version, 6 digits>"): the new body, who made it, when,
an optional note and the body it replaced. That one document is the version *and* its audit entry (who,
when, before, after), so a crash can never leave a version without its audit line or the other way round
(no multi-document transactions: DESIGN.md §5). Two admins editing the same base version cannot both win:
the second insert of the same `_id` fails and answers StaleConfig (409).

`config_heads` holds one tiny document per name with its newest version number (raised with `$max`, so an
out-of-order write never lowers it). It is what every replica polls: one read of a handful of documents
every few seconds; a body is read only when a head moved. The file in deploy/ seeds version 1 when the
store has none; from then on the database is the truth and the file is only the first version.

Services that receive their documents from another one (intake's catalogue, notify's templates, edited
in routing's console and carried by `config.changed`) store each version with `receive`: idempotent, and
an older version arriving late never replaces a newer one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog
import yaml
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.events import Envelope
from shared.loop import PeriodicLoop
from shared.outbox import OutboxWriter, Publisher, ensure_outbox_indexes

Document = dict[str, Any]
Body = dict[str, Any]
log = structlog.get_logger("huiying.configstore")

# How often a replica asks whether a document changed (HUIYING_CONFIG_REFRESH_S in the services that use it).
REFRESH_S = 3.0


def json_safe(value: Any) -> Any:
    """A YAML document as JSON-able data: YAML's dates and times become ISO strings, keys become strings (the
    version's body travels in `config.changed` events as JSON)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value.isoformat() if hasattr(value, "isoformat") else value


def version_id(name: str, version: int) -> str:
    return f"{name}:{version:06d}"


@dataclass(frozen=True)
class ConfigVersion:
    name: str
    version: int
    body: Body
    changed_by: str
    changed_at: datetime
    note: str | None = None
    before: Body | None = None  # the body this version replaced (None for version 1)

    @classmethod
    def from_doc(cls, doc: Document) -> ConfigVersion:
        return cls(
            doc["name"],
            doc["version"],
            doc["body"],
            doc["changed_by"],
            doc["changed_at"],
            doc.get("note"),
            doc.get("before"),
        )

    def view(self) -> dict[str, Any]:
        """The current version as the admin API answers it."""
        return {
            "name": self.name,
            "version": self.version,
            "body": self.body,
            "changed_by": self.changed_by,
            "changed_at": self.changed_at,
            "note": self.note,
        }

    def audit(self) -> dict[str, Any]:
        """The audit entry: who, when, before, after."""
        return {
            "name": self.name,
            "version": self.version,
            "who": self.changed_by,
            "when": self.changed_at,
            "note": self.note,
            "before": self.before,
            "after": self.body,
        }


class StaleConfig(Exception):
    def __init__(self, name: str, current: int) -> None:
        super().__init__(f"{name} changed meanwhile; the current version is {current}: reload and edit that one")
        self.name, self.current = name, current


class ConfigStore:
    """`writer` and `publisher`: for a service whose versions carry events to others (routing's
    `config.changed`): the events ride in the version document's outbox, written with it (shared/outbox.py)."""

    def __init__(self, db: AsyncDatabase[Document], writer: OutboxWriter | None = None) -> None:
        self.versions = db["config_versions"]
        self.heads = db["config_heads"]
        self.writer = writer
        self.publisher: Publisher | None = None  # set once the relay exists (relay.publisher(store.versions))

    async def ensure_indexes(self) -> None:
        await self.versions.create_index([("name", ASCENDING), ("version", DESCENDING)])
        if self.writer is not None:
            await ensure_outbox_indexes(self.versions)

    async def _raise_head(self, name: str, version: int) -> None:
        await self.heads.update_one({"_id": name}, {"$max": {"version": version}}, upsert=True)

    async def ensure_seeded(self, name: str, body: Body, now: datetime, source: str) -> None:
        """Version 1 from the shipped file, once (a replica that loses the race finds it there)."""
        try:
            await self.versions.insert_one(
                {
                    "_id": version_id(name, 1),
                    "name": name,
                    "version": 1,
                    "body": body,
                    "changed_by": "config",
                    "changed_at": now,
                    "note": source,
                    "before": None,
                }
            )
        except DuplicateKeyError:
            pass
        await self._raise_head(name, 1)

    async def seed_from_file(self, name: str, path: Path, now: datetime, source: str) -> None:
        """The indexes, and version 1 of `name` from the shipped YAML file when the store has no version yet."""
        await self.ensure_indexes()
        if name not in await self.head_versions():
            with path.open(encoding="utf-8") as fh:
                body = json_safe(yaml.safe_load(fh))
            await self.ensure_seeded(name, body, now, source)

    async def head_versions(self) -> dict[str, int]:
        """Every name's newest version: the cheap read each replica repeats."""
        return {d["_id"]: d["version"] async for d in self.heads.find({})}

    async def get(self, name: str, version: int) -> ConfigVersion | None:
        doc = await self.versions.find_one({"_id": version_id(name, version)})
        return ConfigVersion.from_doc(doc) if doc else None

    async def latest(self, name: str) -> ConfigVersion | None:
        head = await self.heads.find_one({"_id": name})
        if head is None:
            return None
        found = await self.get(name, head["version"])
        # A writer that stopped between its insert and the head leaves a newer version behind the head.
        newer = await self.get(name, head["version"] + 1)
        while newer is not None:
            found, newer = newer, await self.get(name, newer.version + 1)
        if found is not None and found.version != head["version"]:
            await self._raise_head(name, found.version)
        return found

    async def save(
        self,
        name: str,
        base_version: int,
        body: Body,
        by: str,
        now: datetime,
        note: str | None = None,
        events: Callable[[ConfigVersion], list[Envelope]] | None = None,
    ) -> ConfigVersion:
        """Store `body` as version base_version + 1; StaleConfig when base_version is not the newest.
        `events(version)`: events written with the version and published after it (the store's writer)."""
        current = await self.latest(name)
        if current is None:
            raise LookupError(f"no configuration document {name!r}")
        if base_version != current.version:
            raise StaleConfig(name, current.version)
        version = ConfigVersion(name, base_version + 1, body, by, now, note, current.body)
        doc: Document = {
            "_id": version_id(name, version.version),
            "name": name,
            "version": version.version,
            "body": body,
            "changed_by": by,
            "changed_at": now,
            "note": note,
            "before": current.body,
        }
        pending = events(version) if events is not None else []
        if pending:
            if self.writer is None:
                raise RuntimeError("this ConfigStore has no outbox writer: build it with one to save events")
            doc = self.writer.on_insert(doc, pending)
        try:
            await self.versions.insert_one(doc)
        except DuplicateKeyError as exc:
            await self._raise_head(name, version.version)
            raise StaleConfig(name, version.version) from exc
        await self._raise_head(name, version.version)
        if pending and self.publisher is not None:
            await self.publisher.publish_after_write(doc)
        return version

    async def receive(self, name: str, version: int, body: Body, by: str, at: datetime) -> bool:
        """A version made elsewhere (delivered by `config.changed`): stored once; False if already here."""
        try:
            await self.versions.insert_one(
                {
                    "_id": version_id(name, version),
                    "name": name,
                    "version": version,
                    "body": body,
                    "changed_by": by,
                    "changed_at": at,
                    "note": None,
                    "before": None,
                }
            )
        except DuplicateKeyError:
            await self._raise_head(name, version)  # a redelivery after a crash before the head moved
            return False
        await self._raise_head(name, version)
        return True

    async def history(self, name: str | None = None, limit: int = 50) -> list[ConfigVersion]:
        """The audit log, newest first (one name's, or every name's)."""
        query = {"name": name} if name else {}
        cursor = self.versions.find(query).sort([("changed_at", DESCENDING), ("version", DESCENDING)]).limit(limit)
        return [ConfigVersion.from_doc(d) async for d in cursor]


Parser = Callable[[Body], Any]


class LiveConfig:
    """This replica's parsed copy of the current version of each document it uses.

    `refresh` reads the heads (a few tiny documents) and re-reads and parses only the documents whose version
    moved, then calls `on_change` with every current value. Run it in a `PeriodicLoop` (`loop`) every
    REFRESH_S seconds, and call it at once after this replica saved a change or received `config.changed`:
    a change holds on every replica within the interval, without a restart.
    """

    def __init__(
        self,
        store: ConfigStore,
        parsers: dict[str, Parser],
        on_change: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.store, self.parsers, self.on_change = store, parsers, on_change
        self.values: dict[str, Any] = {}
        self.versions: dict[str, int] = {}

    async def refresh(self) -> bool:
        heads = await self.store.head_versions()
        changed = False
        for name, parse in self.parsers.items():
            version = heads.get(name)
            if version is None or version == self.versions.get(name):
                continue
            found = await self.store.get(name, version)
            if found is None:  # the head moved before its version was readable: next pass
                continue
            try:
                value = parse(found.body)
            except ValueError as exc:  # saved versions were checked; a hand-edited database is not
                log.error(
                    "a stored configuration version does not parse; keeping the previous one",
                    name=name,
                    version=version,
                    error=str(exc),
                )
                self.versions[name] = version
                continue
            self.values[name], self.versions[name] = value, version
            changed = True
        if changed and self.on_change is not None:
            self.on_change(dict(self.values))
        return False

    def loop(self, interval_s: float = REFRESH_S) -> PeriodicLoop:
        return PeriodicLoop("config-refresh", self.refresh, interval_s)
