"""The desk: what both front doors do with a checked request — take it (or refuse it with a referral),
cancel it, take the resident's feedback. Each is one guarded single-document write carrying its events,
then the outbox relay publishes them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.intake import domain
from services.intake.store import IdempotencySlotTaken, IntakeStore, TrackingCodeTaken
from services.intake.triage import Triage
from shared.outbox import OutboxRelay
from shared.tracking import new_tracking_code, normalize_tracking_code

Document = dict[str, Any]


def fingerprint(api: str, body: Any) -> str:
    """A stable hash of a normalized body: the same request sent twice hashes the same."""
    canonical = json.dumps([api, body], sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8", "replace")).hexdigest()


def to_millis(moment: datetime) -> datetime:
    """BSON keeps milliseconds: the first answer must equal what a replay reads back."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different body."""


class UnknownRequest(Exception):
    """No request with this id and tracking code (one answer for both, so ids cannot be probed)."""


class Busy(Exception):
    """The request kept changing under us; the client may simply retry."""


@dataclass(frozen=True)
class Submitted:
    document: Document
    replayed: bool  # True: an earlier answer to the same Idempotency-Key and body


class Desk:
    def __init__(self, store: IntakeStore, relay: OutboxRelay, triage: Triage, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.relay = relay
        self.triage = triage
        self.clock = clock

    async def _replay(self, cmd: domain.SubmitRequest) -> Submitted | None:
        if cmd.idempotency_key is None:
            return None
        earlier = await self.store.by_idempotency_slot(domain.idempotency_slot(cmd.channel, cmd.idempotency_key))
        if earlier is None:
            return None
        if earlier.get("idem_fingerprint") != cmd.fingerprint:
            raise IdempotencyConflict
        return Submitted(earlier, replayed=True)

    async def submit(self, cmd: domain.SubmitRequest) -> Submitted:
        replay = await self._replay(cmd)
        if replay is not None:
            return replay
        referral = self.triage.check(cmd.service_code, cmd.description, cmd.attributes)
        now = to_millis(self.clock())
        for _ in range(5):
            accepted = domain.submit(
                cmd, request_id=str(uuid.uuid4()), tracking_code=new_tracking_code(), now=now, referral=referral
            )
            try:
                document = await self.store.insert_request(accepted)
                break
            except TrackingCodeTaken:
                continue
            except IdempotencySlotTaken:
                # Another replica stored this key between our look-up and our insert.
                replay = await self._replay(cmd)
                if replay is None:  # pragma: no cover - the slot holder cannot vanish
                    raise Busy from None
                return replay
        else:  # pragma: no cover - 50-bit codes do not clash five times in a row
            raise Busy
        await self.relay.publish_after_write(self.store.requests, document)
        return Submitted(document, replayed=False)

    async def _owned(self, request_id: str, tracking_code: str) -> Document:
        doc = await self.store.by_id(request_id)
        code = normalize_tracking_code(tracking_code)
        if doc is None or code is None or not hmac.compare_digest(doc["tracking_code"], code):
            raise UnknownRequest
        return doc

    async def cancel(self, request_id: str, tracking_code: str, reason: str | None) -> Document:
        """Cancel while not final. Cancelling a cancelled request answers its state again (a retry)."""
        doc = await self._owned(request_id, tracking_code)
        for _ in range(5):
            if doc["status"] == "cancelled":
                return doc
            change = domain.cancel(doc, reason=reason, now=self.clock())  # raises NotCancellable
            after = await self.store.apply_change(change)
            if after is not None:
                await self.relay.publish_after_write(self.store.requests, after)
                return after
            doc = await self._owned(request_id, tracking_code)
        raise Busy

    async def feedback(self, tracking_code: str, rating: str, comment: str | None) -> Document:
        code = normalize_tracking_code(tracking_code)
        doc = await self.store.by_tracking_code(code) if code else None
        if doc is None:
            raise UnknownRequest
        for _ in range(5):
            change = domain.feedback(doc, rating=rating, comment=comment, now=self.clock())  # raises FeedbackNotOpen
            after = await self.store.apply_change(change)
            if after is not None:
                await self.relay.publish_after_write(self.store.requests, after)
                return after
            doc = await self.store.by_id(doc["_id"]) or doc
        raise Busy
