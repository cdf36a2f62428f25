"""The embedded outbox: the writer, the relay and the sweeper.

A state change and the events it causes are written in ONE document update: the aggregate document
carries its unpublished events in `outbox` (a list of JSON envelopes). The same write also takes a
short lease (`outbox_lease`) for the writing process and stamps `outbox_due` (when the lease ends, in epoch
milliseconds), so in the normal path only the writer publishes:

    write {state, $push outbox, lease=me, due}  ->  publish the events concurrently (confirmed)  ->
    settle in the background: $pull them, drop lease and due (many documents in one bulk write)

The settle is off the request path: the caller has its answer once the events are confirmed. A crash
anywhere after the write leaves the events in the document with its `outbox_due`; the sweeper of any
replica finds documents whose `outbox_due` has passed, takes a new lease and publishes them, many
documents at a time (bounded). A crash between publish and settle means a re-publish, never a loss;
consumers are idempotent. Removal is always by event id.

The sweeper's search is the only query that looks beyond one document, so it runs when there can be
something to find: at start, after this process failed to publish or settle, and otherwise once per lease
period (what another replica's crash leaves behind is due only when its lease ends anyway).
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import structlog
from pymongo import ReturnDocument, UpdateOne
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
DUE = "outbox_due"  # epoch ms after which the sweeper may take the document; absent when nothing is pending
# The outbox's plumbing, for projections that show a document to anyone: {**HIDE, ...}.
HIDE: dict[str, Any] = {OUTBOX: 0, LEASE: 0, DUE: 0}


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

    def claim(self) -> Document:
        """The fields a write with events sets: the lease and when the sweeper may take over."""
        lease = self.lease()
        return {LEASE: lease, DUE: epoch_ms(lease["until"])}

    def on_insert(self, document: Document, events: Iterable[Envelope]) -> Document:
        """The document to insert, carrying its events and the writer's lease."""
        docs = [e.to_document() for e in events]
        return {**document, OUTBOX: docs, **(self.claim() if docs else {})}

    def on_update(self, update: Document, events: Iterable[Envelope]) -> Document:
        """An update document extended with `$push` of the events and `$set` of the lease."""
        docs = [e.to_document() for e in events]
        if not docs:
            return update
        merged = {op: dict(fields) for op, fields in update.items()}
        merged.setdefault("$push", {})[OUTBOX] = {"$each": docs}
        merged.setdefault("$set", {}).update(self.claim())
        return merged


def epoch_ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


async def ensure_outbox_indexes(collection: AsyncCollection[Document]) -> None:
    # A plain single-field index on a number: the form the embedded engine can use for the sweeper's range.
    await collection.create_index(DUE, name="outbox_due")


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


