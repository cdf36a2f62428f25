"""A request's own rules: accepting or refusing it, cancelling it, taking the resident's feedback. No I/O:
functions take the current document and return the write and the events it carries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.intake.domain.triage import Referral
from shared.events import (
    Envelope,
    FeedbackReceived,
    Location,
    RequestCancelled,
    RequestNotAccepted,
    RequestSubmitted,
    Resident,
    new_event,
)
from shared.events.requests import AnswerLabel, PhotoRef

PRODUCER = "intake"

# Statuses after which nothing more happens to a request (Open311 `closed`). `resolved` waits only for the
# resident's feedback, so it is closed to Open311 and cannot be cancelled any more.
CLOSED_STATUSES = frozenset({"resolved", "closed", "not_accepted", "cancelled", "duplicate"})
# Routing's task events may not move a request that intake itself cancelled back to an open status (a
# task.claimed published before routing saw the cancellation can arrive after it); final ones still apply.
FINAL_STATUSES = frozenset({"closed", "not_accepted", "cancelled", "duplicate"})

Document = dict[str, Any]


@dataclass(frozen=True)
class SubmitRequest:
    """A checked request, ready to be taken (see domain/submission.py for how a front door gets one)."""

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
    answer_labels: dict[str, AnswerLabel] = field(default_factory=dict)
    media_urls: list[str] = field(default_factory=list)
    public_details: bool = False
    api: str = "v1"  # which front door: v1 | open311 | portal
    extra: dict[str, Any] = field(default_factory=dict)  # Open311 account_id, device_id, jurisdiction_id
    idempotency_key: str | None = None
    fingerprint: str | None = None  # hash of the normalized body, for Idempotency-Key replays
    # Emergency triage: the resident's free text (description and free-text answers), and whether the
    # client said "not an emergency" after a referral (domain/emergency.py).
    free_text: str = ""
    confirm_not_emergency: bool = False
    photos: list[PhotoRef] = field(default_factory=list)  # stored already (services/intake/photos.py)


@dataclass(frozen=True)
class CancelRequest:
    request_id: str
    tracking_code: str  # the proof, as the resident typed it
    reason: str | None = None


@dataclass(frozen=True)
class GiveFeedback:
    tracking_code: str
    rating: str
    comment: str | None = None


@dataclass(frozen=True)
class Accepted:
    document: Document
    events: list[Envelope]


@dataclass(frozen=True)
class Change:
    """A guarded single-document write: apply `update` only where `guard` still matches."""

    guard: dict[str, Any]
    update: dict[str, Any]
    events: list[Envelope]


class NotCancellable(Exception):
    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


class FeedbackNotOpen(Exception):
    def __init__(self, status: str, already_given: bool = False) -> None:
        super().__init__(status)
        self.status = status
        self.already_given = already_given


def to_millis(moment: datetime) -> datetime:
    """BSON keeps milliseconds: the first answer must equal what a replay reads back."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def idempotency_slot(channel: str, key: str) -> str:
    """The value of the uniquely indexed `idem` field: one request per channel and key."""
    return f"{channel}\x1f{key}"


def timeline_entry(event: Envelope, status: str, at: datetime) -> Document:
    """What intake's own event adds to the request's timeline."""
    return {"event_id": str(event.event_id), "type": event.type, "status": status, "at": at, "note": None}


def photo_entry(photo: PhotoRef, at: datetime, addition_id: str | None = None) -> Document:
    """A stored photo as the request document lists it (serving checks a photo is listed here)."""
    return {**photo.model_dump(), "at": at, "addition_id": addition_id}


def _first_event(
    cmd: SubmitRequest, request_id: str, tracking_code: str, now: datetime, referral: Referral | None
) -> Envelope:
    """`request.submitted`, or `request.not_accepted` with the referral: both carry who filed it and how."""
    common: dict[str, Any] = {
        "request_id": request_id,
        "tracking_code": tracking_code,
        "service_code": cmd.service_code,
        "service_name": cmd.service_name,
        "resident": cmd.resident,
        "channel": cmd.channel,
        "channel_kind": cmd.channel_kind,
        "channel_webhook_url": cmd.channel_webhook_url,
        "on_behalf": cmd.on_behalf,
        "filed_by": cmd.filed_by,
    }
    data: RequestSubmitted | RequestNotAccepted
    if referral is None:
        data = RequestSubmitted(
            **common,
            description=cmd.description,
            location=cmd.location,
            attributes=cmd.attributes,
            answer_labels=cmd.answer_labels,
            media_urls=cmd.media_urls,
            submitted_at=now,
            photos=cmd.photos,
        )
    else:
        data = RequestNotAccepted(
            **common,
            reason_code=referral.reason_code,
            referral=referral.notice,
            referral_number=referral.number,
            not_accepted_at=now,
        )
    return new_event(data, producer=PRODUCER, seq=1, occurred_at=now)


