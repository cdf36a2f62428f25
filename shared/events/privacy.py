"""Privacy requests under the Personal Information Protection Law (个人信息保护法): export and erasure of one
resident's data, across the three services, by event.

- An admin asks routing; routing stores the privacy request and publishes `privacy.export_requested` or
  `privacy.erasure_requested` (its outbox). `request_id` is `privacy:<privacy request id>`.
- Each service (routing itself included) handles it idempotently, and answers with `privacy.export_part`
  (its part of the resident's data) or `privacy.erased` (how many documents it anonymised).
- Routing records the answers on the privacy request: the admin sees "2 of 3 services done".

Data minimisation: the requested events carry the phone (the key every service finds the resident by) and
the tracking codes, nothing else; `privacy.erased` carries counts only. `privacy.export_part` carries the
resident's own data, by necessity (docs/security.md, "Privacy").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from shared.events.envelope import EventData, register

PRIVACY_SERVICES = ("intake", "routing", "notify")


def privacy_aggregate_id(privacy_id: str) -> str:
    return f"privacy:{privacy_id}"


class PrivacyRequested(EventData):
    """Whose data: the phone (digits, as the admin typed it, normalised) and/or tracking codes."""

    privacy_id: str
    phone: str | None = None
    tracking_codes: list[str] = []
    requested_at: datetime


@register
class ExportRequested(PrivacyRequested):
    TYPE = "privacy.export_requested"


@register
class ErasureRequested(PrivacyRequested):
    TYPE = "privacy.erasure_requested"


class PrivacyAnswer(EventData):
    privacy_id: str
    service: Literal["intake", "routing", "notify"]
    counts: dict[str, int]  # collection -> documents found (export) or anonymised (erasure)
    done_at: datetime


@register
class ExportPart(PrivacyAnswer):
    """One service's part of the resident's data (the documents, outbox plumbing left out)."""

    TYPE = "privacy.export_part"
    documents: dict[str, list[dict[str, Any]]]  # collection -> documents


@register
class Erased(PrivacyAnswer):
    TYPE = "privacy.erased"
