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


def _entries(timeline: list[Document], language: str) -> list[Document]:
    """The timeline as the resident reads it. Every routing event carries the task's latest public note, so
    a note is shown once, at the entry that brought it, not again under each later step; an extension's
    entry carries its own reason."""
    out, previous = [], None
    for e in timeline:
        note = e.get("note")
        if e["type"] != "task.extension_approved":
            note, previous = (note if note != previous else None), note
        out.append(
            {
                "type": e["type"],
                "status": e["status"],
                "at": e["at"],
                "note": note,
                "team": pick(e["team"]["name"], language) if e.get("team") else None,
            }
        )
    return out


def replies(timeline: list[Document], public_note: str | None) -> tuple[str | None, str | None]:
    """(the current reply or note, the earlier reply). After a dissatisfied rating reopened the request,
    the resolution's reply is the earlier one, no longer the answer; until something new is said, there
    is no current one."""
    kinds = [e["type"] for e in timeline]
    resolved = max((i for i, k in enumerate(kinds) if k == "task.resolved"), default=-1)
    reopened = max((i for i, k in enumerate(kinds) if k == "task.reopened"), default=-1)
    if resolved < 0 or reopened < resolved:
        return public_note, None
    earlier = timeline[resolved].get("note")
    return (public_note if public_note != earlier else None), earlier


def track_view(doc: Document, language: str) -> Document:
    """The public status of one request: no name, phone, email or address."""
    team = doc.get("team")
    timeline = sorted(doc.get("timeline") or [], key=lambda e: e["at"])
    status = doc["status"]
    resident = doc.get("resident") or {}
    current, earlier = replies(timeline, doc.get("public_note"))
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
        "public_note": current,
        "earlier_reply": earlier,
        # How the resident hears back (the way only, never the number or address).
        "hear_back": resident.get("preferred_channel") or "inbox",
        "can_be_called": bool(resident.get("phone")),
        "referral": referral_view(doc, language),
        "can_cancel": status not in CLOSED_STATUSES,
        "can_give_feedback": can_give_feedback(doc),
        "timeline": _entries(timeline, language),
        # photos and additions (domain/additions.py)
        "photos": [{k: p[k] for k in ("id", "name", "width", "height")} for p in doc.get("photos") or []],
        "can_add": status not in CLOSED_STATUSES,
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
