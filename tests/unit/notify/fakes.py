"""An in-memory twin of notify's store (services/notify/store.py) for the fast service and worker tests.

It keeps the guards the MongoDB store relies on: one document per request; an event is written once (its id
is kept in the document); a blind write (an event that introduces the resident) applies only while no
resident is stored; any other write only on the version it was decided on; a claim leases only a document
with a due record and no live lease, and outcomes are settled only by the lease holder.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from services.notify.domain.deliveries import claim_update
from services.notify.domain.record import EventWrite, apply_update, next_due, recipient_of
from services.notify.store import STALE, WRITTEN, Written

Document = dict[str, Any]


def apply(doc: Document, update: Document) -> None:
    """The $set / $unset / $inc subset of a MongoDB update (top-level fields)."""
    for key, value in update.get("$set", {}).items():
        doc[key] = value
    for key in update.get("$unset", {}):
        doc.pop(key, None)
    for key, value in update.get("$inc", {}).items():
        doc[key] = doc.get(key, 0) + value


def _set_due(doc: Document) -> None:
    due = next_due(doc["deliveries"])
    if due is None:
        doc.pop("due_at", None)
    else:
        doc["due_at"] = due


class MemoryNotifyStore:
    """`NotifyStore` and `DeliveryQueue` on dicts."""

    def __init__(self, *deliveries: Document) -> None:
        self.requests: dict[str, Document] = {}
        self.writes = 0  # writes that changed something: a redelivery must add none
        self.add(*deliveries)

    # --- for the tests -------------------------------------------------------------------------------

    def add(self, *deliveries: Document) -> None:
        """Put delivery records into their request's document, as an event (without a resident) would."""
        for delivery in deliveries:
            doc = self.requests.setdefault(delivery["request_id"], self._new(delivery["request_id"], delivery))
            doc["deliveries"].append(dict(delivery))
            doc["version"] += 1
            _set_due(doc)

    @staticmethod
    def _new(request_id: str, first: Document) -> Document:
        return {
            "_id": request_id,
            "tracking_code": first.get("tracking_code"),
            "events": [],
            "messages": [],
            "deliveries": [],
            "version": 0,
            "created_at": first.get("created_at"),
        }

    @property
    def deliveries(self) -> dict[str, Document]:
        """Every delivery record by id (the stored dicts themselves)."""
        return {d["_id"]: d for doc in self.requests.values() for d in doc["deliveries"]}

    @property
    def recipients(self) -> dict[str, Document]:
        return {rid: r for rid, doc in self.requests.items() if (r := recipient_of(doc)) is not None}

    @property
    def inbox(self) -> dict[str, Document]:
        return {m["_id"]: m for doc in self.requests.values() for m in doc["messages"]}

    # --- NotifyStore ---------------------------------------------------------------------------------

    async def request(self, request_id: str) -> Document | None:
        found = self.requests.get(request_id)
        return copy.deepcopy(found) if found is not None else None

    async def request_by_code(self, tracking_code: str) -> Document | None:
        found = next((d for d in self.requests.values() if d.get("tracking_code") == tracking_code), None)
        return copy.deepcopy(found) if found is not None else None

    async def record(self, write: EventWrite) -> Written:
        doc = self.requests.get(write.request_id)
        if write.version is None:
            if doc is not None and (write.event_id in doc["events"] or doc.get("recipient")):
                return STALE
        elif write.version == 0:
            if doc is not None:
                return STALE
        elif doc is None or doc["version"] != write.version:
            return STALE
        if doc is None:
            doc = self.requests[write.request_id] = self._new(write.request_id, {"created_at": write.now})
        if write.tracking_code:
            doc["tracking_code"] = write.tracking_code
        if write.recipient is not None:
            doc["recipient"] = {k: v for k, v in write.recipient.items() if k != "_id"}
        if write.team is not None:
            doc["team_id"], doc["team_seq"] = write.team
        doc["events"].append(write.event_id)
        if write.message is not None:
            doc["messages"].append(dict(write.message))
        doc["deliveries"].extend(dict(d) for d in write.deliveries)
        if write.due_at is not None and (doc.get("due_at") is None or write.due_at < doc["due_at"]):
            doc["due_at"] = write.due_at
        doc["version"] += 1
        doc["updated_at"] = write.now
        self.writes += 1
        return WRITTEN

    # --- DeliveryQueue -------------------------------------------------------------------------------

    async def claim_due(self, owner: str, now: datetime, lease_s: float) -> Document | None:
        due = [
            d
            for d in self.requests.values()
            if d.get("due_at") is not None
            and d["due_at"] <= now
            and (d.get("lease_until") is None or d["lease_until"] <= now)
        ]
        if not due:
            return None
        first = min(due, key=lambda d: d["due_at"])
        apply(first, claim_update(owner, now, lease_s))
        return copy.deepcopy(first)

    async def settle(self, claimed: Document, owner: str, outcomes: dict[str, Document]) -> bool:
        doc = self.requests.get(claimed["_id"])
        if doc is None or doc.get("lease_owner") != owner:
            return False
        for delivery in doc["deliveries"]:
            update = outcomes.get(delivery["_id"])
            if update is not None:
                after = apply_update(delivery, update)
                delivery.clear()
                delivery.update(after)  # in place: tests hold the stored dicts
        for key in ("lease_owner", "lease_until"):
            doc.pop(key, None)
        doc["claims"] = 0
        _set_due(doc)
        return True
