"""The answers' shapes: a stored delivery record as the delivery log shows it. No contact detail leaves
whole: addresses are masked."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from services.notify.domain.deliveries import EMAIL, SMS, WEBHOOK
from shared.redact import mask_phone

Document = dict[str, Any]

# Shown as stored; `id`, `address`, `attempts` and `urgent` are shaped below.
DELIVERY_FIELDS = (
    "event_id",
    "event_type",
    "channel",
    "recipient",
    "language",
    "status",
    "last_error",
    "next_attempt_at",
    "deferred_until",
    "created_at",
    "sent_at",
)


def masked_address(channel: str, address: str | None) -> str | None:
    if not address:
        return None
    if channel == SMS:
        return mask_phone(address)
    if channel == EMAIL:
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    if channel == WEBHOOK:
        parts = urlsplit(address)
        return f"{parts.scheme}://{parts.netloc}/…"  # paths and queries may carry a receiver's token
    return address


def delivery_view(doc: Document) -> Document:
    return {
        "id": doc["_id"],
        **{k: doc.get(k) for k in DELIVERY_FIELDS},
        "address": masked_address(doc["channel"], doc.get("address")),
        "attempts": max(0, int(doc.get("attempts") or 0)),
        "urgent": bool(doc.get("urgent")),
    }
