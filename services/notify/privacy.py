"""notify's part in privacy (个人信息保护法; docs/security.md, "Privacy"): what its request documents hold of a
resident (the recipient, the inbox messages, the delivery records with their addresses), their export and
anonymisation (by event, shared/privacy.py `PrivacyResponder`), and the retention sweep.

Anonymising keeps the document, the delivery records' channel, status, attempts and times (the delivery log's
counts) and the inbox messages' shape; the recipient's name and contact, every delivery address (phone,
e-mail, webhook URL) and the resident's words inside message texts go. Deliveries still pending are
skipped (`skipped`, with the reason): nobody can be told at an erased address.

Notify does not learn when a request closes; its retention clock is the document's last change (the closing
message is the last one a resident is sent), and only documents with nothing left to send are swept.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from services.notify.domain.deliveries import PENDING, SKIPPED
from shared.privacy import ANONYMISED, find_resident, personal_words, scrub, set_retention_mark, sweep_range

Document = dict[str, Any]
HIDE_LEASE = {"lease_owner": 0, "lease_until": 0}


def anonymised_request(doc: Document, now: datetime) -> Document:
    """The update that anonymises one request document: pure, so the unit tests read it."""
    recipient = doc.get("recipient") or {}
    words = personal_words(recipient.get("name"), recipient.get("phone"), recipient.get("email"))
    deliveries = []
    for d in doc.get("deliveries") or []:
        d = {**scrub(d, words), "address": None}
        if d.get("status") == PENDING:
            d |= {"status": SKIPPED, "error": "erased (personal data)", "next_attempt_at": None}
        deliveries.append(d)
    sets: Document = {
        "recipient": {
            **{k: v for k, v in recipient.items() if k not in ("name", "phone", "email", "webhook_url")},
            "name": None,
            "phone": None,
            "email": None,
            "webhook_url": None,
            ANONYMISED: now,
        },
        "messages": scrub(doc.get("messages") or [], words, "messages"),
        "deliveries": deliveries,
        ANONYMISED: now,
    }
    return {"$set": sets, "$unset": {"due_at": ""}, "$inc": {"version": 1}}


class NotifyPrivacyPart:
    """A `shared.privacy.PrivacyPart` over notify's request documents."""

    def __init__(self, requests: AsyncCollection[Document], jobs: AsyncCollection[Document]) -> None:
        self.requests, self.jobs = requests, jobs

    async def ensure_indexes(self) -> None:
        await self.requests.create_index("recipient.phone", sparse=True)  # one resident's documents
        await self.requests.create_index("updated_at")  # the retention sweep

    async def _find(self, phone: str | None, codes: list[str]) -> list[Document]:
        return await find_resident(
            self.requests, phone_field="recipient.phone", phone=phone, codes=codes, projection=HIDE_LEASE
        )

    async def export(self, phone: str | None, codes: list[str]) -> dict[str, list[Document]]:
        return {"requests": await self._find(phone, codes)}

    async def _anonymise(self, doc: Document, now: datetime) -> int:
        # Guarded by `version` (an event or a settle moves it) and no lease (the worker is not sending it now).
        guard = {"_id": doc["_id"], "version": doc.get("version"), "lease_owner": {"$exists": False}}
        return (await self.requests.update_one(guard, anonymised_request(doc, now))).modified_count

    async def erase(self, phone: str | None, codes: list[str], now: datetime) -> dict[str, int]:
        changed = 0
        for doc in await self._find(phone, codes):
            if doc.get(ANONYMISED):
                continue
            if await self._anonymise(doc, now):
                changed += 1
                continue
            fresh = await self.requests.find_one({"_id": doc["_id"]}, HIDE_LEASE)
            if fresh is not None and not await self._anonymise(fresh, now):
                raise RuntimeError(f"request {doc['_id']} is being sent right now; the erasure is retried")
            changed += 1 if fresh is not None else 0
        return {"requests": changed}

    async def sweep(self, closed_before: datetime, now: datetime, limit: int) -> int:
        docs = await sweep_range(self.requests, self.jobs, "updated_at", closed_before, limit)
        changed, stop = 0, None
        for doc in docs:
            if doc.get(ANONYMISED) or doc.get("due_at") is not None:
                continue
            if await self._anonymise(doc, now):
                changed += 1
            elif stop is None:
                stop = doc["updated_at"]
        if docs:
            await set_retention_mark(self.jobs, stop or docs[-1]["updated_at"])
        return changed if len(docs) < limit else max(changed, limit)
