"""Personal data under the Personal Information Protection Law (个人信息保护法), the parts every service shares:

- finding one resident's documents by phone (every spelling a service may have stored) or tracking code;
- anonymising free text (phones, e-mails, ID numbers and the resident's own words: name, address);
- `PrivacyResponder`: a service's answer to `privacy.export_requested` / `privacy.erasure_requested`
  (shared/events/privacy.py), idempotent;
- `RetentionSweep`: the periodic anonymisation of requests closed more than N days ago, one replica at a
  time (a lease document), in batches.

Each service says what its documents hold in its own services/<svc>/privacy.py (a `PrivacyPart`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.events import Envelope, EventData, new_event
from shared.events.privacy import Erased, ErasureRequested, ExportPart, ExportRequested, PrivacyRequested
from shared.loop import PeriodicLoop
from shared.outbox import HIDE, new_owner_id
from shared.redact import HIDDEN, scrub_personal
from shared.settings import Settings
from shared.topology import PRIVACY_REQUESTS

Document = dict[str, Any]
Clock = Callable[[], datetime]
log = structlog.get_logger("huiying.privacy")

ANONYMISED = "anonymised_at"  # set on every anonymised document (and on its resident part)
# Keys whose values are identifiers, times or codes, never free text: the scrub leaves them alone.
_NOT_TEXT = re.compile(r"(^|_)(id|ids|at|code|codes|type|status|channel|kind|seq|version|rev|key|keys|language)$")
_ANSWER_NS = uuid.UUID("6f1c5a2e-4b7d-4e8a-9d3c-2a1b0c9d8e7f")


def national_phone(phone: str | None) -> str | None:
    """The digits of a phone without a mainland country code (`+86 138 0013 8000` -> `13800138000`)."""
    if not phone:
        return None
    digits = re.sub(r"\D", "", phone)
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11 and digits[len(prefix)] == "1":
            return digits[len(prefix) :]
    return digits or None


def phone_variants(phone: str | None) -> list[str]:
    """Every spelling a service stores a phone in: intake keeps E.164 (`+8613800138000`), routing the
    national number (`13800138000`)."""
    national = national_phone(phone)
    if national is None:
        return []
    out = [national, f"+{national}", f"86{national}", f"+86{national}", f"0086{national}"]
    if phone and phone not in out:
        out.append(phone)
    return out


def personal_words(*values: str | None) -> list[str]:
    """The resident's own words to remove from free text: name, address, e-mail, every phone spelling."""
    words: list[str] = []
    for value in values:
        if value and len(value.strip()) >= 2:
            words.append(value.strip())
            words += [v for v in phone_variants(value) if len(v) >= 7] if re.search(r"\d{7}", value) else []
    return sorted(set(words), key=len, reverse=True)


def scrub_text(text: str, words: list[str]) -> str:
    for word in words:
        text = text.replace(word, HIDDEN)
    return scrub_personal(text) or text


def scrub(value: Any, words: list[str], key: str = "") -> Any:
    """Free text anywhere inside `value` with contact details and the resident's words replaced by ***.
    Identifiers, times and codes (by their key) are left alone, so the document keeps its shape."""
    if isinstance(value, str):
        return value if _NOT_TEXT.search(key) else scrub_text(value, words)
    if isinstance(value, dict):
        return {k: scrub(v, words, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, words, key) for v in value]
    return value


async def find_resident(
    collection: AsyncCollection[Document],
    *,
    phone_field: str,
    phone: str | None,
    codes: list[str],
    code_field: str = "tracking_code",
    projection: Document | None = None,
) -> list[Document]:
    """The documents of one resident: by phone (each spelling), and by tracking code. One equality look-up per
    value: the embedded engine reads a single-field index for an equality, but the whole collection for an
    `$in` or an `$or` (measured; docs/security.md, "Retention sweeps")."""
    found: dict[Any, Document] = {}
    for field, values in ((phone_field, phone_variants(phone)), (code_field, codes)):
        for value in values:
            async for doc in collection.find({field: value}, projection):
                found.setdefault(doc["_id"], doc)
    return list(found.values())


MARK_ID = "retention-mark"


async def retention_mark(jobs: AsyncCollection[Document]) -> datetime | None:
    """Where the last retention pass stopped (a closure or last-change time): the next reads from there on."""
    doc = await jobs.find_one({"_id": MARK_ID})
    return doc["at"] if doc else None


async def set_retention_mark(jobs: AsyncCollection[Document], at: datetime) -> None:
    await jobs.update_one({"_id": MARK_ID}, {"$max": {"at": at}}, upsert=True)


async def sweep_range(
    collection: AsyncCollection[Document], jobs: AsyncCollection[Document], field: str, before: datetime, limit: int
) -> list[Document]:
    """The next batch for the retention sweep: `field` from the mark up to `before`, through `field`'s index."""
    mark = await retention_mark(jobs)
    bounds: Document = {"$lte": before} if mark is None else {"$gte": mark, "$lte": before}
    cursor = collection.find({field: bounds}, HIDE).sort(field, 1).limit(limit)
    return [d async for d in cursor]


