"""Intake's rules: accepting or refusing a request, cancelling it, taking feedback, and applying routing's
events to the status view. No I/O: functions take the current document and return the write and events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.intake.triage import Referral
from shared.events import (
    Envelope,
    FeedbackReceived,
    Location,
    RequestCancelled,
    RequestNotAccepted,
    RequestSubmitted,
    Resident,
    TaskEvent,
    new_event,
)
from shared.i18n import pick

PRODUCER = "intake"

# Statuses after which nothing more happens to a request (Open311 `closed`). `resolved` waits only for the
# resident's feedback, so it is closed to Open311 and cannot be cancelled any more.
CLOSED_STATUSES = frozenset({"resolved", "closed", "not_accepted", "cancelled", "duplicate"})
# Routing's task events may not move a request that intake itself cancelled back to an open status (a
# task.claimed published before routing saw the cancellation can arrive after it); final ones still apply.
FINAL_STATUSES = frozenset({"closed", "not_accepted", "cancelled", "duplicate"})
ON_BEHALF_KINDS = frozenset({"window", "hotline", "grid_worker"})
CHANNEL_KINDS = ("web", "miniprogram", "window", "hotline", "grid_worker")


@dataclass(frozen=True)
class SubmitRequest:
    service_code: str
    description: str
    location: Location
    resident: Resident
    channel: str
    channel_kind: str = "web"
    channel_webhook_url: str | None = None
    on_behalf: bool = False
    filed_by: str | None = None
    service_name: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str | list[str]] = field(default_factory=dict)
    media_urls: list[str] = field(default_factory=list)
    public_details: bool = False
    api: str = "v1"  # which front door: v1 | open311
    extra: dict[str, Any] = field(default_factory=dict)  # Open311 account_id, device_id, jurisdiction_id
    idempotency_key: str | None = None
    fingerprint: str | None = None  # hash of the normalized body, for Idempotency-Key replays


@dataclass(frozen=True)
class Accepted:
    document: dict[str, Any]
    events: list[Envelope]


def idempotency_slot(channel: str, key: str) -> str:
    """The value of the uniquely indexed `idem` field: one request per channel and key."""
    return f"{channel}\x1f{key}"


def submit(
    cmd: SubmitRequest, *, request_id: str, tracking_code: str, now: datetime, referral: Referral | None = None
) -> Accepted:
    """The request document and its first event: `request.submitted`, or `request.not_accepted` with a referral."""
    if referral is None:
        status = "submitted"
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
                channel_webhook_url=cmd.channel_webhook_url,
                on_behalf=cmd.on_behalf,
                filed_by=cmd.filed_by,
                attributes=cmd.attributes,
                media_urls=cmd.media_urls,
                submitted_at=now,
            ),
            producer=PRODUCER,
            seq=1,
            occurred_at=now,
        )
    else:
        status = "not_accepted"
        event = new_event(
            RequestNotAccepted(
                request_id=request_id,
                tracking_code=tracking_code,
                service_code=cmd.service_code,
                reason_code=referral.reason_code,
                referral=referral.notice,
                referral_number=referral.number,
                channel=cmd.channel,
                resident=cmd.resident,
                service_name=cmd.service_name,
                channel_kind=cmd.channel_kind,
                channel_webhook_url=cmd.channel_webhook_url,
                on_behalf=cmd.on_behalf,
                not_accepted_at=now,
            ),
            producer=PRODUCER,
            seq=1,
            occurred_at=now,
        )
    document: dict[str, Any] = {
        "_id": request_id,
        "tracking_code": tracking_code,
        "service_code": cmd.service_code,
        "service_name": cmd.service_name,
        "description": cmd.description,
        "location": cmd.location.model_dump(),
        "resident": cmd.resident.model_dump(),
        "channel": cmd.channel,
        "channel_kind": cmd.channel_kind,
        "on_behalf": cmd.on_behalf,
        "filed_by": cmd.filed_by,
        "attributes": cmd.attributes,
        "media_urls": cmd.media_urls,
        "public_details": cmd.public_details,
        "api": cmd.api,
        "extra": cmd.extra,
        "status": status,
        "referral": None
        if referral is None
        else {
            "reason_code": referral.reason_code,
            "number": referral.number,
            "notice": referral.notice,
            "reason": referral.reason,
        },
        "submitted_at": now,
        "updated_at": now,
        "seq": 1,  # the last seq intake used for this request's events
        "routing_seq": 0,  # the newest routing event applied to the view
        "team": None,
        "due_at": None,
        "public_note": None,
        "feedback": [],
        "timeline": [{"event_id": str(event.event_id), "type": event.type, "status": status, "at": now, "note": None}],
    }
    if cmd.idempotency_key is not None:
        document["idem"] = idempotency_slot(cmd.channel, cmd.idempotency_key)
        document["idem_fingerprint"] = cmd.fingerprint
    return Accepted(document, [event])


# -- cancel --------------------------------------------------------------------------------------------


class NotCancellable(Exception):
    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


@dataclass(frozen=True)
class Change:
    """A guarded single-document write: apply `update` only where `guard` still matches."""

    guard: dict[str, Any]
    update: dict[str, Any]
    events: list[Envelope]


def cancel(doc: dict[str, Any], *, reason: str | None, now: datetime) -> Change:
    """Cancel on the resident's word (the tracking code was checked by the caller). Raises NotCancellable."""
    if doc["status"] in CLOSED_STATUSES:
        raise NotCancellable(doc["status"])
    seq = doc["seq"] + 1
    event = new_event(
        RequestCancelled(request_id=doc["_id"], tracking_code=doc["tracking_code"], reason=reason, cancelled_at=now),
        producer=PRODUCER,
        seq=seq,
        occurred_at=now,
    )
    entry = {"event_id": str(event.event_id), "type": event.type, "status": "cancelled", "at": now, "note": None}
    return Change(
        guard={"_id": doc["_id"], "seq": doc["seq"], "status": {"$nin": sorted(CLOSED_STATUSES)}},
        update={
            "$set": {"status": "cancelled", "updated_at": now, "cancelled_at": now, "cancel_reason": reason},
            "$inc": {"seq": 1},
            "$push": {"timeline": entry},
        },
        events=[event],
    )


