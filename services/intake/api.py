"""Intake's native HTTP API (v1): the catalogue, submitting a request, tracking it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import phonenumbers
from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from services.intake import domain
from services.intake.catalogue import Catalogue
from services.intake.store import IntakeStore, TrackingCodeTaken
from shared.events import Location, Resident
from shared.http import FieldError
from shared.i18n import negotiate
from shared.tracking import new_tracking_code, normalize_tracking_code

router = APIRouter(prefix="/v1", tags=["requests"])


# -- input --------------------------------------------------------------------------------------------


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    address: str = Field(min_length=1, max_length=200, description="street address or a landmark")
    lat: float | None = Field(None, ge=-90, le=90)
    long: float | None = Field(None, ge=-180, le=180)


def normalize_phone(value: str) -> str:
    """A valid Chinese (or +country) phone number, returned in E.164 form."""
    try:
        number = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException as exc:
        raise ValueError("not a phone number; give 11 digits such as 13800138000, or +country code") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number; check the digits (mobile: 11 digits starting with 1)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class ResidentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=50)
    phone: str = Field(min_length=5, max_length=20, examples=["13800138000"])
    email: EmailStr | None = None
    language: Literal["zh-CN", "en"] = "zh-CN"

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalize_phone(value)


class RequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    service_code: str = Field(min_length=1, max_length=64, examples=["property_repair"])
    description: str = Field(min_length=1, max_length=4000)
    location: LocationIn
    resident: ResidentIn


# -- output -------------------------------------------------------------------------------------------


class SubmitOut(BaseModel):
    id: str
    tracking_code: str
    status: str
    service_code: str
    submitted_at: datetime
    track_url: str


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
    submitted_at: datetime
    updated_at: datetime | None = None
    team: TeamOut | None
    due_at: datetime | None = None
    public_note: str | None = None
    timeline: list[TimelineEntryOut]


class ServiceOut(BaseModel):
    service_code: str
    group: str
    name: dict[str, str]
    description: dict[str, str]
    keywords: list[str]


class ServicesOut(BaseModel):
    services: list[ServiceOut]


# -- dependencies --------------------------------------------------------------------------------------


def get_store(request: Request) -> IntakeStore:
    store: IntakeStore = request.app.state.store
    return store


def get_catalogue(request: Request) -> Catalogue:
    catalogue: Catalogue = request.app.state.catalogue
    return catalogue


async def get_channel(
    request: Request, x_api_key: Annotated[str | None, Header(description="the channel's API key")] = None
) -> dict[str, Any]:
    if not x_api_key:
        raise HTTPException(401, "missing X-API-Key header: every front end (channel) has its own API key")
    channel = await get_store(request).channel_for_key(x_api_key)
    if channel is None:
        raise HTTPException(403, "unknown or disabled API key: ask the administrator for your channel's key")
    return channel


StoreDep = Annotated[IntakeStore, Depends(get_store)]
CatalogueDep = Annotated[Catalogue, Depends(get_catalogue)]
ChannelDep = Annotated[dict[str, Any], Depends(get_channel)]


# -- routes --------------------------------------------------------------------------------------------


@router.get("/services", response_model=ServicesOut, summary="The service catalogue, in zh-CN and en")
async def list_services(catalogue: CatalogueDep) -> dict[str, Any]:
    return {
        "services": [
            {
                "service_code": s.code,
                "group": s.group,
                "name": s.name,
                "description": s.description,
                "keywords": s.keywords,
            }
            for s in catalogue.services
        ]
    }


@router.post("/requests", status_code=201, response_model=SubmitOut, summary="Submit a request")
async def submit_request(
    body: RequestIn, request: Request, store: StoreDep, catalogue: CatalogueDep, channel: ChannelDep
) -> dict[str, Any]:
    service = catalogue.get(body.service_code)
    if service is None:
        raise FieldError(
            "service_code", f"unknown service code {body.service_code!r}; choose one from GET /v1/services"
        )
    cmd = domain.SubmitRequest(
        service_code=body.service_code,
        service_name=service.name,
        description=body.description,
        location=Location(**body.location.model_dump()),
        resident=Resident(**body.resident.model_dump()),
        channel=channel["_id"],
        channel_kind=channel.get("kind", "web"),
    )
    now = request.app.state.clock()
    for _ in range(5):
        accepted = domain.submit(cmd, request_id=str(uuid.uuid4()), tracking_code=new_tracking_code(), now=now)
        try:
            document = await store.insert_request(accepted)
            break
        except TrackingCodeTaken:
            continue
    else:  # pragma: no cover - 50-bit codes do not clash five times in a row
        raise HTTPException(503, "could not allocate a tracking code; try again")
    await request.app.state.relay.publish_after_write(store.requests, document)
    settings = request.app.state.settings
    return {
        "id": document["_id"],
        "tracking_code": document["tracking_code"],
        "status": document["status"],
        "service_code": document["service_code"],
        "submitted_at": document["submitted_at"],
        "track_url": f"{settings.public_url('intake')}/v1/track/{document['tracking_code']}",
    }


@router.get(
    "/track/{tracking_code}",
    response_model=TrackOut,
    summary="The public status of one request",
    responses={404: {"description": "no request with this tracking code"}},
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
    return domain.track_view(doc, language)