class PrivacyPart(Protocol):
    """What one service holds of a resident, and how it exports and anonymises it."""

    async def export(self, phone: str | None, codes: list[str]) -> dict[str, list[Document]]:
        """Collection -> the resident's documents (outbox and leases left out)."""
        ...

    async def erase(self, phone: str | None, codes: list[str], now: datetime) -> dict[str, int]:
        """Anonymise the resident's documents; collection -> how many were changed. Idempotent."""
        ...

    async def sweep(self, closed_before: datetime, now: datetime, limit: int) -> int:
        """Anonymise up to `limit` documents closed before `closed_before`; how many were."""
        ...


Publish = Callable[[Envelope], Awaitable[None]]


class PrivacyResponder:
    """A service's handler of the privacy requests: do its part, answer with its counts (and, for an export,
    the documents). Redelivery-safe: an erasure's counts are kept in `jobs` (never the data), so a redelivered
    request republishes the same answer (same event id); an export is read again (it changes nothing)."""

    def __init__(
        self, service: str, part: PrivacyPart, jobs: AsyncCollection[Document], publish: Publish, clock: Clock
    ) -> None:
        self.service, self.part, self.jobs, self.publish, self.clock = service, part, jobs, publish, clock

    async def __call__(self, envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, PrivacyRequested)
        codes = [c.upper() for c in data.tracking_codes]
        answer: EventData
        if isinstance(data, ExportRequested):
            documents = await self.part.export(data.phone, codes)
            answer = ExportPart(
                request_id=data.request_id,
                privacy_id=data.privacy_id,
                service=self.service,  # type: ignore[arg-type]
                counts={name: len(docs) for name, docs in documents.items()},
                documents=documents,
                done_at=self.clock(),
            )
        elif isinstance(data, ErasureRequested):
            answer = await self._erase(data, codes)
        else:  # pragma: no cover - only the two requests are bound to this handler
            return
        event_id = uuid.uuid5(_ANSWER_NS, f"{data.privacy_id}/{self.service}/{type(answer).TYPE}")
        await self.publish(
            new_event(answer, producer=self.service, seq=1, causation_id=str(envelope.event_id), event_id=event_id)
        )
        log.info("privacy request answered", privacy_id=data.privacy_id, kind=type(answer).TYPE)

    async def _erase(self, data: ErasureRequested, codes: list[str]) -> Erased:
        job_id = f"erasure:{data.privacy_id}"
        done = await self.jobs.find_one({"_id": job_id})
        if done is None:
            now = self.clock()
            counts = await self.part.erase(data.phone, codes, now)
            try:
                await self.jobs.insert_one({"_id": job_id, "counts": counts, "done_at": now})
            except DuplicateKeyError:
                pass  # another replica took the same redelivery: either answer is right
            done = await self.jobs.find_one({"_id": job_id}) or {"counts": counts, "done_at": now}
        return Erased(
            request_id=data.request_id,
            privacy_id=data.privacy_id,
            service=self.service,  # type: ignore[arg-type]
            counts=done["counts"],
            done_at=done["done_at"],
        )


class RetentionSweep:
    """The retention tick (a `PeriodicLoop`'s): anonymise what closed more than `days` ago, in batches. One
    replica at a time holds the lease (a document in `jobs`); the others skip their tick."""

    LEASE_ID = "retention-lease"

    def __init__(
        self,
        part: PrivacyPart,
        jobs: AsyncCollection[Document],
        *,
        owner: str,
        days: int,
        batch: int,
        lease_s: float,
        clock: Clock,
    ) -> None:
        self.part, self.jobs, self.owner = part, jobs, owner
        self.days, self.batch, self.lease_s, self.clock = days, batch, lease_s, clock
        self.anonymised = 0  # documents anonymised by this replica (tests and logs)

    async def _lease(self, now: datetime) -> bool:
        try:
            got = await self.jobs.find_one_and_update(
                {"_id": self.LEASE_ID, "$or": [{"until": {"$lt": now}}, {"owner": self.owner}]},
                {"$set": {"owner": self.owner, "until": now + timedelta(seconds=self.lease_s)}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            return False  # another replica holds it
        return got is not None and got.get("owner") == self.owner

    async def __call__(self) -> bool:
        if self.days <= 0:
            return False
        now = self.clock()
        if not await self._lease(now):
            return False
        changed = await self.part.sweep(now - timedelta(days=self.days), now, self.batch)
        self.anonymised += changed
        if changed:
            log.info("retention: contact details anonymised", documents=changed, days=self.days)
        return changed >= self.batch  # a full batch: run again at once


def privacy_wiring(
    service: str, part: PrivacyPart, jobs: AsyncCollection[Document], publish: Publish, settings: Settings, clock: Clock
) -> tuple[dict[str, Any], PeriodicLoop]:
    """What a service's bootstrap adds: the handlers of the privacy requests (binding key -> handler, on the
    service's queue) and the retention loop."""
    responder = PrivacyResponder(service, part, jobs, publish, clock)
    sweep = RetentionSweep(
        part,
        jobs,
        owner=new_owner_id(service),
        days=settings.retention_days,
        batch=settings.retention_batch,
        lease_s=settings.retention_sweep_interval_s * 2,
        clock=clock,
    )
    return dict.fromkeys(PRIVACY_REQUESTS, responder), PeriodicLoop(
        "retention-sweep", sweep, settings.retention_sweep_interval_s
    )
