"""How the Open311 routes are documented in intake's OpenAPI document: the JSON shapes (the XML mirrors
them: same fields as elements), the error answers, and the POST form."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from services.intake.api.open311.formats import XML_MEDIA_TYPE
from services.intake.domain.fields import MAX_DESCRIPTION


class O311Error(BaseModel):
    code: int
    description: str


class O311Service(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: Literal["realtime", "batch", "blackbox"]
    keywords: str
    group: str


class O311Value(BaseModel):
    key: str
    name: str


class O311Attribute(BaseModel):
    variable: bool
    code: str
    datatype: str
    required: bool
    datatype_description: str | None
    order: int
    description: str
    values: list[O311Value]


class O311Definition(BaseModel):
    service_code: str
    attributes: list[O311Attribute]


class O311Created(BaseModel):
    service_request_id: str
    service_notice: str | None
    account_id: str | None


class O311Token(BaseModel):
    service_request_id: str
    token: str


class O311Request(BaseModel):
    service_request_id: str
    status: Literal["open", "closed"]
    status_notes: str | None
    service_name: str
    service_code: str
    description: str | None
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: str
    updated_datetime: str
    expected_datetime: str | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None


class O311Endpoint(BaseModel):
    specification: str
    url: str
    changeset: str
    type: str
    formats: list[str]


class O311Discovery(BaseModel):
    changeset: str
    contact: str
    key_service: str
    endpoints: list[O311Endpoint]


def responses(model: Any, status: int = 200, *errors: int) -> dict[int | str, dict[str, Any]]:
    xml = {XML_MEDIA_TYPE.split(";")[0]: {"schema": {"type": "string"}}}
    documented: dict[int | str, dict[str, Any]] = {
        status: {"model": model, "description": "the resource (XML: same fields as elements)", "content": xml}
    }
    meaning = {
        400: "bad input",
        403: "missing or bad api_key",
        404: "unknown id, code or jurisdiction",
        413: "body too large",
        429: "rate limited; see Retry-After",
    }
    for code in (400, *errors, 413, 429):
        documented[code] = {"model": list[O311Error], "description": meaning[code], "content": xml}
    # Open311 answers 400 where FastAPI would answer 422; documenting 4XX keeps FastAPI from listing a 422.
    documented["4XX"] = {"model": list[O311Error], "description": "any other client error", "content": xml}
    return documented


def form_schema(service_codes: list[str]) -> dict[str, Any]:
    """The POST form, with the codes of the catalogue intake runs with."""
    return {
        "type": "object",
        "required": ["api_key", "service_code"],
        "properties": {
            "api_key": {"type": "string", "maxLength": 200, "description": "the channel's API key"},
            "jurisdiction_id": {"type": "string", "maxLength": 200},
            "service_code": {"type": "string", "enum": service_codes},
            "lat": {"type": "number", "minimum": -90, "maximum": 90},
            "long": {"type": "number", "minimum": -180, "maximum": 180},
            "address_string": {"type": "string", "maxLength": 200},
            "address_id": {"type": "string", "maxLength": 64},
            "email": {"type": "string", "format": "email", "maxLength": 254},
            "device_id": {"type": "string", "maxLength": 100},
            "account_id": {"type": "string", "maxLength": 100},
            "first_name": {"type": "string", "maxLength": 50},
            "last_name": {"type": "string", "maxLength": 50},
            "phone": {"type": "string", "maxLength": 20, "example": "13800138000"},
            "description": {"type": "string", "maxLength": MAX_DESCRIPTION},
            "media_url": {"type": "string", "format": "uri", "maxLength": 500},
            "confirm_not_emergency": {
                "type": "string",
                "enum": ["true", "false"],
                "description": "true after a 400 emergency_referral, once the resident says it is not an emergency",
            },
        },
        "patternProperties": {r"^attribute\[[A-Za-z0-9_]{1,40}\](\[\])?$": {"type": "string", "maxLength": 2000}},
        "additionalProperties": False,
        "example": {
            "api_key": "your-channel-key",
            "service_code": "property_repair",
            "lat": 39.9042,
            "long": 116.4074,
            "address_string": "幸福路8号3号楼",
            "description": "楼道灯坏了",
            "phone": "13912345678",
            "attribute[place]": "stairwell",
        },
    }
