"""Intake's native HTTP API (v1): the catalogue, submitting, tracking, cancelling, rating a request."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    field_validator,
    model_validator,
)

from services.intake import attributes, domain
from services.intake.catalogue import Catalogue
from services.intake.channels import StoreDep, limit_address, require_channel
from services.intake.desk import Busy, Desk, IdempotencyConflict, UnknownRequest, fingerprint
from services.intake.domain import referral_view, track_view
from services.intake.errors import FieldErrors, native_errors
from services.intake.fields import (
    MAX_DESCRIPTION,
    MAX_MEDIA_URLS,
    Line,
    Text,
    check_coordinate,
    check_media_url,
    normalize_phone,
)
from shared.events import Location, Resident
from shared.http import FieldError
from shared.i18n import negotiate
from shared.tracking import normalize_tracking_code

router = APIRouter(
    prefix="/v1",
    tags=["requests"],
    dependencies=[Depends(limit_address)],
    responses=native_errors(400, 413, 422, 429),
)

Vulnerability = Literal["elderly_alone", "disabled", "widowed", "hardship"]
AttributeCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{1,40}$")]
AttributeValue = (
    Annotated[StrictStr, StringConstraints(max_length=2000)]
    | StrictInt
    | StrictFloat
    | Annotated[list[Annotated[StrictStr, StringConstraints(max_length=40)]], Field(max_length=50)]
)


# -- input --------------------------------------------------------------------------------------------


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    address: Line | None = Field(None, min_length=1, max_length=200, description="street address or a landmark")
    building: Line | None = Field(None, min_length=1, max_length=50, examples=["3号楼"])
    unit: Line | None = Field(None, min_length=1, max_length=50, examples=["2单元501"])
    lat: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False)
    long: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False)

    @field_validator("lat")
    @classmethod
    def _lat(cls, value: float | None) -> float | None:
        return None if value is None else check_coordinate(value, low=-90, high=90, name="lat")

    @field_validator("long")
    @classmethod
    def _long(cls, value: float | None) -> float | None:
        return None if value is None else check_coordinate(value, low=-180, high=180, name="long")

    @model_validator(mode="after")
    def _somewhere(self) -> LocationIn:
        if (self.lat is None) != (self.long is None):
            missing = "long" if self.long is None else "lat"
            raise FieldError(f"location.{missing}", "lat and long go together; give both or neither")
        if self.address is None and self.building is None and self.lat is None:
            raise FieldError("location.address", "say where: give an address, a building, or lat and long")
        return self


class ResidentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: Line = Field(min_length=1, max_length=50)
    phone: str | None = Field(None, min_length=5, max_length=20, examples=["13800138000"])
    email: EmailStr | None = Field(None, max_length=254)
    language: Literal["zh-CN", "en"] = "zh-CN"
    preferred_channel: Literal["inbox", "sms", "email", "webhook"] = Field(
        "inbox", description="how notify tells the resident: inbox (always kept), sms, email, or the channel's webhook"
    )
    vulnerability: list[Vulnerability] = Field([], max_length=4, description="for care and priority")

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return None if value is None else normalize_phone(value)

    @field_validator("vulnerability")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _reachable(self) -> ResidentIn:
        if self.preferred_channel == "sms" and self.phone is None:
            raise FieldError("resident.phone", "required when preferred_channel is sms")
        if self.preferred_channel == "email" and self.email is None:
            raise FieldError("resident.email", "required when preferred_channel is email")
        return self


EXAMPLE_REQUEST: dict[str, Any] = {
    "service_code": "property_repair",
    "description": "厨房水管漏水，楼下也在渗水",
    "location": {"address": "幸福路8号", "building": "3号楼", "unit": "2单元501", "lat": 39.91, "long": 116.4},
    "resident": {
        "name": "王阿姨",
        "phone": "13800138000",
        "language": "zh-CN",
        "preferred_channel": "sms",
        "vulnerability": ["elderly_alone"],
    },
    "attributes": {"place": "kitchen", "urgency": "leaking_now"},
    "media_urls": ["https://example.org/leak.jpg"],
}


class RequestIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [EXAMPLE_REQUEST]}
    )
    service_code: Line = Field(min_length=1, max_length=64, examples=["property_repair"])
    description: Text = Field(min_length=1, max_length=MAX_DESCRIPTION)
    location: LocationIn
    resident: ResidentIn
    attributes: dict[AttributeCode, AttributeValue] = Field(
        {}, max_length=50, description="answers to the kind's questions (GET /v1/services), by question code"
    )
    media_urls: list[str] = Field([], max_length=MAX_MEDIA_URLS, description="http(s) links to photos")
    filed_by: Line | None = Field(
        None,
        min_length=1,
        max_length=50,
        description="window, hotline and grid-worker channels: who filed on the resident's behalf",
    )

    @field_validator("media_urls")
    @classmethod
    def _media(cls, value: list[str]) -> list[str]:
        return [check_media_url(v.strip()) for v in value]


class CancelIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{"tracking_code": "HY7K2M9QX4TB", "reason": "已自行修好"}]},
    )
    tracking_code: Line = Field(min_length=1, max_length=40, description="the proof: the code on the receipt")
    reason: Text | None = Field(None, max_length=500)


class FeedbackIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{"rating": "satisfied", "comment": "师傅很及时"}]},
    )
    rating: Literal["satisfied", "fairly_satisfied", "dissatisfied"]
    comment: Text | None = Field(None, max_length=1000)


# -- output -------------------------------------------------------------------------------------------


class ReferralOut(BaseModel):
    reason_code: str
    number: str = Field(description="the number to call, e.g. 119")
    notice: str


class SubmitOut(BaseModel):
    id: str
    tracking_code: str
    status: str = Field(description="submitted, or not_accepted (see referral)")
    service_code: str
    submitted_at: datetime
    track_url: str
    referral: ReferralOut | None = None


class TeamOut(BaseModel):
    id: str
    name: str


class TimelineEntryOut(BaseModel):
    type: str
    status: str
    at: datetime
    note: str | None = None
    team: str | None = None


class TrackOut(BaseModel):
    id: str
    tracking_code: str
    status: str
    service_code: str
    service_name: str
    submitted_at: datetime
    updated_at: datetime | None = None
    team: TeamOut | None
    due_at: datetime | None = None
    public_note: str | None = None
    referral: ReferralOut | None = None
    can_cancel: bool
    can_give_feedback: bool
    timeline: list[TimelineEntryOut]


class CancelOut(BaseModel):
    id: str
    tracking_code: str
    status: str
    cancelled_at: datetime | None = None


class FeedbackOut(BaseModel):
    tracking_code: str
    status: str
    rating: str
    received_at: datetime


class ValueOut(BaseModel):
    key: str
    name: dict[str, str]


class QuestionOut(BaseModel):
    code: str
    datatype: str
    required: bool
    order: int
    description: dict[str, str]
    values: list[ValueOut]


class ServiceOut(BaseModel):
    service_code: str
    group: str
    name: dict[str, str]
    description: dict[str, str]
    keywords: list[str]
    questions: list[QuestionOut]


class ServicesOut(BaseModel):
    services: list[ServiceOut]


# -- dependencies --------------------------------------------------------------------------------------


def get_catalogue(request: Request) -> Catalogue:
    catalogue: Catalogue = request.app.state.catalogue
    return catalogue


def get_desk(request: Request) -> Desk:
    desk: Desk = request.app.state.desk
    return desk


CatalogueDep = Annotated[Catalogue, Depends(get_catalogue)]
DeskDep = Annotated[Desk, Depends(get_desk)]
ChannelDep = Annotated[dict[str, Any], Depends(require_channel)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        pattern=r"^[\x21-\x7e]{1,200}$",
        description="a key you choose per request (e.g. a UUID): a retry with the same key and body is answered "
        "the same and stores nothing new; the same key with another body is refused (409)",
    ),
]

ERRORS = native_errors(401, 403, 409, 503)


# -- routes --------------------------------------------------------------------------------------------


def _service_out(s: Any) -> dict[str, Any]:
    return {
        "service_code": s.code,
        "group": s.group,
        "name": s.name,
        "description": s.description,
        "keywords": s.keywords,
        "questions": [
            {
                "code": q.code,
                "datatype": q.datatype,
                "required": q.required,
                "order": q.order,
                "description": q.description,
                "values": [{"key": v.key, "name": v.name} for v in q.values],
            }
            for q in s.questions
            if q.variable
        ],
    }


@router.get("/services", response_model=ServicesOut, summary="The service catalogue, in zh-CN and en")
async def list_services(catalogue: CatalogueDep) -> dict[str, Any]:
    return {"services": [_service_out(s) for s in catalogue.services]}


def submit_answer(request: Request, doc: dict[str, Any]) -> dict[str, Any]:
    settings = request.app.state.settings
    language = (doc.get("resident") or {}).get("language") or "zh-CN"
    return {
        "id": doc["_id"],
        "tracking_code": doc["tracking_code"],
        "status": doc["status"],
        "service_code": doc["service_code"],
        "submitted_at": doc["submitted_at"],
        "track_url": f"{settings.public_url('intake')}/v1/track/{doc['tracking_code']}",
        "referral": referral_view(doc, language),
    }


@router.post(
    "/requests",
    status_code=201,
    response_model=SubmitOut,
    responses=ERRORS,
    summary="Submit a request (emergencies are answered at once with a referral, status not_accepted)",
)
async def submit_request(
    body: RequestIn,
    request: Request,
    response: Response,
    catalogue: CatalogueDep,
    desk: DeskDep,
    channel: ChannelDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    service = catalogue.get(body.service_code)
    if service is None:
        raise FieldError(
            "service_code", f"unknown service code {body.service_code!r}; choose one from GET /v1/services"
        )
    checked = attributes.check_answers(service, body.attributes)
    if checked.errors:
        raise_attribute_errors(checked.errors)
    kind = channel.get("kind", "web")
    on_behalf = kind in domain.ON_BEHALF_KINDS
    if body.filed_by is not None and not on_behalf:
        raise FieldError(
            "filed_by", f"only window, hotline and grid-worker channels file on a resident's behalf; this is {kind}"
        )
    webhook = channel.get("webhook_url")
    if body.resident.preferred_channel == "webhook" and not webhook:
        raise FieldError("resident.preferred_channel", "this channel has no webhook_url; choose inbox, sms or email")
    cmd = domain.SubmitRequest(
        service_code=service.code,
        service_name=service.name,
        description=body.description,
        location=Location(**body.location.model_dump()),
        resident=Resident(**body.resident.model_dump()),
        channel=channel["_id"],
        channel_kind=kind,
        channel_webhook_url=webhook,
        on_behalf=on_behalf,
        filed_by=body.filed_by,
        attributes=checked.answers,
        media_urls=body.media_urls,
        public_details=service.public_details,
        api="v1",
        idempotency_key=idempotency_key,
        fingerprint=fingerprint("v1", body.model_dump(mode="json")) if idempotency_key else None,
    )
    try:
        submitted = await desk.submit(cmd)
    except IdempotencyConflict:
        raise HTTPException(
            409, "this Idempotency-Key was used with a different body; use a new key for a new request"
        ) from None
    except Busy:  # pragma: no cover - see Desk.submit
        raise HTTPException(503, "could not store the request; try again", headers={"Retry-After": "1"}) from None
    if submitted.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return submit_answer(request, submitted.document)


def raise_attribute_errors(errors: list[attributes.AnswerError]) -> None:
    raise FieldErrors([(f"attributes.{e.code}", e.message) for e in errors])


@router.get(
    "/track/{tracking_code}",
    response_model=TrackOut,
    summary="The public status of one request",
    responses=native_errors(404),
)
async def track(
    tracking_code: str,
    request: Request,
    store: StoreDep,
    lang: Annotated[Literal["zh-CN", "en"] | None, Query(description="language of team names")] = None,
) -> dict[str, Any]:
    code = normalize_tracking_code(tracking_code)
    doc = await store.by_tracking_code(code) if code else None
    if doc is None:
        raise HTTPException(404, "no request with this tracking code; check the code on your receipt")
    language = lang or doc["resident"].get("language") or negotiate(request.headers.get("accept-language"))
    return track_view(doc, language)


@router.post(
    "/requests/{request_id}/cancel",
    response_model=CancelOut,
    summary="Cancel a request that is not final yet; the tracking code is the proof",
    responses=native_errors(404, 409, 503),
)
async def cancel_request(request_id: str, body: CancelIn, desk: DeskDep) -> dict[str, Any]:
    try:
        doc = await desk.cancel(request_id, body.tracking_code, body.reason)
    except UnknownRequest:
        raise HTTPException(404, "no request with this id and tracking code; check both on your receipt") from None
    except domain.NotCancellable as exc:
        raise HTTPException(409, f"the request is {exc.status} and can no longer be cancelled") from None
    except Busy:
        raise HTTPException(503, "the request is changing right now; try again", headers={"Retry-After": "1"}) from None
    return {
        "id": doc["_id"],
        "tracking_code": doc["tracking_code"],
        "status": doc["status"],
        "cancelled_at": doc.get("cancelled_at"),
    }


@router.post(
    "/feedback/{tracking_code}",
    status_code=201,
    response_model=FeedbackOut,
    summary="Rate the resolution of your request (only while it is resolved)",
    responses=native_errors(404, 409, 503),
)
async def give_feedback(tracking_code: str, body: FeedbackIn, desk: DeskDep) -> dict[str, Any]:
    try:
        doc = await desk.feedback(tracking_code, body.rating, body.comment)
    except UnknownRequest:
        raise HTTPException(404, "no request with this tracking code; check the code on your receipt") from None
    except domain.FeedbackNotOpen as exc:
        if exc.already_given:
            raise HTTPException(409, "feedback on this resolution was already received; thank you") from None
        raise HTTPException(409, f"feedback is taken once the request is resolved; it is {exc.status} now") from None
    except Busy:
        raise HTTPException(503, "the request is changing right now; try again", headers={"Retry-After": "1"}) from None
    given = doc["feedback"][-1]
    return {
        "tracking_code": doc["tracking_code"],
        "status": doc["status"],
        "rating": given["rating"],
        "received_at": given["at"],
    }