@dataclass(frozen=True)
class _Settle:
    collection: AsyncCollection[Document]
    doc_id: Any
    published: tuple[str, ...]
    complete: bool  # every event the document carried was confirmed


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
        concurrency: int = 16,
    ) -> None:
        self.bus = bus
        self.writer = writer
        self.collections = collections
        self.sweep_interval_s = sweep_interval_s
        self.clock = clock
        self.batch = batch
        self.concurrency = concurrency  # documents the sweeper publishes at once
        self._loop = PeriodicLoop("outbox-sweeper", self._sweep, sweep_interval_s)
        self._settler = PeriodicLoop("outbox-settler", self._settle_pending, max(sweep_interval_s, 1.0))
        self._settles: list[_Settle] = []
        self._pending_counted_at = 0.0
        self._scanned_at: float | None = None  # None: search at the next sweep (start, or after a failure)
        self._migrated: set[str] = set()

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
        """Normal path: the caller's write took the lease; publish the document's outbox now, all events at
        once, and leave the settle to the background. Returns False if publishing failed; the events stay
        stored and the sweeper publishes them at its next pass."""
        events = document.get(OUTBOX) or []
        if not events:
            return True
        published, ok = await self._publish(collection, events)
        self._settles.append(_Settle(collection, document["_id"], tuple(published), ok))
        self._settler.wake()
        if not ok:
            self._scanned_at = None
            self._loop.wake()
        return ok

    async def _publish(self, collection: AsyncCollection[Document], events: list[Document]) -> tuple[list[str], bool]:
        """Publish concurrently, each confirmed; returns the confirmed event ids and whether all were."""
        results = await asyncio.gather(
            *(self.bus.publish(Envelope.model_validate(raw)) for raw in events), return_exceptions=True
        )
        published = [raw["event_id"] for raw, r in zip(events, results, strict=True) if r is None]
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            OUTBOX_PUBLISH_FAILURES.labels(collection=collection.name).inc()
            exc = failures[0]
            log.warning("outbox publish failed; left for the sweeper", error=f"{type(exc).__name__}: {exc}")
        return published, not failures

    # -- settling: many documents per bulk write, off the request path --------------------------------

    def _settle_ops(self, item: _Settle) -> list[UpdateOne]:
        ids = list(item.published)
        mine = {"_id": item.doc_id, f"{LEASE}.owner": self.owner}
        ops: list[UpdateOne] = []
        if item.complete:
            # The document carries exactly what we published: empty it and drop the lease and the due time.
            exact: Document = {**mine, OUTBOX: {"$size": len(ids)}}
            if ids:
                exact[f"{OUTBOX}.event_id"] = {"$all": ids}
            ops.append(UpdateOne(exact, {"$set": {OUTBOX: []}, "$unset": {LEASE: "", DUE: ""}}))
        else:
            # Give the rest to the sweeper's next pass: drop our lease, make it due now.
            ops.append(UpdateOne(mine, {"$unset": {LEASE: ""}, "$set": {DUE: 0}}))
        if ids:
            # Whatever else happened (new events pushed meanwhile, another lease), remove ours by id.
            ops.append(
                UpdateOne(
                    {"_id": item.doc_id, f"{OUTBOX}.event_id": {"$in": ids}},
                    {"$pull": {OUTBOX: {"event_id": {"$in": ids}}}},
                )
            )
        return ops

    async def settle(self, items: list[_Settle]) -> None:
        by_collection: dict[str, tuple[AsyncCollection[Document], list[UpdateOne]]] = {}
        for item in items:
            entry = by_collection.setdefault(item.collection.full_name, (item.collection, []))
            entry[1].extend(self._settle_ops(item))
        for collection, ops in by_collection.values():
            try:
                await collection.bulk_write(ops, ordered=True)
            except PyMongoError as exc:
                # Not fatal: the events are re-published once due (consumers are idempotent).
                self._scanned_at = None
                log.warning("could not settle outbox", error=f"{type(exc).__name__}: {exc}")

    async def _settle_pending(self) -> bool:
        items, self._settles = self._settles[: self.batch], self._settles[self.batch :]
        if items:
            await self.settle(items)
        return bool(self._settles)

    async def flush(self) -> None:
        """Settle everything waiting now (tests and shutdown)."""
        while self._settles:
            await self._settle_pending()

    # -- the sweeper -----------------------------------------------------------------------------------

    async def _migrate(self, collection: AsyncCollection[Document]) -> None:
        """Documents written before `outbox_due` existed: make their pending events due (once per process)."""
        if collection.full_name in self._migrated:
            return
        await collection.update_many(
            {f"{OUTBOX}.event_id": {"$exists": True}, DUE: {"$exists": False}}, {"$set": {DUE: 0}}
        )
        self._migrated.add(collection.full_name)

    async def _sweep_document(self, collection: AsyncCollection[Document], doc_id: Any, now_ms: int) -> int | None:
        """Take one due document and publish its events; the number published, or None if the broker failed."""
        doc = await collection.find_one_and_update(
            {"_id": doc_id, DUE: {"$lt": now_ms}},
            {"$set": self.writer.claim()},
            projection={OUTBOX: 1},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            return 0  # another replica took it, or its writer settled it meanwhile
        events = doc.get(OUTBOX) or []
        published, ok = await self._publish(collection, events)
        await self.settle([_Settle(collection, doc_id, tuple(published), ok)])
        if published:
            OUTBOX_SWEPT.labels(collection=collection.name).inc(len(published))
        return len(published) if ok else None

    async def _sweep_collection(self, collection: AsyncCollection[Document]) -> int:
        """The due documents of one collection, `concurrency` at a time; raises BrokerDown if the broker failed."""
        await self._migrate(collection)
        now_ms = epoch_ms(self.clock())
        due = await collection.find({DUE: {"$lt": now_ms}}, {"_id": 1}).limit(self.batch).to_list()
        gate = asyncio.Semaphore(self.concurrency)
        failed = asyncio.Event()

        async def one(doc_id: Any) -> int:
            async with gate:
                if failed.is_set():
                    return 0  # the broker is down: leave the rest for the next pass
                n = await self._sweep_document(collection, doc_id, now_ms)
                if n is None:
                    failed.set()
                return n or 0

        total = sum(await asyncio.gather(*(one(d["_id"]) for d in due)))
        if failed.is_set():
            raise BrokerDown(total)
        return total

    async def sweep_once(self) -> int:
        """Publish what failed or dead relays left behind. Returns the number of events published."""
        total = 0
        for collection in self.collections:
            total += await self._sweep_collection(collection)
            if self._pending_due():
                OUTBOX_PENDING.labels(collection=collection.name).set(
                    await collection.count_documents({DUE: {"$exists": True}})
                )
        if total:
            log.info("sweeper published left-behind events", count=total)
        return total

    async def _sweep(self) -> bool:
        period = max(self.writer.lease_s, self.sweep_interval_s)
        if self._scanned_at is not None and time.monotonic() - self._scanned_at < period:
            return False
        try:
            await self.sweep_once()
        except BrokerDown:
            self._scanned_at = None
            return False
        self._scanned_at = time.monotonic()
        return False

    def start(self) -> None:
        self._loop.start()
        self._settler.start()

    async def stop(self) -> None:
        await self._loop.stop()
        await self._settler.stop()
        try:
            await self.flush()
        except PyMongoError as exc:  # pragma: no cover - the database went away first
            log.warning("could not settle outbox at shutdown", error=f"{type(exc).__name__}: {exc}")


class BrokerDown(Exception):
    """A sweep stopped early because publishing failed; the next pass tries again."""
