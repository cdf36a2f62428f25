"""The native API's views: one request's public status (also the portal's), a submission's answer, a kind
of request with its questions. No I/O.

A request's view never carries the resident's name, phone, e-mail or address; the tracking code is the proof.
"""

from __future__ import annotations

from typing import Any

from services.intake.domain.catalogue import Service
from services.intake.domain.request import CLOSED_STATUSES, can_give_feedback
from shared.i18n import pick

Document = dict[str, Any]


def referral_view(doc: Document, language: str) -> Document | None:
    referral = doc.get("referral")
    if not referral:
        return None
    return {
        "reason_code": referral["reason_code"],
        "number": referral["number"],
        "notice": pick(referral["notice"], language),
    }


def track_view(doc: Document, language: str) -> Document:
    """The public status of one request: no name, phone, email or address."""
    team = doc.get("team")
    timeline = sorted(doc.get("timeline") or [], key=lambda e: e["at"])
    status = doc["status"]
    return {
        "id": doc["_id"],
        "tracking_code": doc["tracking_code"],
        "status": status,
        "service_code": doc["service_code"],
        "service_name": pick(doc.get("service_name"), language) or doc["service_code"],
        "submitted_at": doc["submitted_at"],
        "updated_at": doc.get("updated_at"),
        "team": {"id": team["id"], "name": pick(team["name"], language)} if team else None,
        "due_at": doc.get("due_at"),
        "public_note": doc.get("public_note"),
        "referral": referral_view(doc, language),
        "can_cancel": status not in CLOSED_STATUSES,
        "can_give_feedback": can_give_feedback(doc),
        "timeline": [
            {
                "type": e["type"],
                "status": e["status"],
                "at": e["at"],
                "note": e.get("note"),
                "team": pick(e["team"]["name"], language) if e.get("team") else None,
            }
            for e in timeline
        ],
    }


def submit_view(doc: Document, track_url: str) -> Document:
    """The native API's answer to a submission (and to its replay)."""
    language = (doc.get("resident") or {}).get("language") or "zh-CN"
    return {
        "id": doc["_id"],
        "tracking_code": doc["tracking_code"],
        "status": doc["status"],
        "service_code": doc["service_code"],
        "submitted_at": doc["submitted_at"],
        "track_url": track_url,
        "referral": referral_view(doc, language),
    }


def service_view(service: Service) -> Document:
    """A kind of request with the questions a resident may answer, in both languages."""
    return {
        "service_code": service.code,
        "group": service.group,
        "name": service.name,
        "description": service.description,
        "keywords": service.keywords,
        "anonymous": service.anonymous,
        "questions": [
            {
                "code": q.code,
                "datatype": q.datatype,
                "required": q.required,
                "order": q.order,
                "description": q.description,
                "values": [{"key": v.key, "name": v.name} for v in q.values],
            }
            for q in service.questions
            if q.variable
        ],
    }
