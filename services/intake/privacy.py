"""intake's part in privacy (个人信息保护法; docs/security.md, "Privacy"): what its requests hold of a resident,
their export and anonymisation (by event, shared/privacy.py `PrivacyResponder`), and the retention sweep.

Anonymising a request keeps the document, its status view and every field the ledgers and Open311 count
(service, channel, status, times, the building); the resident's name and contact, the address below the
building, the coordinates and the resident's words inside free text go. Service-day sign-ups are kept as they
are: they end with their day (services/intake/servicedays.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from services.intake.domain.request import FINAL_STATUSES
from shared.outbox import HIDE
from shared.privacy import ANONYMISED, find_resident, personal_words, scrub, scrub_text, set_retention_mark, sweep_range

Document = dict[str, Any]
TEXT_FIELDS = ("timeline", "feedback", "attributes", "answer_labels", "extra", "api", "public_note", "referral")


def anonymised_request(doc: Document, now: datetime) -> Document:
    """The `$set` that anonymises one request: pure, so the unit tests read it."""
    resident = doc.get("resident") or {}
    location = doc.get("location") or {}
    words = personal_words(
        resident.get("name"),
        resident.get("phone"),
        resident.get("email"),
        location.get("address"),
        location.get("unit"),
    )
    fields: Document = {
        # the name is a string for the views that read it; what is left is how the resident was told
        "resident": {
            "name": "",
            "phone": None,
            "email": None,
            "language": resident.get("language") or "zh-CN",
            "preferred_channel": "inbox",
            "vulnerability": [],
            ANONYMISED: now,
        },
        "description": scrub_text(str(doc.get("description") or ""), words),
        "location": {"building": location.get("building"), "address_id": location.get("address_id")},
        "media_urls": [],
        ANONYMISED: now,
    }
    for name in TEXT_FIELDS:
        if doc.get(name) is not None:
            fields[name] = scrub(doc[name], words, name)
    return fields


class IntakePrivacyPart:
    """A `shared.privacy.PrivacyPart` over intake's requests."""

    def __init__(self, requests: AsyncCollection[Document], jobs: AsyncCollection[Document]) -> None:
        self.requests, self.jobs = requests, jobs

    async def ensure_indexes(self) -> None:
        await self.requests.create_index("resident.phone", sparse=True)  # one resident's requests
        # the retention sweep reads by last change; the `updated_at` index exists (services/intake/store.py)

    async def _find(self, phone: str | None, codes: list[str]) -> list[Document]:
        return await find_resident(
            self.requests, phone_field="resident.phone", phone=phone, codes=codes, projection=HIDE
        )

    async def export(self, phone: str | None, codes: list[str]) -> dict[str, list[Document]]:
        return {"requests": await self._find(phone, codes)}

    async def _anonymise(self, doc: Document, now: datetime) -> int:
        # Guarded by the document's `seq` and `routing_seq`: a write that raced this one is read again next time.
        guard = {"_id": doc["_id"], "seq": doc.get("seq"), "routing_seq": doc.get("routing_seq")}
        result = await self.requests.update_one(guard, {"$set": anonymised_request(doc, now)})
        return result.modified_count

    async def erase(self, phone: str | None, codes: list[str], now: datetime) -> dict[str, int]:
        changed = 0
        for doc in await self._find(phone, codes):
            if doc.get(ANONYMISED):
                continue
            if not await self._anonymise(doc, now):  # changed meanwhile: once more on the fresh document
                fresh = await self.requests.find_one({"_id": doc["_id"]}, HIDE)
                changed += await self._anonymise(fresh, now) if fresh else 0
            else:
                changed += 1
        return {"requests": changed}

    async def sweep(self, closed_before: datetime, now: datetime, limit: int) -> int:
        """Requests in a final status whose last change is older than `closed_before`."""
        docs = await sweep_range(self.requests, self.jobs, "updated_at", closed_before, limit)
        changed, stop = 0, None
        for doc in docs:
            if doc.get(ANONYMISED) or doc.get("status") not in FINAL_STATUSES:
                continue  # an open one changes (and moves past the mark) before it closes
            if await self._anonymise(doc, now):
                changed += 1
            elif stop is None:
                stop = doc["updated_at"]
        if docs:
            await set_retention_mark(self.jobs, stop or docs[-1]["updated_at"])
        return changed if len(docs) < limit else max(changed, limit)
