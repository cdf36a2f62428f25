"""From the three collections of before (`recipients`, `inbox`, `deliveries`) to one document per request.

Run by bootstrap at every start and done once: a marker in `migrations` says it is finished. Each request's
document is built from its recipient, inbox messages and delivery records and inserted only where no
document exists yet (an event handled since the upgrade, or another replica migrating at the same time,
wins: the insert fails on `_id` and is skipped), so replicas starting together are safe and a start that
stops half-way simply does the rest next time. A legacy record caught mid-send (`sending`) becomes
`pending`, due when its lease would have ended. The old collections are left as they were; drop them
once the new documents are in use (docs/notify.md says how).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.notify.domain.deliveries import PENDING, SENDING
from services.notify.domain.record import next_due

log = structlog.get_logger("huiying.notify.legacy")

Document = dict[str, Any]
MARKER = "notify-one-document-per-request"
LEGACY = ("recipients", "inbox", "deliveries")


def request_document(
    request_id: str, recipient: Document | None, messages: list[Document], deliveries: list[Document], now: datetime
) -> Document:
    """The request document the legacy rows of one request make."""
    records = []
    for d in deliveries:
        d = {k: v for k, v in d.items() if k not in ("lease_owner", "lease_until")}
        if d.get("status") == SENDING:  # its replica's lease is the document's now
            d = {**d, "status": PENDING, "next_attempt_at": d.get("next_attempt_at") or now}
        records.append(d)
    records.sort(key=lambda d: (d["created_at"], d["_id"]))
    messages = sorted(messages, key=lambda m: (m["event_at"], m["created_at"]))
    events = sorted({m["_id"] for m in messages} | {d["event_id"] for d in records})
    doc: Document = {
        "_id": request_id,
        "tracking_code": (recipient or {}).get("tracking_code")
        or next((d.get("tracking_code") for d in records), None),
        "events": events,
        "messages": messages,
        "deliveries": records,
        "version": 1,
        "created_at": min([d["created_at"] for d in records] + [m["created_at"] for m in messages], default=now),
        "updated_at": now,
    }
    if recipient is not None:
        doc["recipient"] = {k: v for k, v in recipient.items() if k not in ("_id", "team_id", "team_seq")}
        for key in ("team_id", "team_seq"):
            if recipient.get(key) is not None:
                doc[key] = recipient[key]
    due = next_due(records)
    if due is not None:
        doc["due_at"] = due
    return doc


async def migrate(db: AsyncDatabase[Document], now: datetime) -> int:
    """Move the legacy rows into request documents (once); returns how many documents it wrote."""
    if await db["migrations"].find_one({"_id": MARKER}) is not None:
        return 0
    present = set(await db.list_collection_names())
    written = 0
    if present & set(LEGACY):
        requests, done = db["requests"], set()
        async for recipient in db["recipients"].find({}):
            rid = recipient["_id"]
            messages = [m async for m in db["inbox"].find({"request_id": rid})]
            deliveries = [d async for d in db["deliveries"].find({"request_id": rid})]
            written += await _insert(requests, request_document(rid, recipient, messages, deliveries, now))
            done.add(rid)
        # Staff reminders of requests whose resident was never known here.
        orphans: dict[str, list[Document]] = {}
        async for delivery in db["deliveries"].find({"request_id": {"$nin": sorted(done)}}):
            orphans.setdefault(delivery["request_id"], []).append(delivery)
        for rid, deliveries in orphans.items():
            written += await _insert(requests, request_document(rid, None, [], deliveries, now))
        log.info("notify's records moved to one document per request", documents=written)
    try:
        await db["migrations"].insert_one({"_id": MARKER, "at": now, "documents": written})
    except DuplicateKeyError:
        pass  # another replica finished at the same time
    return written


async def _insert(requests: Any, doc: Document) -> int:
    try:
        await requests.insert_one(doc)
    except DuplicateKeyError:
        return 0  # already there: written by an event since the upgrade, or by another replica
    return 1
