"""An in-memory twin of notify's store (services/notify/store.py) for the fast service and worker tests.

It keeps the guards the MongoDB store relies on: the recipient is first-write-wins, the team is applied
only from a newer event, one inbox message per event, one delivery per (event, channel, recipient), a
claim takes only due records (or expired leases) and an outcome is settled only by the lease holder.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.notify.domain.deliveries import SENDING, claim_filter, claim_update

Document = dict[str, Any]


def apply(doc: Document, update: Document) -> None:
    """The $set / $unset / $inc subset of a MongoDB update that the delivery rules use."""
    for key, value in update.get("$set", {}).items():
        doc[key] = value
    for key in update.get("$unset", {}):
        doc.pop(key, None)
    for key, value in update.get("$inc", {}).items():
        doc[key] = doc.get(key, 0) + value


def matches(doc: Document, query: Document) -> bool:
    """The claim filter: an $or of equalities and `$lte` bounds."""

    def one(q: Document) -> bool:
        for key, cond in q.items():
            if isinstance(cond, dict):
                if doc.get(key) is None or not doc[key] <= cond["$lte"]:
                    return False
            elif doc.get(key) != cond:
                return False
        return True

    return any(one(q) for q in query["$or"])


class MemoryNotifyStore:
    """`NotifyStore` and `DeliveryQueue` on dicts."""

    def __init__(self, *deliveries: Document) -> None:
        self.recipients: dict[str, Document] = {}
        self.inbox: dict[str, Document] = {}
        self.deliveries: dict[str, Document] = {d["_id"]: d for d in deliveries}
        self.writes = 0  # inserts and updates that changed something: a redelivery must add none

    # --- recipients ---------------------------------------------------------------------------------

    async def save_recipient(self, recipient: Document) -> None:
        if recipient["_id"] not in self.recipients:
            self.recipients[recipient["_id"]] = dict(recipient)
            self.writes += 1

    async def recipient(self, request_id: str) -> Document | None:
        found = self.recipients.get(request_id)
        return dict(found) if found is not None else None

    async def recipient_by_code(self, tracking_code: str) -> Document | None:
        return next((dict(r) for r in self.recipients.values() if r["tracking_code"] == tracking_code), None)

    async def set_team(self, request_id: str, team_id: str, seq: int) -> None:
        recipient = self.recipients.get(request_id)
        if recipient is not None and recipient.get("team_seq", -1) < seq:
            recipient.update(team_id=team_id, team_seq=seq)
            self.writes += 1

    # --- inbox ---------------------------------------------------------------------------------------

    async def add_to_inbox(self, message: Document) -> bool:
        if message["_id"] in self.inbox:
            return False
        self.inbox[message["_id"]] = dict(message)
        self.writes += 1
        return True

    async def inbox_for(self, tracking_code: str) -> list[Document]:
        found = [m for m in self.inbox.values() if m["tracking_code"] == tracking_code]
        return sorted(found, key=lambda m: (m["event_at"], m["created_at"]))

    # --- deliveries ----------------------------------------------------------------------------------

    async def add_delivery(self, delivery: Document) -> bool:
        key = (delivery["event_id"], delivery["channel"], delivery["recipient"])
        taken = {(d["event_id"], d["channel"], d["recipient"]) for d in self.deliveries.values()}
        if delivery["_id"] in self.deliveries or key in taken:
            return False
        self.deliveries[delivery["_id"]] = dict(delivery)
        self.writes += 1
        return True

    async def deliveries_for(self, request_id: str) -> list[Document]:
        found = [d for d in self.deliveries.values() if d["request_id"] == request_id]
        return sorted(found, key=lambda d: (d["created_at"], d["_id"]))

    async def claim_due(self, owner: str, now: datetime, lease_s: float) -> Document | None:
        due = [d for d in self.deliveries.values() if matches(d, claim_filter(now))]
        if not due:
            return None
        first = min(due, key=lambda d: d["next_attempt_at"] or now)
        apply(first, claim_update(owner, now, lease_s))
        return dict(first)

    async def settle(self, delivery_id: str, owner: str, update: Document) -> bool:
        doc = self.deliveries[delivery_id]
        if doc.get("status") != SENDING or doc.get("lease_owner") != owner:
            return False
        apply(doc, update)
        return True
