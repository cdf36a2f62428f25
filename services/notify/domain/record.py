"""One document per request: the resident, the request's team, the inbox messages and the delivery records
together (`requests`, `_id` = the request id). No I/O: what one event writes, and what the worker reads.

Every event is ONE guarded write to its request's document: `$push` of the event id (the idempotency
key: an event already in `events` changes nothing), the inbox message and the delivery records, and
`$min` of `due_at`, the earliest moment one of its deliveries needs the worker (absent when none does).
Existing deliveries are only ever changed by the worker, in place (`deliveries.<i>.<field>`); events
only append, so a record's position never moves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.notify.domain.deliveries import PENDING

Document = dict[str, Any]


@dataclass(frozen=True)
class EventWrite:
    """What one event adds to its request's document."""

    request_id: str
    event_id: str
    now: datetime
    tracking_code: str | None = None
    recipient: Document | None = None  # the resident, from the events that introduce them
    team: tuple[str, int] | None = None  # (team_id, seq): only when newer than the document's
    message: Document | None = None  # the inbox message
    deliveries: tuple[Document, ...] = field(default_factory=tuple)
    # The document's `version` the decision was made on; None = written blind (the event brings all it
    # needs, so nothing was read): it applies only while the document has no resident yet.
    version: int | None = None

    @property
    def due_at(self) -> datetime | None:
        return next_due(self.deliveries)


def recipient_of(doc: Document | None) -> Document | None:
    """The resident as planning reads them (with the request's current team); None before they are known."""
    if doc is None or not doc.get("recipient"):
        return None
    return {**doc["recipient"], "team_id": doc.get("team_id"), "team_seq": doc.get("team_seq")}


def is_newer_team(doc: Document | None, seq: int) -> bool:
    stored = (doc or {}).get("team_seq")
    return stored is None or seq > stored


def next_due(deliveries: Iterable[Document]) -> datetime | None:
    """When the worker must next look at these records: the earliest pending attempt."""
    times = [d["next_attempt_at"] for d in deliveries if d.get("status") == PENDING and d.get("next_attempt_at")]
    return min(times, default=None)


def due_deliveries(doc: Document, now: datetime) -> list[Document]:
    """The records a worker that leased `doc` sends now: pending and due."""
    return [
        d
        for d in doc.get("deliveries") or []
        if d.get("status") == PENDING and d.get("next_attempt_at") is not None and d["next_attempt_at"] <= now
    ]


def apply_update(delivery: Document, update: Document) -> Document:
    """A delivery record after an outcome's `$set` / `$unset` (services/notify/domain/deliveries.py)."""
    after = {**delivery, **update.get("$set", {})}
    for key in update.get("$unset", {}):
        after.pop(key, None)
    return after


def settle_update(doc: Document, outcomes: dict[str, Document]) -> Document:
    """The one write that records a leased document's outcomes (by record id), moves `due_at` to the next
    due record (or removes it) and releases the lease."""
    sets: Document = {}
    unsets: Document = {"lease_owner": "", "lease_until": ""}
    after: list[Document] = []
    for i, delivery in enumerate(doc.get("deliveries") or []):
        update = outcomes.get(delivery["_id"])
        if update is None:
            after.append(delivery)
            continue
        for key, value in update.get("$set", {}).items():
            sets[f"deliveries.{i}.{key}"] = value
        for key in update.get("$unset", {}):
            unsets[f"deliveries.{i}.{key}"] = ""
        after.append(apply_update(delivery, update))
    sets["claims"] = 0
    due = next_due(after)
    if due is None:
        unsets["due_at"] = ""
    else:
        sets["due_at"] = due
    return {"$set": sets, "$unset": unsets}
