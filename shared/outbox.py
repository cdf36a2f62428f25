"""The embedded outbox: the writer, the relay and the sweeper.

A state change and the events it causes are written in ONE document update: the aggregate document
carries its unpublished events in `outbox` (a list of JSON envelopes). The same write also takes a
short lease (`outbox_lease`) for the writing process and stamps `outbox_due` (when the lease ends, a date),
so in the normal path only the writer publishes:

    write {state, $push outbox, lease=me, due}  ->  publish the events concurrently (confirmed)  ->
    settle in the background: $pull them, drop lease and due (many documents in one bulk write)

The settle is off the request path: the caller has its answer once the events are confirmed. Settles wait
in a bounded window (`SettleQueue`): they go out together once a second (`settle_window_s`), or at once when
`settle_most` documents are waiting, so at a steady load as under a burst many requests share one bulk
write. The window is far shorter than the lease, so the sweeper never takes a document whose settle is
merely waiting; a write to a document whose earlier events are confirmed and waiting does not publish them
again, and its settle covers them too.

A crash anywhere after the write leaves the events in the document with its `outbox_due`; the sweeper of
any replica finds documents whose `outbox_due` has passed, takes a new lease and publishes them, many
documents at a time (bounded), and settles the whole pass in one bulk write. A crash between publish and
settle (a settle still waiting in the window included) means a re-publish, never a loss; consumers are
idempotent. Removal is always by event id.

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
from pymongo import ASCENDING, ReturnDocument, UpdateOne
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
DUE = "outbox_due"  # when the sweeper may take the document (the lease's end); absent when nothing is pending
OVERDUE = datetime(1970, 1, 1, tzinfo=UTC)  # a due time that has passed: the sweeper takes the document at once
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
        return {LEASE: lease, DUE: lease["until"]}

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


async def ensure_outbox_indexes(collection: AsyncCollection[Document]) -> None:
    # A plain single-field index on a date: the embedded engine reads the sweeper's sorted range through it (an
    # epoch-ms Int64 is not indexed by mongoeco 4.11.0, and its range visited every row: docs/mongoeco-candidates.md).
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
    published: tuple[str, ...]  # confirmed event ids: what this settle removes
    complete: bool  # every event the document carried is confirmed

    @property
    def key(self) -> tuple[str, Any]:
        return self.collection.full_name, self.doc_id


class SettleQueue:
    """Settles waiting for their bulk write, and the event ids they hold (confirmed, still in a document).

    `put` says when `most` are waiting (settle now, rather than at the end of the window); `take` gives at
    most `most`, dropping a settle that a later one for the same document covers (same ids or more, every
    event confirmed). The ids stay known (`waiting`) until `done` is called for what `take` gave.
    """

    def __init__(self, most: int) -> None:
        if most < 1:
            raise ValueError("a settle batch holds at least one document")
        self.most = most
        self._items: list[_Settle] = []
        self._ids: dict[tuple[str, Any], dict[str, int]] = {}  # document -> event id -> settles holding it

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: _Settle) -> bool:
        """Queue a settle; True when a full batch is waiting."""
        self._items.append(item)
        held = self._ids.setdefault(item.key, {})
        for event_id in item.published:
            held[event_id] = held.get(event_id, 0) + 1
        return len(self._items) >= self.most

    def waiting(self, key: tuple[str, Any]) -> frozenset[str]:
        """The confirmed event ids of this document whose settle is queued or being written."""
        return frozenset(self._ids.get(key, ()))

    def take(self) -> list[_Settle]:
        """The next batch, oldest first, without the settles a later one in it covers."""
        batch, self._items = self._items[: self.most], self._items[self.most :]
        complete: dict[tuple[str, Any], list[int]] = {}
        for i, item in enumerate(batch):
            if item.complete:
                complete.setdefault(item.key, []).append(i)
        kept: list[_Settle] = []
        for i, item in enumerate(batch):
            others = complete.get(item.key, [])
            if item.complete and len(others) > 1 and any(_covers(batch[j], item, j > i) for j in others if j != i):
                self.done([item])
                continue
            kept.append(item)
        return kept

    def done(self, items: list[_Settle]) -> None:
        """These settles were written (or failed): their ids are no longer waiting."""
        for item in items:
            held = self._ids.get(item.key)
            if held is None:
                continue
            for event_id in item.published:
                left = held.get(event_id, 0) - 1
                if left > 0:
                    held[event_id] = left
                else:
                    held.pop(event_id, None)
            if not held:
                del self._ids[item.key]


def _covers(other: _Settle, item: _Settle, later: bool) -> bool:
    """`other` (complete, same document) removes everything `item` would: more ids, or the same ids later."""
    theirs, mine = set(other.published), set(item.published)
    return theirs > mine or (theirs == mine and later)


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
        settle_window_s: float = 1.0,
        settle_most: int = 200,
    ) -> None:
        self.bus = bus
        self.writer = writer
        self.collections = collections
        self.sweep_interval_s = sweep_interval_s
        self.clock = clock
        self.batch = batch
        self.concurrency = concurrency  # documents the sweeper publishes at once
        # Settles wait at most this long; far inside the lease, so the sweeper never takes a waiting document.
        self.settle_window_s = min(settle_window_s, writer.lease_s / 4)
        self._loop = PeriodicLoop("outbox-sweeper", self._sweep, sweep_interval_s)
        self._settler = PeriodicLoop("outbox-settler", self._settle_pending, self.settle_window_s)
        self._settles = SettleQueue(settle_most)
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

    @property
    def settles_waiting(self) -> int:
        return len(self._settles)

    def publisher(self, collection: AsyncCollection[Document]) -> CollectionPublisher:
        return CollectionPublisher(self, collection)

    async def publish_after_write(self, collection: AsyncCollection[Document], document: Document) -> bool:
        """Normal path: the caller's write took the lease; publish the document's outbox now, all events at
        once, and leave the settle to the background window. Events of the document that this relay already
        confirmed and whose settle is waiting are not published again. Returns False if publishing failed;
        the events stay stored and the sweeper publishes them at its next pass."""
        events = document.get(OUTBOX) or []
        if not events:
            return True
        key = (collection.full_name, document["_id"])
        waiting = self._settles.waiting(key)
        fresh = [raw for raw in events if raw["event_id"] not in waiting]
        if not fresh:
            return True  # an earlier write's settle, still waiting, covers every event the document carries
        published, ok = await self._publish(collection, fresh)
        covered = [raw["event_id"] for raw in events if raw["event_id"] in waiting]
        full = self._settles.put(_Settle(collection, document["_id"], (*covered, *published), ok))
        if full or not ok:
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

    def _exact_op(self, item: _Settle) -> UpdateOne:
        """The common case in one operation: the document carries exactly what we published, under our
        lease. Empty it and drop the lease and the due time."""
        ids = list(item.published)
        exact: Document = {"_id": item.doc_id, f"{LEASE}.owner": self.owner, OUTBOX: {"$size": len(ids)}}
        if ids:
            exact[f"{OUTBOX}.event_id"] = {"$all": ids}
        return UpdateOne(exact, {"$set": {OUTBOX: []}, "$unset": {LEASE: "", DUE: ""}})

    def _fallback_ops(self, item: _Settle) -> list[UpdateOne]:
        """Whatever else happened (new events pushed meanwhile, another lease): remove ours by id; then drop
        our lease if nothing is left, or, if some event was not confirmed, give the rest to the sweeper."""
        ids = list(item.published)
        mine = {"_id": item.doc_id, f"{LEASE}.owner": self.owner}
        ops: list[UpdateOne] = []
        if ids:
            ops.append(
                UpdateOne(
                    {"_id": item.doc_id, f"{OUTBOX}.event_id": {"$in": ids}},
                    {"$pull": {OUTBOX: {"event_id": {"$in": ids}}}},
                )
            )
        if item.complete:
            ops.append(UpdateOne({**mine, OUTBOX: {"$size": 0}}, {"$unset": {LEASE: "", DUE: ""}}))
        else:
            ops.append(UpdateOne(mine, {"$unset": {LEASE: ""}, "$set": {DUE: OVERDUE}}))
        return ops

    async def settle(self, items: list[_Settle]) -> None:
        """Settle these documents: per collection one bulk write of one operation each when every document is
        as its writer left it (the common case), and a second bulk write only when one is not."""
        by_collection: dict[str, tuple[AsyncCollection[Document], list[_Settle]]] = {}
        for item in items:
            by_collection.setdefault(item.collection.full_name, (item.collection, []))[1].append(item)
        for collection, group in by_collection.values():
            complete = [i for i in group if i.complete]
            try:
                matched = 0
                if complete:
                    result = await collection.bulk_write([self._exact_op(i) for i in complete], ordered=True)
                    matched = result.matched_count
                rest = [i for i in group if not i.complete] + (complete if matched < len(complete) else [])
                if rest:
                    await collection.bulk_write([op for i in rest for op in self._fallback_ops(i)], ordered=True)
            except PyMongoError as exc:
                # Not fatal: the events are re-published once due (consumers are idempotent).
                self._scanned_at = None
                log.warning("could not settle outbox", error=f"{type(exc).__name__}: {exc}")

    async def _settle_pending(self) -> bool:
        items = self._settles.take()
        try:
            if items:
                await self.settle(items)
        finally:
            self._settles.done(items)
        if not all(i.complete for i in items):
            # A failed publish, now due: the sweeper looks at its next pass rather than a lease later.
            self._scanned_at = None
            self._loop.wake()
        return len(self._settles) >= self._settles.most

    async def flush(self) -> None:
        """Settle everything waiting now (tests and shutdown)."""
        while self._settles:
            await self._settle_pending()

    # -- the sweeper -----------------------------------------------------------------------------------

    async def _migrate(self, collection: AsyncCollection[Document]) -> None:
        """Documents written before `outbox_due` existed, or when it was a number (epoch ms): make their pending
        events due at once (once per process; a live writer's events may then go out twice, which consumers
        deduplicate by event id)."""
        if collection.full_name in self._migrated:
            return
        await collection.update_many(
            {f"{OUTBOX}.event_id": {"$exists": True}, DUE: {"$exists": False}}, {"$set": {DUE: OVERDUE}}
        )
        await collection.update_many({DUE: {"$type": "number"}}, {"$set": {DUE: OVERDUE}})
        self._migrated.add(collection.full_name)

    async def _sweep_document(
        self, collection: AsyncCollection[Document], doc_id: Any, now: datetime, settles: list[_Settle]
    ) -> int | None:
        """Take one due document and publish its events (its settle joins `settles`, written once per pass);
        the number published, or None if the broker failed."""
        doc = await collection.find_one_and_update(
            {"_id": doc_id, DUE: {"$lt": now}},
            {"$set": self.writer.claim()},
            projection={OUTBOX: 1},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            return 0  # another replica took it, or its writer settled it meanwhile
        events = doc.get(OUTBOX) or []
        published, ok = await self._publish(collection, events)
        settles.append(_Settle(collection, doc_id, tuple(published), ok))
        if published:
            OUTBOX_SWEPT.labels(collection=collection.name).inc(len(published))
        return len(published) if ok else None

    async def _sweep_collection(self, collection: AsyncCollection[Document]) -> int:
        """The due documents of one collection, `concurrency` at a time, settled together in one bulk write;
        raises BrokerDown if the broker failed."""
        await self._migrate(collection)
        now = self.clock()
        # Most overdue first; sorted, the embedded engine reads the range through the index.
        due = await collection.find({DUE: {"$lt": now}}, {"_id": 1}).sort(DUE, ASCENDING).limit(self.batch).to_list()
        gate = asyncio.Semaphore(self.concurrency)
        failed = asyncio.Event()
        settles: list[_Settle] = []

        async def one(doc_id: Any) -> int:
            async with gate:
                if failed.is_set():
                    return 0  # the broker is down: leave the rest for the next pass
                n = await self._sweep_document(collection, doc_id, now, settles)
                if n is None:
                    failed.set()
                return n or 0

        try:
            total = sum(await asyncio.gather(*(one(d["_id"]) for d in due)))
        finally:
            if settles:
                await self.settle(settles)
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