def submit(
    cmd: SubmitRequest,
    *,
    request_id: str,
    tracking_code: str,
    now: datetime,
    referral: Referral | None = None,
    emergency_overridden: str | None = None,
) -> Accepted:
    """The request document and its first event: `request.submitted`, or `request.not_accepted` with a referral."""
    status = "submitted" if referral is None else "not_accepted"
    event = _first_event(cmd, request_id, tracking_code, now, referral)
    document: Document = {
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
        "photos": [photo_entry(p, now) for p in cmd.photos],
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
        # The emergency rule the resident (or the API client) confirmed was not an emergency, for staff.
        "emergency_overridden": emergency_overridden,
        "submitted_at": now,
        "updated_at": now,
        "seq": 1,  # the last seq intake used for this request's events
        "routing_seq": 0,  # the newest routing event applied to the view
        "team": None,
        "due_at": None,
        "public_note": None,
        "feedback": [],
        "timeline": [timeline_entry(event, status, now)],
    }
    if cmd.idempotency_key is not None:
        document["idem"] = idempotency_slot(cmd.channel, cmd.idempotency_key)
        document["idem_fingerprint"] = cmd.fingerprint
    return Accepted(document, [event])


def cancel(doc: Document, *, reason: str | None, now: datetime) -> Change:
    """Cancel on the resident's word (the tracking code was checked by the caller). Raises NotCancellable."""
    if doc["status"] in CLOSED_STATUSES:
        raise NotCancellable(doc["status"])
    event = new_event(
        RequestCancelled(request_id=doc["_id"], reason=reason, cancelled_at=now),
        producer=PRODUCER,
        seq=doc["seq"] + 1,
        occurred_at=now,
    )
    return Change(
        guard={"_id": doc["_id"], "seq": doc["seq"], "status": {"$nin": sorted(CLOSED_STATUSES)}},
        update={
            "$set": {"status": "cancelled", "updated_at": now, "cancelled_at": now, "cancel_reason": reason},
            "$inc": {"seq": 1},
            "$push": {"timeline": timeline_entry(event, "cancelled", now)},
        },
        events=[event],
    )


def can_give_feedback(doc: Document) -> bool:
    """Resolved, and this resolution (the newest routing event) not rated yet."""
    return doc["status"] == "resolved" and doc.get("feedback_routing_seq") != doc.get("routing_seq")


def feedback(doc: Document, *, rating: str, comment: str | None, now: datetime) -> Change:
    """The resident's rating of a resolution. One per resolution: after a reopen and a new resolution
    (a newer routing event) the resident may rate again. Raises FeedbackNotOpen."""
    if doc["status"] != "resolved":
        raise FeedbackNotOpen(doc["status"])
    if not can_give_feedback(doc):
        raise FeedbackNotOpen(doc["status"], already_given=True)
    event = new_event(
        FeedbackReceived(request_id=doc["_id"], rating=rating, comment=comment, received_at=now),  # type: ignore[arg-type]
        producer=PRODUCER,
        seq=doc["seq"] + 1,
        occurred_at=now,
    )
    return Change(
        guard={"_id": doc["_id"], "seq": doc["seq"], "status": "resolved", "routing_seq": doc["routing_seq"]},
        update={
            "$set": {"feedback_routing_seq": doc["routing_seq"], "updated_at": now},
            "$inc": {"seq": 1},
            "$push": {
                "timeline": timeline_entry(event, "resolved", now),
                "feedback": {"rating": rating, "comment": comment, "at": now, "routing_seq": doc["routing_seq"]},
            },
        },
        events=[event],
    )
