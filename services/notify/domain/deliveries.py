"""The delivery log's rules: one record per (event, channel, recipient), its states and its retries. No I/O.

    pending --the worker leases its request's document, sends--> ok: sent
       ^                          |--transient, attempts left--> pending (next_attempt_at = now + backoff)
       |                          |--transient, no attempts left / permanent--> failed
       '-- quiet hours: deferred -'
    skipped: never sent (channel disabled, no address for it); kept so staff see why.

The records live in their request's document (services/notify/domain/record.py); the worker leases the
whole document. A document whose lease has expired (its replica died mid-send) is claimable again: a
send is at-least-once; the delivery id travels with every attempt so a gateway or receiver can
deduplicate. (`sending` is only seen in records from before one document per request.)
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

PENDING, SENDING, SENT, FAILED, SKIPPED = "pending", "sending", "sent", "failed", "skipped"
STATUSES = (PENDING, SENDING, SENT, FAILED, SKIPPED)
INBOX, EMAIL, SMS, WEBHOOK = "inbox", "email", "sms", "webhook"
CHANNELS = (INBOX, EMAIL, SMS, WEBHOOK)

Document = dict[str, Any]


def delivery_id(event_id: str, channel: str, recipient: str) -> str:
    """Deterministic, so a redelivered event maps onto the same records; also the gateways' idempotency key."""
    return f"{event_id}:{channel}:{recipient}"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_s: float = 5.0
    max_s: float = 3600.0

    def delay(self, attempts: int, rng: Callable[[], float] = random.random, at_least_s: float = 0.0) -> timedelta:
        """Exponential backoff with "equal jitter": half the step fixed, half random, so replicas that
        failed together do not retry together. `attempts` counts the attempts made so far (>= 1)."""
        step = min(self.max_s, self.base_s * 2 ** max(0, attempts - 1))
        seconds = step / 2 + rng() * step / 2
        return timedelta(seconds=min(self.max_s, max(seconds, at_least_s)))


def new_delivery(
    *,
    event: Document,
    channel: str,
    recipient: str,
    address: str | None,
    language: str,
    urgent: bool,
    message: Document,
    now: datetime,
    status: str = PENDING,
    reason: str | None = None,
    not_before: datetime | None = None,
) -> Document:
    """A delivery record. `event` holds event_id, event_type, request_id, tracking_code, team_id."""
    deferred = not_before is not None and not_before > now
    return {
        "_id": delivery_id(event["event_id"], channel, recipient),
        **event,
        "channel": channel,
        "recipient": recipient,
        "address": address,
        "language": language,
        "urgent": urgent,
        "message": message,
        "status": status,
        "attempts": 1 if status == SENT else 0,
        "next_attempt_at": (not_before if deferred else now) if status == PENDING else None,
        "deferred_until": not_before if deferred else None,
        "lease_owner": None,
        "lease_until": None,
        "last_error": reason,
        "created_at": now,
        "updated_at": now,
        "sent_at": now if status == SENT else None,
    }


def claim_filter(now: datetime) -> Document:
    """Request documents a worker may take now: one of their records is due (`due_at`, services/notify/
    domain/record.py) and no live lease holds the document (a lease left by a dead replica has expired)."""
    return {"due_at": {"$lte": now}, "$or": [{"lease_until": None}, {"lease_until": {"$lte": now}}]}


def claim_update(owner: str, now: datetime, lease_s: float) -> Document:
    """Lease the document to `owner`. `claims` counts leases taken without an outcome recorded (reset when
    one is): a document whose senders keep dying mid-send is given up after `max_attempts` of them."""
    return {
        "$set": {"lease_owner": owner, "lease_until": now + timedelta(seconds=lease_s)},
        "$inc": {"claims": 1},
    }


def sent_update(now: datetime, provider_id: str | None = None) -> Document:
    fields: Document = {"status": SENT, "sent_at": now, "updated_at": now, "next_attempt_at": None}
    if provider_id:
        fields["provider_id"] = provider_id
    return {"$set": fields, "$unset": {"lease_owner": "", "lease_until": ""}}


def failure_update(
    attempts: int,
    error: str,
    *,
    permanent: bool,
    now: datetime,
    policy: RetryPolicy,
    rng: Callable[[], float] = random.random,
    retry_after_s: float = 0.0,
) -> tuple[str, Document]:
    """(outcome, update) after a failed attempt: "failed" for a permanent failure or no attempts left,
    else "retry" with the next attempt time."""
    error = error[:500]
    if permanent or attempts >= policy.max_attempts:
        if not permanent:
            error = f"gave up after {attempts} attempts: {error}"
        fields: Document = {"status": FAILED, "last_error": error, "updated_at": now, "next_attempt_at": None}
        return FAILED, {"$set": fields, "$unset": {"lease_owner": "", "lease_until": ""}}
    next_at = now + policy.delay(attempts, rng, at_least_s=retry_after_s)
    fields = {"status": PENDING, "last_error": error, "updated_at": now, "next_attempt_at": next_at}
    return "retry", {"$set": fields, "$unset": {"lease_owner": "", "lease_until": ""}}


def defer_update(until: datetime, now: datetime) -> Document:
    """Back to pending until the quiet hours end; the attempt is not counted."""
    return {
        "$set": {"status": PENDING, "next_attempt_at": until, "deferred_until": until, "updated_at": now},
        "$unset": {"lease_owner": "", "lease_until": ""},
    }
