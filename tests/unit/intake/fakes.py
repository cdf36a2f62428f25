"""An in-memory IntakeStore (services/intake/store.py) for the service-layer tests.

It honours what the service relies on: the unique tracking code and idempotency slot, guarded updates that
match nothing once the document moved on, the status view applied once and never older over newer. Events
go into the written document's `outbox` as the real writer puts them; the relay is taken to have published
the earlier writes' events, so a returned document carries only its own write's events (FakePublisher reads
them).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from typing import Any

from services.intake.domain.request import Accepted, Change
from services.intake.domain.status_view import keeps_cancelled
from services.intake.store import IdempotencySlotTaken, TrackingCodeTaken
from shared.events import Envelope
from shared.outbox import OUTBOX, OutboxWriter

Document = dict[str, Any]
Hook = Callable[[Document], None]


def _values(doc: Document, path: str) -> list[Any]:
    """The values a dotted path reaches, through lists as MongoDB does (`timeline.event_id`)."""
    current: list[Any] = [doc]
    for part in path.split("."):
        found: list[Any] = []
        for value in current:
            items = value if isinstance(value, list) else [value]
            found += [item[part] for item in items if isinstance(item, dict) and part in item]
        current = found
    return current


def _holds(values: list[Any], condition: Any) -> bool:
    if not (isinstance(condition, dict) and condition and all(k.startswith("$") for k in condition)):
        return condition in values or (not values and condition is None)
    for op, arg in condition.items():
        if op == "$ne" and arg in values:
            return False
        if op == "$nin" and any(v in arg for v in values):
            return False
        if op == "$in" and not any(v in arg for v in values):
            return False
        if op == "$lt" and not any(v < arg for v in values):
            return False
        if op not in ("$ne", "$nin", "$in", "$lt"):
            raise NotImplementedError(op)
    return True


def matches(doc: Document, query: Document) -> bool:
    return all(_holds(_values(doc, path), condition) for path, condition in query.items())


def apply_update(doc: Document, update: Document) -> None:
    for op, fields in update.items():
        for name, value in fields.items():
            if op == "$set":
                doc[name] = value
            elif op == "$inc":
                doc[name] = doc.get(name, 0) + value
            elif op == "$push":
                items = value["$each"] if isinstance(value, dict) and "$each" in value else [value]
                doc.setdefault(name, []).extend(items)
            else:
                raise NotImplementedError(op)


class FakeIntakeStore:
    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.writer = OutboxWriter("fake", 30.0, clock=clock)
        self.requests: dict[str, Document] = {}
        self.channels: dict[str, Document] = {}
        self.windows: dict[str, int] = {}
        self.written: list[Envelope] = []  # every event written, in order
        self.guarded_writes = 0
        self._before_write: list[Hook] = []
        self._before_insert: list[Callable[[], None]] = []

    # -- what a test arranges ----------------------------------------------------------------------

    def before_next_write(self, hook: Hook, times: int = 1) -> None:
        """Another writer changes the request just before the service's next guarded write(s)."""
        self._before_write += [hook] * times

    def before_next_insert(self, hook: Callable[[], None]) -> None:
        self._before_insert.append(hook)

    def put(self, doc: Document) -> None:
        self.requests[doc["_id"]] = copy.deepcopy(doc)

    # -- requests ----------------------------------------------------------------------------------

    def _stored(self, doc: Document | None) -> Document | None:
        return None if doc is None else {k: v for k, v in copy.deepcopy(doc).items() if k != OUTBOX}

    async def insert_request(self, accepted: Accepted) -> Document:
        if self._before_insert:
            self._before_insert.pop(0)()
        document = self.writer.on_insert(accepted.document, accepted.events)
        if document["_id"] in self.requests:
            raise AssertionError("duplicate _id")
        if "idem" in document and any(d.get("idem") == document["idem"] for d in self.requests.values()):
            raise IdempotencySlotTaken
        if any(d["tracking_code"] == document["tracking_code"] for d in self.requests.values()):
            raise TrackingCodeTaken
        self.requests[document["_id"]] = self._stored(document)  # type: ignore[assignment]
        self.written += accepted.events
        return copy.deepcopy(document)

    async def by_idempotency_slot(self, slot: str) -> Document | None:
        return self._stored(next((d for d in self.requests.values() if d.get("idem") == slot), None))

    async def by_tracking_code(self, code: str) -> Document | None:
        return self._stored(next((d for d in self.requests.values() if d["tracking_code"] == code), None))

    async def by_id(self, request_id: str) -> Document | None:
        return self._stored(self.requests.get(request_id))

    async def apply_change(self, change: Change) -> Document | None:
        self.guarded_writes += 1
        doc = self.requests.get(change.guard["_id"])
        if doc is not None and self._before_write:
            self._before_write.pop(0)(doc)
        if doc is None or not matches(doc, change.guard):
            return None
        apply_update(doc, self.writer.on_update(change.update, change.events))
        after = copy.deepcopy(doc)
        after[OUTBOX] = doc.pop(OUTBOX, [])
        doc.pop("outbox_lease", None)
        self.written += change.events
        return after

    async def find_requests(self, query: Document, *, skip: int, limit: int) -> list[Document]:
        found = sorted(
            (d for d in self.requests.values() if matches(d, query)), key=lambda d: d["submitted_at"], reverse=True
        )
        return [self._stored(d) for d in found[skip : skip + limit]]  # type: ignore[misc]

    async def apply_routing_event(self, request_id: str, seq: int, state: Document, entry: Document) -> bool:
        doc = self.requests.get(request_id)
        if doc is None:
            return False
        if doc["routing_seq"] < seq:
            doc.update(keeps_cancelled(state) if doc["status"] == "cancelled" else state)
        if entry["event_id"] not in {e["event_id"] for e in doc["timeline"]}:
            doc["timeline"].append(entry)
        return True

    # -- channels ----------------------------------------------------------------------------------

    @staticmethod
    def _public(doc: Document | None) -> Document | None:
        return None if doc is None else {k: v for k, v in doc.items() if k != "key_hash"}

    async def insert_channel(self, document: Document) -> bool:
        if document["_id"] in self.channels:
            return False
        self.channels[document["_id"]] = dict(document)
        return True

    async def list_channels(self) -> list[Document]:
        return [self._public(self.channels[k]) for k in sorted(self.channels)]  # type: ignore[misc]

    async def get_channel(self, channel_id: str) -> Document | None:
        return self._public(self.channels.get(channel_id))

    async def update_channel(self, channel_id: str, fields: Document) -> Document | None:
        doc = self.channels.get(channel_id)
        if doc is None:
            return None
        doc.update(fields)
        return self._public(doc)

    async def active_channels(self) -> list[Document]:
        return [dict(d) for d in self.channels.values() if d["active"]]
