"""Webhook signatures: HMAC-SHA256 over `<timestamp>.<body>` with the shared webhook secret.

Headers on every webhook POST:

    X-Huiying-Timestamp: 1767225600            (Unix seconds when this attempt was sent)
    X-Huiying-Signature: v1=<64 hex chars>     (HMAC-SHA256(secret, f"{timestamp}." + raw body))
    X-Huiying-Delivery:  <delivery id>         (the same on every retry: deduplicate on it)

A receiver recomputes the HMAC over the raw body it received, compares in constant time, and rejects a
timestamp further than `TOLERANCE_S` from its own clock (a captured request cannot be replayed later);
within the window it drops a delivery id it has already seen. Each retry is signed afresh.
"""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP_HEADER = "X-Huiying-Timestamp"
SIGNATURE_HEADER = "X-Huiying-Signature"
DELIVERY_HEADER = "X-Huiying-Delivery"
EVENT_HEADER = "X-Huiying-Event"
SCHEME = "v1"
TOLERANCE_S = 300


class InvalidSignature(Exception):
    pass


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return mac.hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The two signature headers for one attempt."""
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: f"{SCHEME}={signature(secret, timestamp, body)}"}


def verify(
    secret: str,
    body: bytes,
    timestamp_header: str | None,
    signature_header: str | None,
    *,
    now: float,
    tolerance_s: int = TOLERANCE_S,
) -> int:
    """Check a received webhook; returns its timestamp or raises `InvalidSignature` saying why.

    The signature header may carry several comma-separated `v1=` values (during a secret rotation);
    one match is enough.
    """
    if not timestamp_header or not signature_header:
        raise InvalidSignature(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER}")
    try:
        timestamp = int(timestamp_header)
    except ValueError as exc:
        raise InvalidSignature(f"{TIMESTAMP_HEADER} is not an integer") from exc
    if abs(now - timestamp) > tolerance_s:
        raise InvalidSignature(f"timestamp outside the {tolerance_s}s tolerance (replayed or clock skew)")
    expected = signature(secret, timestamp, body)
    for part in signature_header.split(","):
        scheme, _, value = part.strip().partition("=")
        if scheme == SCHEME and hmac.compare_digest(value, expected):
            return timestamp
    raise InvalidSignature("signature does not match the body")
