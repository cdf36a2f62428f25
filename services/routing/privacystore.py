"""routing's privacy collections: the privacy requests (with their events, relayed like tasks), the export
parts kept for the admin to download (7 days), the access-audit log (who saw or moved personal data), and the
retention sweep's lease and mark (`privacy_jobs`, shared with shared/privacy.py)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from shared.events import Envelope
from shared.outbox import HIDE, OutboxWriter, ensure_outbox_indexes
from shared.privacy import national_phone, set_retention_mark

Document = dict[str, Any]
EXPORT_KEEP = timedelta(days=7)  # an export is downloaded within a week, then deleted


def phone_key(phone: str | None) -> str | None:
    """A resident's key among the privacy requests, without their number (a keyed hash would not help: the
    number space is small; it only saves an admin's screen from the number)."""
    national = national_phone(phone)
    return hashlib.sha256(f"huiying-privacy:{national}".encode()).hexdigest()[:32] if national else None


class PrivacyStore:
    def __init__(self, db: AsyncDatabase[Document], writer: OutboxWriter) -> None:
        self.writer = writer
        self.requests = db["privacy_requests"]
        self.exports = db["privacy_exports"]
        self.audit = db["access_audit"]
        self.jobs = db["privacy_jobs"]

    async def ensure_indexes(self) -> None:
        await self.requests.create_index("requested_at")
        await self.requests.create_index("subject_key", sparse=True)
        await ensure_outbox_indexes(self.requests)
        await self.exports.create_index("privacy_id")
        await self.exports.create_index("done_at")
        await self.audit.create_index("at")
        await self.audit.create_index("task_id", sparse=True)

    # -- privacy requests ----------------------------------------------------------------------------------

    async def insert_request(self, document: Document, events: Iterable[Envelope]) -> Document:
        saved = self.writer.on_insert(document, events)
        await self.requests.insert_one(saved)
        return saved

    async def get_request(self, privacy_id: str) -> Document | None:
        return await self.requests.find_one({"_id": privacy_id}, HIDE)

    async def list_requests(self, limit: int) -> list[Document]:
        cursor = self.requests.find({}, HIDE).sort("requested_at", DESCENDING).limit(limit)
        return [d async for d in cursor]

    async def record_part(self, privacy_id: str, service: str, counts: dict[str, int], done_at: datetime) -> None:
        await self.requests.update_one(
            {"_id": privacy_id}, {"$set": {f"parts.{service}": {"counts": counts, "done_at": done_at}}}
        )

    # -- exports -------------------------------------------------------------------------------------------

    async def save_export(
        self, privacy_id: str, service: str, documents: dict[str, list[Document]], done_at: datetime
    ) -> None:
        await self.exports.replace_one(
            {"_id": f"{privacy_id}:{service}"},
            {"privacy_id": privacy_id, "service": service, "documents": documents, "done_at": done_at},
            upsert=True,
        )

    async def export_parts(self, privacy_id: str) -> list[Document]:
        return [d async for d in self.exports.find({"privacy_id": privacy_id}).sort("service", ASCENDING)]

    async def drop_exports(self, phone: str | None) -> int:
        """An erasure removes the exports kept for the same resident too."""
        key = phone_key(phone)
        if key is None:
            return 0
        ids = [d["_id"] async for d in self.requests.find({"subject_key": key}, {"_id": 1})]
        if not ids:
            return 0
        return (await self.exports.delete_many({"privacy_id": {"$in": ids}})).deleted_count

    async def drop_old_exports(self, now: datetime) -> int:
        return (await self.exports.delete_many({"done_at": {"$lt": now - EXPORT_KEEP}})).deleted_count

    # -- the access audit log ------------------------------------------------------------------------------

    async def log_access(self, *, at: datetime, actor: str, role: str, action: str, **what: Any) -> Document:
        entry = {"_id": uuid.uuid4().hex, "at": at, "actor": actor, "role": role, "action": action, **what}
        await self.audit.insert_one(entry)
        return entry

    async def access_log(self, limit: int, *, task_id: str | None = None) -> list[Document]:
        query = {"task_id": task_id} if task_id else {}
        return [d async for d in self.audit.find(query).sort("at", DESCENDING).limit(limit)]

    # -- the retention sweep's mark (shared/privacy.py reads it) ---------------------------------------------

    async def set_retention_mark(self, closed_at: datetime) -> None:
        await set_retention_mark(self.jobs, closed_at)
