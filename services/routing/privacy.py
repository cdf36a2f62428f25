"""routing's part in privacy (个人信息保护法): what its tasks hold of a resident, their export and anonymisation,
the retention sweep over closed tasks, and the privacy desk that starts requests and collects the services'
answers (docs/security.md, "Privacy").

Anonymising a task keeps the document and every field the ledgers count (services/routing/store.py
`LEDGER_FIELDS`): only the resident's name and contact, the address below the building, the coordinates,
the search words and the resident's words inside free text go.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from services.routing.privacystore import PrivacyStore, phone_key
from shared.events import Envelope, EventData, new_event
from shared.events.privacy import (
    PRIVACY_SERVICES,
    Erased,
    ErasureRequested,
    ExportPart,
    ExportRequested,
    privacy_aggregate_id,
)
from shared.outbox import HIDE
from shared.privacy import (
    ANONYMISED,
    find_resident,
    national_phone,
    personal_words,
    phone_variants,
    scrub,
    scrub_text,
    sweep_range,
)
from shared.redact import mask_phone

Document = dict[str, Any]
SERVICE = "routing"
TEXT_FIELDS = ("history", "feedback", "followup", "attributes", "answer_labels", "public_note", "reply", "extension")


def anonymised_task(doc: Document, now: datetime) -> Document:
    """The `$set` that anonymises one task: pure, so the unit tests read it."""
    resident = doc.get("resident") or {}
    words = personal_words(
        resident.get("name"), resident.get("phone"), resident.get("email"), doc.get("address"), doc.get("unit")
    )
    fields: Document = {
        "resident": {"name": None, "phone": None, "email": None, "language": resident.get("language"), ANONYMISED: now},
        "description": scrub_text(str(doc.get("description") or ""), words),
        "address": None,  # the building stays (the ledgers and the map count by building)
        "unit": None,
        "lat": None,
        "long": None,
        "phone_last4": None,
        "terms": [],
        "match_keys": [],
        ANONYMISED: now,
    }
    for name in TEXT_FIELDS:
        if doc.get(name) is not None:
            fields[name] = scrub(doc[name], words, name)
    return fields


class RoutingPrivacyPart:
    """A `shared.privacy.PrivacyPart` over routing's tasks (and the exports routing keeps for download)."""

    def __init__(self, tasks: AsyncCollection[Document], store: PrivacyStore) -> None:
        self.tasks, self.store = tasks, store

    async def ensure_indexes(self) -> None:
        await self.tasks.create_index("resident.phone", sparse=True)  # one resident's tasks
        await self.tasks.create_index("closed_at", sparse=True)  # the retention sweep

    async def export(self, phone: str | None, codes: list[str]) -> dict[str, list[Document]]:
        found = await find_resident(self.tasks, phone_field="resident.phone", phone=phone, codes=codes, projection=HIDE)
        return {"tasks": found}

    async def _anonymise(self, docs: list[Document], now: datetime) -> tuple[int, list[Document]]:
        """How many were anonymised, and the ones a concurrent change kept from it (the next pass retries)."""
        changed, missed = 0, []
        for doc in docs:
            if doc.get(ANONYMISED):
                continue
            # `rev` moves, so a staff action decided on the task before this write decides again.
            result = await self.tasks.update_one(
                {"_id": doc["_id"], "rev": doc.get("rev", 0)},
                {"$set": anonymised_task(doc, now), "$inc": {"rev": 1}},
            )
            changed += result.modified_count
            if not result.modified_count:
                missed.append(doc)
        return changed, missed

    async def erase(self, phone: str | None, codes: list[str], now: datetime) -> dict[str, int]:
        found = await find_resident(self.tasks, phone_field="resident.phone", phone=phone, codes=codes, projection=HIDE)
        changed, missed = await self._anonymise(found, now)
        if missed:  # a staff member changed one of them meanwhile: read it again and anonymise it
            again = [d for m in missed if (d := await self.tasks.find_one({"_id": m["_id"]}, HIDE))]
            changed += (await self._anonymise(again, now))[0]
        return {"tasks": changed, "privacy_exports": await self.store.drop_exports(phone)}

    async def sweep(self, closed_before: datetime, now: datetime, limit: int) -> int:
        # Through the closed_at index from the last mark on, so a pass reads new closures only.
        docs = await sweep_range(self.tasks, self.store.jobs, "closed_at", closed_before, limit)
        changed, missed = await self._anonymise(docs, now)
        if docs:  # up to the first one left behind (a concurrent change), which the next pass reads again
            await self.store.set_retention_mark((missed or docs)[-1 if not missed else 0]["closed_at"])
        await self.store.drop_old_exports(now)
        return changed if len(docs) < limit else max(changed, limit)


class PrivacyDesk:
    """Starts export and erasure requests (one document with its event, relayed) and records the answers."""

    def __init__(self, store: PrivacyStore, publisher: Any, clock: Any) -> None:
        self.store, self.publisher, self.clock = store, publisher, clock

    async def request(
        self, kind: str, *, phone: str | None, tracking_codes: list[str], by: str, reason: str | None
    ) -> Document:
        now, privacy_id = self.clock(), uuid.uuid4().hex[:16]
        national = national_phone(phone)
        data_cls = ExportRequested if kind == "export" else ErasureRequested
        data = data_cls(
            request_id=privacy_aggregate_id(privacy_id),
            privacy_id=privacy_id,
            phone=national,
            tracking_codes=tracking_codes,
            requested_at=now,
        )
        event = new_event(data, producer=SERVICE, seq=1, occurred_at=now)
        document: Document = {
            "_id": privacy_id,
            "kind": kind,
            # who, without keeping the whole phone here: the event (in the outbox until published) carries it
            "subject": mask_phone(national) if national else None,
            "subject_key": phone_key(national),  # finds the exports kept for this resident at an erasure
            "tracking_codes": tracking_codes,
            "requested_by": by,
            "requested_at": now,
            "reason": reason,
            "parts": {},
        }
        saved = await self.store.insert_request(document, [event])
        await self.publisher.publish_after_write(saved)
        return saved

    async def record(self, envelope: Envelope, data: EventData) -> None:
        """A service's answer (`privacy.export_part` / `privacy.erased`). Idempotent: `$set` of its part."""
        if isinstance(data, ExportPart):
            await self.store.save_export(data.privacy_id, data.service, data.documents, data.done_at)
        if isinstance(data, ExportPart | Erased):
            await self.store.record_part(data.privacy_id, data.service, data.counts, data.done_at)


def progress(doc: Document) -> Document:
    """What the admin sees of a privacy request: the services done out of the three."""
    parts = doc.get("parts") or {}
    return {
        "id": doc["_id"],
        "kind": doc["kind"],
        "subject": doc.get("subject"),
        "tracking_codes": doc.get("tracking_codes") or [],
        "requested_by": doc.get("requested_by"),
        "requested_at": doc.get("requested_at"),
        "reason": doc.get("reason"),
        "services": list(PRIVACY_SERVICES),
        "done": sorted(parts),
        "progress": f"{len(parts)} of {len(PRIVACY_SERVICES)}",
        "complete": all(s in parts for s in PRIVACY_SERVICES),
        "parts": parts,
    }


__all__ = ["PrivacyDesk", "RoutingPrivacyPart", "anonymised_task", "phone_variants", "progress"]
