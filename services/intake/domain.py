"""Intake's rules: tracking codes, accepting a request, and the public status view. No I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.events import Envelope, Location, RequestSubmitted, Resident, TaskEvent, new_event
from shared.i18n import pick

PRODUCER = "intake"


@dataclass(frozen=True)
class SubmitRequest:
    service_code: str
    description: str
    location: Location
    resident: Resident
    channel: str
    channel_kind: str = "web"
    on_behalf: bool = False
    service_name: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    media_urls: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Accepted:
    document: dict[str, Any]
    events: list[Envelope]


def submit(cmd: SubmitRequest, *, request_id: str, tracking_code: str, now: datetime) -> Accepted:
    event = new_event(
        RequestSubmitted(
            request_id=request_id,
            tracking_code=tracking_code,
            service_code=cmd.service_code,
            service_name=cmd.service_name,
            description=cmd.description,
            location=cmd.location,
            resident=cmd.resident,
            channel=cmd.channel,
            channel_kind=cmd.channel_kind,
            on_behalf=cmd.on_behalf,
            attributes=cmd.attributes,
            media_urls=cmd.media_urls,
            submitted_at=now,
        ),
        producer=PRODUCER,
        seq=1,
        occurred_at=now,
    )
    document = {
        "_id": request_id,
        "tracking_code": tracking_code,
        "service_code": cmd.service_code,
        "description": cmd.description,
        "location": cmd.location.model_dump(),
        "resident": cmd.resident.model_dump(),
        "channel": cmd.channel,
        "channel_kind": cmd.channel_kind,
        "on_behalf": cmd.on_behalf,
        "attributes": cmd.attributes,
        "media_urls": cmd.media_urls,
        "status": "submitted",
        "submitted_at": now,
        "updated_at": now,
        "seq": 1,  # the last seq intake used for this request's events
        "routing_seq": 0,  # the newest routing event applied to the view
        "team": None,
        "due_at": None,
        "public_note": None,
        "timeline": [
            {"event_id": str(event.event_id), "type": event.type, "status": "submitted", "at": now, "note": None}
        ],
    }
    return Accepted(document, [event])


def view_update(envelope: Envelope, data: TaskEvent) -> tuple[dict[str, Any], dict[str, Any]]:
    """For a routing event: the fields to set when it is the newest, and its timeline entry."""
    state = {
        "status": data.status,
        "team": data.team.model_dump() if data.team else None,
        "due_at": data.due_at,
        "routing_seq": envelope.seq,
        "updated_at": envelope.occurred_at,
    }
    if data.public_note:
        state["public_note"] = data.public_note
    entry = {
        "event_id": str(envelope.event_id),
        "type": envelope.type,
        "status": data.status,
        "at": envelope.occurred_at,
        "note": data.public_note,
        "team": data.team.model_dump() if data.team else None,
    }
    return state, entry


def track_view(doc: dict[str, Any], language: str) -> dict[str, Any]:
    """The public status of one request: no name, phone, email or address."""
    team = doc.get("team")
    timeline = sorted(doc.get("timeline") or [], key=lambda e: e["at"])
    return {
        "id": doc["_id"],
        "tracking_code": doc["tracking_code"],
        "status": doc["status"],
        "service_code": doc["service_code"],
        "submitted_at": doc["submitted_at"],
        "updated_at": doc.get("updated_at"),
        "team": {"id": team["id"], "name": pick(team["name"], language)} if team else None,
        "due_at": doc.get("due_at"),
        "public_note": doc.get("public_note"),
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
