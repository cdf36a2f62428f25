"""Adding to an open request: the resident (with the tracking code) sends more words or photos. One guarded
write appends the addition and carries `request.supplemented`; routing puts it in the task's history and the
team's queue, notify tells the resident it arrived. No I/O.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.intake.domain.request import CLOSED_STATUSES, PRODUCER, Change, photo_entry, timeline_entry
from shared.events import new_event
from shared.events.requests import PhotoRef, RequestSupplemented

Document = dict[str, Any]


class NotOpen(Exception):
    """The request is closed (or resolved and waiting for the resident's rating): nothing can be added."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


def can_add(doc: Document) -> bool:
    return doc["status"] not in CLOSED_STATUSES


def photo_count(doc: Document) -> int:
    return len(doc.get("photos") or [])


def supplement(doc: Document, *, addition_id: str, text: str | None, photos: list[PhotoRef], now: datetime) -> Change:
    """The addition on the request and its event. Raises NotOpen."""
    if not can_add(doc):
        raise NotOpen(doc["status"])
    event = new_event(
        RequestSupplemented(request_id=doc["_id"], addition_id=addition_id, text=text, photos=photos, added_at=now),
        producer=PRODUCER,
        seq=doc["seq"] + 1,
        occurred_at=now,
    )
    addition = {"id": addition_id, "text": text, "photos": [p.id for p in photos], "at": now}
    return Change(
        guard={"_id": doc["_id"], "seq": doc["seq"], "status": {"$nin": sorted(CLOSED_STATUSES)}},
        update={
            "$set": {"updated_at": now},
            "$inc": {"seq": 1},
            "$push": {
                "timeline": timeline_entry(event, doc["status"], now),
                "additions": addition,
                "photos": {"$each": [photo_entry(p, now, addition_id) for p in photos]},
            },
        },
        events=[event],
    )