# -- feedback ------------------------------------------------------------------------------------------


class FeedbackNotOpen(Exception):
    def __init__(self, status: str, already_given: bool = False) -> None:
        super().__init__(status)
        self.status = status
        self.already_given = already_given


def feedback(doc: dict[str, Any], *, rating: str, comment: str | None, now: datetime) -> Change:
    """The resident's rating of a resolution. One per resolution: after a reopen and a new resolution
    (a newer routing event) the resident may rate again. Raises FeedbackNotOpen."""
    if doc["status"] != "resolved":
        raise FeedbackNotOpen(doc["status"])
    if doc.get("feedback_routing_seq") == doc["routing_seq"]:
        raise FeedbackNotOpen(doc["status"], already_given=True)
    seq = doc["seq"] + 1
    event = new_event(
        FeedbackReceived(
            request_id=doc["_id"], tracking_code=doc["tracking_code"], rating=rating, comment=comment, received_at=now
        ),  # type: ignore[arg-type]
        producer=PRODUCER,
        seq=seq,
        occurred_at=now,
    )
    entry = {"event_id": str(event.event_id), "type": event.type, "status": "resolved", "at": now, "note": None}
    return Change(
        guard={"_id": doc["_id"], "seq": doc["seq"], "status": "resolved", "routing_seq": doc["routing_seq"]},
        update={
            "$set": {"feedback_routing_seq": doc["routing_seq"], "updated_at": now},
            "$inc": {"seq": 1},
            "$push": {
                "timeline": entry,
                "feedback": {"rating": rating, "comment": comment, "at": now, "routing_seq": doc["routing_seq"]},
            },
        },
        events=[event],
    )


# -- routing's events ----------------------------------------------------------------------------------


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


def keeps_cancelled(state: dict[str, Any]) -> dict[str, Any]:
    """The routing state to apply to a request intake cancelled: everything but a non-final status."""
    if state["status"] in FINAL_STATUSES:
        return state
    return {k: v for k, v in state.items() if k != "status"}


# -- the public status view -----------------------------------------------------------------------


def referral_view(doc: dict[str, Any], language: str) -> dict[str, Any] | None:
    referral = doc.get("referral")
    if not referral:
        return None
    return {
        "reason_code": referral["reason_code"],
        "number": referral["number"],
        "notice": pick(referral["notice"], language),
    }


def track_view(doc: dict[str, Any], language: str) -> dict[str, Any]:
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
        "can_give_feedback": status == "resolved" and doc.get("feedback_routing_seq") != doc.get("routing_seq"),
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
