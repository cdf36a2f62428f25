"""The native API's bodies (v1): what a front end sends and what it gets back. The portal's forms are
checked by the same input models (services/intake/web/forms.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from services.intake.domain.channels import Channel
from services.intake.domain.fields import (
    MAX_DESCRIPTION,
    MAX_MEDIA_URLS,
    Line,
    Text,
    check_coordinate,
    check_line,
    check_media_url,
    normalize_phone,
)
from services.intake.domain.submission import Draft, FrontDoor, fingerprint
from shared.events import Location
from shared.http import FieldError

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


NAME_RULE = (
    "Required unless the kind allows anonymity (`anonymous: true` in GET /v1/services; the catalogue decides, "
    "the same on every front door). The public never sees a name. Without a phone or an e-mail an anonymous "
    "resident cannot be called back: they follow the request with its tracking code."
)


class ResidentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: Annotated[
        Annotated[str, StringConstraints(min_length=1, max_length=50), AfterValidator(check_line)] | None,
        WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 50, "description": NAME_RULE}),
    ] = None
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
    confirm_not_emergency: StrictBool = Field(
        False,
        description="true after a 422 emergency_referral, once the resident says it is not an emergency: "
        "the request is then filed (docs/intake.md, Emergencies)",
    )

    @field_validator("media_urls")
    @classmethod
    def _media(cls, value: list[str]) -> list[str]:
        return [check_media_url(v.strip()) for v in value]

    def draft(self, door: FrontDoor, channel: Channel, idempotency_key: str | None) -> Draft:
        """This body as the submission rules take it (domain/submission.py)."""
        resident = self.resident
        return Draft(
            door=door,
            channel=channel,
            service_code=self.service_code,
            description=self.description,
            location=Location(**self.location.model_dump()),
            name=resident.name,
            phone=resident.phone,
            email=resident.email,
            language=resident.language,
            preferred_channel=resident.preferred_channel,
            vulnerability=tuple(resident.vulnerability),
            attributes=self.attributes,
            media_urls=tuple(self.media_urls),
            filed_by=self.filed_by,
            confirm_not_emergency=self.confirm_not_emergency,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint(door, self.model_dump(mode="json")) if idempotency_key else None,
        )


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


class PhotoOut(BaseModel):
    """A photo of the resident's request (photos and additions)."""

    id: str
    name: str
    width: int
    height: int


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
    earlier_reply: str | None = None  # after a reopen: the resolution's reply, no longer the answer
    referral: ReferralOut | None = None
    can_cancel: bool
    can_give_feedback: bool
    timeline: list[TimelineEntryOut]
    # photos and additions: the resident's photos (bytes at /v1/track/{tracking_code}/photos/{id}[/thumb])
    # and whether something may still be added (POST /v1/track/{tracking_code}/additions)
    photos: list[PhotoOut] = []
    can_add: bool = False


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
    anonymous: bool = Field(description="true: a resident may leave their name out (resident.name)")
    questions: list[QuestionOut]


class ServicesOut(BaseModel):
    services: list[ServiceOut]
