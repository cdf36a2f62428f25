"""The embedded outbox: the writer, the relay and the sweeper.

A state change and the events it causes are written in ONE document update: the aggregate document
carries its unpublished events in `outbox` (a list of JSON envelopes). The same write also takes a
short lease (`outbox_lease`) for the writing process, so in the normal path only the writer publishes:

    write {state, $push outbox, lease=me}  ->  publish each event (confirmed)  ->  $pull them, drop lease

A crash anywhere after the write leaves the events in the document; when the lease expires, the
sweeper of any replica takes a new lease and publishes them. A crash between publish and $pull means
a re-publish, never a loss; consumers are idempotent. Two replicas writing the same aggregate within a
lease can both publish an event (harmless for the same reason); removal is always by event id.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import structlog
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from shared.bus import Bus
from shared.events import Envelope
from shared.loop import PeriodicLoop
from shared.metrics import OUTBOX_PENDING, OUTBOX_PUBLISH_FAILURES, OUTBOX_SWEPT

log = structlog.get_logger("huiying.outbox")

Document = dict[str, Any]
Clock = Callable[[], datetime]

OUTBOX = "outbox"
LEASE = "outbox_lease"


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_owner_id(service: str) -> str:
    return f"{service}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class OutboxWriter:
    """What a store needs to put events into the same write as its state change."""

    def __init__(self, owner: str, lease_s: float, clock: Clock = utcnow) -> None:
        self.owner = owner
        self.lease_s = lease_s
        self.clock = clock

    def lease(self) -> Document:
        return {"owner": self.owner, "until": self.clock() + timedelta(seconds=self.lease_s)}

    def on_insert(self, document: Document, events: Iterable[Envelope]) -> Document:
        """The document to insert, carrying its events and the writer's lease."""
        docs = [e.to_document() for e in events]
        return {**document, OUTBOX: docs, **({LEASE: self.lease()} if docs else {})}

    def on_update(self, update: Document, events: Iterable[Envelope]) -> Document:
        """An update document extended with `$push` of the events and `$set` of the lease."""
        docs = [e.to_document() for e in events]
        if not docs:
            return update
        merged = {op: dict(fields) for op, fields in update.items()}
        merged.setdefault("$push", {})[OUTBOX] = {"$each": docs}
        merged.setdefault("$set", {})[LEASE] = self.lease()
        return merged


async def ensure_outbox_indexes(collection: AsyncCollection[Document]) -> None:
    # Sparse: documents with an empty outbox are not in the index, so the sweeper's query is cheap.
    await collection.create_index(f"{OUTBOX}.event_id", sparse=True, name="outbox_pending")


class Publisher(Protocol):
    """What a service layer needs after a guarded write: publish the events the written document carries."""

    async def publish_after_write(self, document: Document) -> bool: ...


class CollectionPublisher:
    """The relay bound to one collection: the `Publisher` a service's application layer depends on."""

    def __init__(self, relay: OutboxRelay, collection: AsyncCollection[Document]) -> None:
        self.relay = relay
        self.collection = collection

    async def publish_after_write(self, document: Document) -> bool:
        return await self.relay.publish_after_write(self.collection, document)


class OutboxRelay:
    def __init__(
        self,
        bus: Bus,
        writer: OutboxWriter,
        collections: list[AsyncCollection[Document]],
        *,
        sweep_interval_s: float,
        clock: Clock = utcnow,
        batch: int = 200,
    ) -> None:
        self.bus = bus
        self.writer = writer
        self.collections = collections
        self.sweep_interval_s = sweep_interval_s
        self.clock = clock
        self.batch = batch
        self._loop = PeriodicLoop("outbox-sweeper", self._sweep, sweep_interval_s)
        self._pending_counted_at = 0.0

    def _pending_due(self) -> bool:
        now = time.monotonic()
        if now - self._pending_counted_at < 60:
            return False
        self._pending_counted_at = now
        return True

    @property
    def owner(self) -> str:
        return self.writer.owner

    def publisher(self, collection: AsyncCollection[Document]) -> CollectionPublisher:
        return CollectionPublisher(self, collection)

    async def publish_after_write(self, collection: AsyncCollection[Document], document: Document) -> bool:
        """Normal path: the caller's write took the lease; publish the document's outbox now.

        Returns False if publishing failed; the events stay stored and the sweeper publishes them once
        the lease expires (the lease is released at once so that happens at the next sweep).
        """
        events = document.get(OUTBOX) or []
        if not events:
            return True
        return await self._publish_and_settle(collection, document["_id"], events)

    async def _publish_and_settle(
        self, collection: AsyncCollection[Document], doc_id: Any, events: list[Document]
    ) -> bool:
        published: list[str] = []
        try:
            for raw in events:
                await self.bus.publish(Envelope.model_validate(raw))
                published.append(raw["event_id"])
        except Exception as exc:
            OUTBOX_PUBLISH_FAILURES.labels(collection=collection.name).inc()
            log.warning("outbox publish failed; left for the sweeper", error=f"{type(exc).__name__}: {exc}")
            await self._settle(collection, doc_id, published, release=True)
            return False
        await self._settle(collection, doc_id, published, release=True)
        return True

    async def _settle(
        self, collection: AsyncCollection[Document], doc_id: Any, published: list[str], *, release: bool
    ) -> None:
        """Remove what was published and drop our lease (if still ours)."""
        update: Document = {}
        if published:
            update["$pull"] = {OUTBOX: {"event_id": {"$in": published}}}
        if release:
            update["$unset"] = {LEASE: ""}
        if not update:
            return
        try:
            result = await collection.update_one({"_id": doc_id, f"{LEASE}.owner": self.owner}, update)
            if result.matched_count == 0 and published:
                # Someone else holds the lease now; still remove what we published (by id, always safe).
                await collection.update_one({"_id": doc_id}, {"$pull": update["$pull"]})
        except PyMongoError as exc:
            # Not fatal: the events will be re-published after the lease expires (consumers are idempotent).
            log.warning("could not settle outbox", error=f"{type(exc).__name__}: {exc}")

    async def sweep_once(self) -> int:
        """Publish what failed or dead relays left behind. Returns the number of events published."""
        total = 0
        for collection in self.collections:
            for _ in range(self.batch):
                now = self.clock()
                doc = await collection.find_one_and_update(
                    {
                        f"{OUTBOX}.event_id": {"$exists": True},
                        "$or": [{LEASE: {"$exists": False}}, {f"{LEASE}.until": {"$lt": now}}],
                    },
                    {"$set": {LEASE: self.writer.lease()}},
                    projection={OUTBOX: 1},
                    return_document=ReturnDocument.AFTER,
                )
                if doc is None:
                    break
                events = doc.get(OUTBOX) or []
                if await self._publish_and_settle(collection, doc["_id"], events):
                    total += len(events)
                    OUTBOX_SWEPT.labels(collection=collection.name).inc(len(events))
                else:
                    break  # the broker is down; try again next sweep
            if self._pending_due():
                # A count scans on the embedded engine, so the gauge is refreshed once a minute, not every sweep.
                OUTBOX_PENDING.labels(collection=collection.name).set(
                    await collection.count_documents({f"{OUTBOX}.event_id": {"$exists": True}})
                )
        if total:
            log.info("sweeper published left-behind events", count=total)
        return total

    async def _sweep(self) -> None:
        await self.sweep_once()

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
