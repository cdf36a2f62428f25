"""The public Open311 views of a request and of the catalogue (the native track view is in domain/views.py).
No I/O.

Public views never carry the resident's name, phone or e-mail. The flat-level address, coordinates,
description, media and staff notes (`status_notes`) appear in Open311 only for kinds whose catalogue entry
sets `public_details`, and their free text only after `scrub_personal` (phones, ID-card numbers and e-mail
addresses typed by residents or staff become ***).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.intake.domain.catalogue import Catalogue, Service
from services.intake.domain.request import CLOSED_STATUSES
from shared.i18n import pick
from shared.redact import scrub_personal


def open311_status(status: str) -> str:
    return "closed" if status in CLOSED_STATUSES else "open"


def status_filter(open311: set[str]) -> dict[str, Any] | None:
    """A MongoDB condition on our status for a set of Open311 statuses; None when both are wanted."""
    if open311 == {"closed"}:
        return {"$in": sorted(CLOSED_STATUSES)}
    if open311 == {"open"}:
        return {"$nin": sorted(CLOSED_STATUSES)}
    return None


def w3c(moment: datetime | None, tz: str) -> str | None:
    """A W3C/ISO 8601 datetime with its offset, in the community's time zone (Open311 requires the zone)."""
    if moment is None:
        return None
    return moment.astimezone(ZoneInfo(tz)).isoformat(timespec="seconds")


def open311_service(service: Service, language: str) -> dict[str, Any]:
    return {
        "service_code": service.code,
        "service_name": pick(service.name, language),
        "description": pick(service.description, language),
        "metadata": bool(service.questions),
        "type": "realtime",
        "keywords": ", ".join(service.keywords),
        "group": service.group,
    }


def open311_definition(service: Service, language: str) -> dict[str, Any]:
    return {
        "service_code": service.code,
        "attributes": [
            {
                "variable": q.variable,
                "code": q.code,
                "datatype": q.datatype,
                "required": q.required,
                "datatype_description": pick(q.datatype_description, language) if q.datatype_description else None,
                "order": q.order,
                "description": pick(q.description, language),
                "values": [{"key": v.key, "name": pick(v.name, language)} for v in q.values],
            }
            for q in service.questions
        ],
    }


def open311_request(
    doc: dict[str, Any], language: str, tz: str, catalogue: Catalogue, photo_base: str | None = None
) -> dict[str, Any]:
    """One Open311 service request, fields in the spec's order. `photo_base`: intake's public URL, for the
    public address of a stored photo (`media_url` of a public kind without a linked one)."""
    public = bool(doc.get("public_details"))
    location = doc.get("location") or {}
    team = doc.get("team")
    service = catalogue.get(doc["service_code"])
    name = doc.get("service_name") or (service.name if service else None)
    media = doc.get("media_urls") or []
    if not media and photo_base and doc.get("photos"):
        media = [f"{photo_base}/v1/public/requests/{doc['_id']}/photos/{doc['photos'][0]['id']}"]
    referral = doc.get("referral")
    return {
        "service_request_id": doc["_id"],
        "status": open311_status(doc["status"]),
        "status_notes": scrub_personal(doc.get("public_note")) if public else None,
        "service_name": pick(name, language) or doc["service_code"],
        "service_code": doc["service_code"],
        "description": scrub_personal(doc.get("description")) if public else None,
        "agency_responsible": pick(team["name"], language) if team else None,
        "service_notice": pick(referral["notice"], language) if referral else None,
        "requested_datetime": w3c(doc["submitted_at"], tz),
        "updated_datetime": w3c(doc.get("updated_at") or doc["submitted_at"], tz),
        "expected_datetime": w3c(doc.get("due_at"), tz),
        "address": location.get("address") if public else None,
        "address_id": location.get("address_id") if public else None,
        "zipcode": None,
        "lat": location.get("lat") if public else None,
        "long": location.get("long") if public else None,
        "media_url": media[0] if public and media else None,
    }


def created_view(doc: dict[str, Any], language: str) -> dict[str, Any]:
    """The answer to POST requests: the id at once (intake is `realtime`), and in `service_notice` the
    tracking code the resident needs to follow, cancel and rate the request, or the referral."""
    notice = doc["referral"]["notice"] if doc.get("referral") else receipt_notice(doc["tracking_code"])
    return {
        "service_request_id": doc["_id"],
        "service_notice": pick(notice, language),
        "account_id": (doc.get("extra") or {}).get("account_id"),
    }


def receipt_notice(tracking_code: str) -> dict[str, str]:
    return {
        "zh-CN": f"诉求已受理。您的查询码是 {tracking_code}，请妥善保存，可凭此码查询进度、撤回诉求或评价办理结果。",
        "en": f"Received. Your tracking code is {tracking_code}; keep it to follow, cancel or rate this request.",
    }
