"""Events produced by intake (`request.*`). Intake owns the resident-facing request."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.events.envelope import EventData, register

Language = Literal["zh-CN", "en"]


class Location(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    address: str | None = None
    building: str | None = None
    unit: str | None = None
    lat: float | None = None
    long: float | None = None
    address_id: str | None = None  # a jurisdiction's address-register id (Open311 `address_id`)


class Resident(BaseModel):
    """Contact details travel on the internal bus only; public views never show them."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    name: str
    phone: str | None = None
    email: str | None = None
    language: Language = "zh-CN"
    preferred_channel: Literal["inbox", "sms", "email", "webhook"] = "inbox"
    vulnerability: list[str] = []


class AnswerLabel(BaseModel):
    """What staff read for one answered question: the question and the chosen values, in each language."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    question: dict[str, str]  # language -> the question
    values: dict[str, dict[str, str]] = {}  # value key -> language -> its name (the list datatypes)


# -- photos and additions (issue 14, points 1 and 2) ------------------------------------------------------


class PhotoRef(BaseModel):
    """A photo intake stored (re-encoded as JPEG, metadata stripped). Staff fetch its bytes from intake:
    GET /v1/requests/{request_id}/photos/{id} (full) and .../thumb, with a staff token or a console link."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    id: str
    name: str = ""  # the file name as the resident's phone sent it (shown to staff, never used as a path)
    width: int = 0
    height: int = 0
    bytes: int = 0


@register
class RequestSupplemented(EventData):
    """The resident added words or photos to an open request (with the tracking code)."""

    TYPE = "request.supplemented"
    addition_id: str
    text: str | None = None
    photos: list[PhotoRef] = []
    added_at: datetime


@register
class RequestSubmitted(EventData):
    TYPE = "request.submitted"
    tracking_code: str
    service_code: str
    service_name: dict[str, str] = {}  # language -> name, so consumers need no catalogue
    description: str
    location: Location
    resident: Resident
    channel: str
    channel_kind: str = "web"
    channel_webhook_url: str | None = None  # where notify posts signed webhooks for this channel
    on_behalf: bool = False
    filed_by: str | None = None  # the operator or grid worker who filed on the resident's behalf
    attributes: dict[str, str | list[str]] = {}
    # The answered questions' words (question code -> labels), so consumers show 厨房, not `kitchen`,
    # without a catalogue of their own.
    answer_labels: dict[str, AnswerLabel] = {}
    media_urls: list[str] = []
    submitted_at: datetime
    # Photos the resident attached (stored in intake, served by intake to staff): references, not bytes.
    photos: list[PhotoRef] = []


@register
class RequestCancelled(EventData):
    TYPE = "request.cancelled"
    tracking_code: str | None = None  # not published: routing and notify know the request by its id
    reason: str | None = None
    cancelled_at: datetime


@register
class RequestNotAccepted(EventData):
    """不受理 at the front door (emergencies, matters for other authorities)."""

    TYPE = "request.not_accepted"
    tracking_code: str
    service_code: str
    reason_code: str
    referral: dict[str, str]  # language -> referral notice
    channel: str
    resident: Resident
    referral_number: str | None = None  # the number the resident is told to call, e.g. "119"
    service_name: dict[str, str] = {}
    channel_kind: str = "web"
    channel_webhook_url: str | None = None
    on_behalf: bool = False
    filed_by: str | None = None  # as in request.submitted: the ledger counts a filer's refused filings too
    not_accepted_at: datetime | None = None


@register
class FeedbackReceived(EventData):
    TYPE = "request.feedback_received"
    tracking_code: str | None = None  # not published: routing and notify know the request by its id
    rating: Literal["satisfied", "fairly_satisfied", "dissatisfied"]
    comment: str | None = None
    received_at: datetime
