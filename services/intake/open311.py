"""Open311 GeoReport v2 under /open311/v2: discovery, services, service definitions, POST/GET requests,
tokens. Every resource in `.xml` (the spec's required format) and `.json`.

The Open311 `api_key` is a channel key (the same as the native X-API-Key). Errors are the spec's list of
`{code, description}`: 403 missing or bad key, 404 unknown id, code or jurisdiction, 400 otherwise.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel
from starlette.datastructures import FormData, UploadFile

from services.intake import attributes, domain
from services.intake.catalogue import Catalogue, Service
from services.intake.channels import channel_for, limit_address
from services.intake.desk import Busy, Desk, IdempotencyConflict, fingerprint
from services.intake.errors import Open311Error
from services.intake.fields import MAX_DESCRIPTION, check_coordinate, check_line, check_media_url, check_text
from services.intake.fields import normalize_phone as _normalize_phone
from services.intake.open311_format import XML_MEDIA_TYPE, render
from services.intake.store import IntakeStore
from services.intake.views import open311_definition, open311_request, open311_service, status_filter
from shared.events import Location, Resident
from shared.i18n import negotiate, pick
from shared.tracking import normalize_tracking_code

SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
MAX_RANGE = timedelta(days=90)
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100
MAX_IDS = 100

Fmt = Annotated[Literal["json", "xml"], Path(alias="format", description="json or xml (the spec's required format)")]
Jurisdiction = Annotated[
    str | None, Query(max_length=200, description="optional: this endpoint serves one jurisdiction")
]

SINGLE_FIELDS = (
    "api_key",
    "jurisdiction_id",
    "service_code",
    "lat",
    "long",
    "address_string",
    "address_id",
    "email",
    "device_id",
    "account_id",
    "first_name",
    "last_name",
    "phone",
    "description",
    "media_url",
)
ATTRIBUTE_FIELD = re.compile(r"^attribute\[([A-Za-z0-9_]{1,40})\](\[\])?$")
_CJK = re.compile(r"[\u3400-\u9fff]")


# -- JSON shapes (documentation; the XML mirrors them) -------------------------------------------------


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


def _responses(model: Any, status: int = 200, *errors: int) -> dict[int | str, dict[str, Any]]:
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


# -- helpers -------------------------------------------------------------------------------------------


def language(request: Request) -> str:
    return negotiate(request.headers.get("accept-language"))


def check_jurisdiction(request: Request, jurisdiction_id: str | None) -> None:
    expected = request.app.state.settings.open311_jurisdiction_id
    if expected and jurisdiction_id and jurisdiction_id != expected:
        raise Open311Error(404, f"jurisdiction_id {jurisdiction_id!r} not found; this endpoint serves {expected!r}")


def _service(catalogue: Catalogue, code: str) -> Service:
    service = catalogue.get(code)
    if service is None:
        raise Open311Error(404, f"service_code {code!r} not found; GET services lists the codes")
    return service


def _w3c_param(name: str, raw: str | None) -> datetime | None:
    if raw is None or not raw.strip():
        return None
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise Open311Error(400, f"{name}: use the w3 format, e.g. 2010-01-01T00:00:00Z") from None
    if moment.tzinfo is None:
        raise Open311Error(400, f"{name}: add a time zone, e.g. 2010-01-01T00:00:00Z or +08:00")
    return moment


def _list_param(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def resident_name(first: str | None, last: str | None) -> str:
    parts = [p for p in (first, last) if p]
    if any(_CJK.search(p) for p in parts):
        return "".join(p for p in (last, first) if p)  # Chinese order: family name first
    return " ".join(parts)


def receipt_notice(tracking_code: str) -> dict[str, str]:
    return {
        "zh-CN": f"诉求已受理。您的查询码是 {tracking_code}，请妥善保存，可凭此码查询进度、撤回诉求或评价办理结果。",
        "en": f"Received. Your tracking code is {tracking_code}; keep it to follow, cancel or rate this request.",
    }


# -- routes --------------------------------------------------------------------------------------------


def get_catalogue(request: Request) -> Catalogue:
    catalogue: Catalogue = request.app.state.catalogue
    return catalogue


def get_store(request: Request) -> IntakeStore:
    store: IntakeStore = request.app.state.store
    return store


CatalogueDep = Annotated[Catalogue, Depends(get_catalogue)]
StoreDep = Annotated[IntakeStore, Depends(get_store)]


def build_router(catalogue: Catalogue) -> APIRouter:
    """The Open311 routes. Built per app so the documented service codes are this catalogue's."""
    router = APIRouter(prefix="/open311/v2", tags=["open311"], dependencies=[Depends(limit_address)])

    @router.get(
        "/discovery.{format}",
        response_class=Response,
        responses=_responses(O311Discovery),
        summary="Service discovery",
    )
    async def discovery(request: Request, fmt: Fmt) -> Response:
        settings = request.app.state.settings
        base = f"{settings.public_url('intake')}/open311/v2"
        body = {
            "changeset": settings.open311_changeset,
            "contact": settings.open311_contact,
            "key_service": settings.open311_key_service,
            "endpoints": [
                {
                    "specification": SPEC_URL,
                    "url": base,
                    "changeset": settings.open311_changeset,
                    "type": "production" if not settings.is_dev else "test",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        }
        return render(fmt, "discovery", body)

    @router.get(
        "/services.{format}",
        response_class=Response,
        responses=_responses(list[O311Service], 200, 404),
        summary="GET Service List",
    )
    async def services(
        request: Request, fmt: Fmt, catalogue: CatalogueDep, jurisdiction_id: Jurisdiction = None
    ) -> Response:
        check_jurisdiction(request, jurisdiction_id)
        lang = language(request)
        return render(fmt, "services", [open311_service(s, lang) for s in catalogue.services])

    @router.get(
        "/services/{service_code}.{format}",
        response_class=Response,
        responses=_responses(O311Definition, 200, 404),
        summary="GET Service Definition",
    )
    async def service_definition(
        request: Request,
        service_code: Annotated[str, Path(max_length=64)],
        fmt: Fmt,
        catalogue: CatalogueDep,
        jurisdiction_id: Jurisdiction = None,
    ) -> Response:
        check_jurisdiction(request, jurisdiction_id)
        return render(
            fmt, "service_definition", open311_definition(_service(catalogue, service_code), language(request))
        )

    form_schema: dict[str, Any] = {
        "type": "object",
        "required": ["api_key", "service_code"],
        "properties": {
            "api_key": {"type": "string", "maxLength": 200, "description": "the channel's API key"},
            "jurisdiction_id": {"type": "string", "maxLength": 200},
            "service_code": {"type": "string", "enum": catalogue.codes},
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

    @router.post(
        "/requests.{format}",
        response_class=Response,
        status_code=201,
        responses=_responses(list[O311Created], 201, 403, 404),
        summary="POST Service Request (form-encoded)",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/x-www-form-urlencoded": {"schema": form_schema}},
            }
        },
    )
    async def post_request(
        request: Request,
        fmt: Fmt,
        catalogue: CatalogueDep,
        idempotency_key: Annotated[str | None, Header(pattern=r"^[\x21-\x7e]{1,200}$")] = None,
    ) -> Response:
        form = await _read_form(request)
        channel = await _authenticate(request, form)
        check_jurisdiction(request, _single(form, "jurisdiction_id"))
        cmd = _command(request, form, channel, catalogue, idempotency_key)
        desk: Desk = request.app.state.desk
        try:
            submitted = await desk.submit(cmd)
        except IdempotencyConflict:
            raise Open311Error(400, "this Idempotency-Key was used with a different body; use a new key") from None
        except Busy:  # pragma: no cover - see Desk.submit
            raise Open311Error(400, "could not store the request; try again") from None
        doc = submitted.document
        lang = cmd.resident.language
        notice = doc["referral"]["notice"] if doc.get("referral") else receipt_notice(doc["tracking_code"])
        body = [
            {
                "service_request_id": doc["_id"],
                "service_notice": pick(notice, lang),
                "account_id": (doc.get("extra") or {}).get("account_id"),
            }
        ]
        headers = {"Idempotent-Replayed": "true"} if submitted.replayed else None
        return render(fmt, "service_requests", body, 201, headers)

    @router.get(
        "/requests.{format}",
        response_class=Response,
        responses=_responses(list[O311Request], 200, 404),
        summary="GET Service Requests",
    )
    async def get_requests(
        request: Request,
        fmt: Fmt,
        store: StoreDep,
        catalogue: CatalogueDep,
        jurisdiction_id: Jurisdiction = None,
        service_request_id: Annotated[str | None, Query(max_length=4000, description="comma-delimited ids")] = None,
        service_code: Annotated[str | None, Query(max_length=1000, description="comma-delimited codes")] = None,
        start_date: Annotated[str | None, Query(max_length=40, examples=["2025-01-01T00:00:00Z"])] = None,
        end_date: Annotated[str | None, Query(max_length=40, examples=["2025-03-01T00:00:00+08:00"])] = None,
        status: Annotated[str | None, Query(max_length=40, description="open, closed or open,closed")] = None,
        page: Annotated[int, Query(ge=1, le=1000)] = 1,
        page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    ) -> Response:
        check_jurisdiction(request, jurisdiction_id)
        settings = request.app.state.settings
        ids = _list_param(service_request_id)
        query: dict[str, Any]
        if ids:
            if len(ids) > MAX_IDS:
                raise Open311Error(400, f"service_request_id: at most {MAX_IDS} ids at once")
            query = {"_id": {"$in": ids}}
        else:
            query = _search(request, catalogue, service_code, start_date, end_date, status)
        docs = await store.find_requests(query, skip=(page - 1) * page_size, limit=page_size)
        lang = language(request)
        return render(fmt, "service_requests", [open311_request(d, lang, settings.timezone, catalogue) for d in docs])

    @router.get(
        "/requests/{service_request_id}.{format}",
        response_class=Response,
        responses=_responses(list[O311Request], 200, 404),
        summary="GET Service Request",
    )
    async def get_request(
        request: Request,
        service_request_id: Annotated[str, Path(max_length=64)],
        fmt: Fmt,
        store: StoreDep,
        catalogue: CatalogueDep,
        jurisdiction_id: Jurisdiction = None,
    ) -> Response:
        check_jurisdiction(request, jurisdiction_id)
        doc = await store.by_id(service_request_id)
        if doc is None:
            raise Open311Error(404, f"service_request_id {service_request_id!r} not found")
        settings = request.app.state.settings
        return render(fmt, "service_requests", [open311_request(doc, language(request), settings.timezone, catalogue)])

    @router.get(
        "/tokens/{token}.{format}",
        response_class=Response,
        responses=_responses(list[O311Token], 200, 404),
        summary="GET service_request_id from a token (the tracking code)",
    )
    async def token(
        request: Request,
        token: Annotated[str, Path(max_length=40)],
        fmt: Fmt,
        store: StoreDep,
        jurisdiction_id: Jurisdiction = None,
    ) -> Response:
        check_jurisdiction(request, jurisdiction_id)
        code = normalize_tracking_code(token)
        doc = await store.by_tracking_code(code) if code else None
        if doc is None:
            raise Open311Error(404, "token not found; it is the tracking code given when the request was made")
        return render(fmt, "service_requests", [{"service_request_id": doc["_id"], "token": doc["tracking_code"]}])

    return router


def _search(
    request: Request,
    catalogue: Catalogue,
    service_code: str | None,
    start_date: str | None,
    end_date: str | None,
    status: str | None,
) -> dict[str, Any]:
    start = _w3c_param("start_date", start_date)
    end = _w3c_param("end_date", end_date)
    if start and end and end < start:
        raise Open311Error(400, "end_date is before start_date")
    if start and end and end - start > MAX_RANGE:
        raise Open311Error(400, "start_date to end_date may not span more than 90 days")
    if start is None and end is None:
        end = request.app.state.clock()
    if start is None:
        assert end is not None
        start = end - MAX_RANGE
    elif end is None:
        end = start + MAX_RANGE
    query: dict[str, Any] = {"submitted_at": {"$gte": start, "$lte": end}}
    codes = _list_param(service_code)
    for code in codes:
        _service(catalogue, code)
    if codes:
        query["service_code"] = {"$in": codes}
    wanted = set(_list_param(status))
    if wanted - {"open", "closed"}:
        raise Open311Error(400, "status: use open, closed, or both comma-delimited")
    condition = status_filter(wanted)
    if condition is not None:
        query["status"] = condition
    return query


# -- POST requests: the form ---------------------------------------------------------------------------


async def _read_form(request: Request) -> FormData:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise Open311Error(400, "send the request form-encoded: Content-Type: application/x-www-form-urlencoded")
    form = await request.form(max_files=0, max_fields=200)
    if any(isinstance(v, UploadFile) for _, v in form.multi_items()):
        raise Open311Error(400, "files are not accepted; give a media_url instead")
    return form


def _single(form: FormData, name: str) -> str | None:
    values = form.getlist(name)
    if len(values) > 1:
        raise Open311Error(400, f"{name}: give it once, not {len(values)} times")
    value = values[0] if values else None
    if not isinstance(value, str) or not value.strip():
        return None  # Open311: an empty parameter is the same as a missing one
    return value.strip()


async def _authenticate(request: Request, form: FormData) -> dict[str, Any]:
    api_key = _single(form, "api_key")
    if api_key is None:
        raise Open311Error(403, "api_key is required to create a request; ask the administrator for your channel's key")
    channel = await channel_for(request, api_key)
    if channel is None:
        raise Open311Error(403, "invalid api_key received; it is unknown or disabled")
    return channel


def _command(
    request: Request,
    form: FormData,
    channel: dict[str, Any],
    catalogue: Catalogue,
    idempotency_key: str | None,
) -> domain.SubmitRequest:
    problems: list[str] = []
    raw_answers: dict[str, str | list[str]] = {}
    for name in dict.fromkeys(form.keys()):
        if name in SINGLE_FIELDS:
            continue
        match = ATTRIBUTE_FIELD.match(name)
        if match is None:
            problems.append(f"{name[:60]}: unknown field; see the POST Service Request arguments of GeoReport v2")
            continue
        values = [v for v in form.getlist(name) if isinstance(v, str)]
        if match.group(2):
            raw_answers[match.group(1)] = values
        elif len(values) > 1:
            problems.append(f"{name}: give it once (use attribute[{match.group(1)}][] for several values)")
        else:
            raw_answers[match.group(1)] = values[0]
    if problems:
        raise Open311Error(400, *problems)

    def text(name: str, max_len: int, *, multiline: bool = False) -> str | None:
        value = _single(form, name)
        if value is None:
            return None
        try:
            (check_text if multiline else check_line)(value)
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
            return None
        if len(value) > max_len:
            problems.append(f"{name}: at most {max_len} characters")
            return None
        return value

    service_code = _single(form, "service_code")
    if service_code is None:
        raise Open311Error(400, "service_code is required; GET services lists the codes")
    service = _service(catalogue, service_code)

    lat, long = _single(form, "lat"), _single(form, "long")
    coords: dict[str, float] = {}
    for name, raw, low, high in (("lat", lat, -90.0, 90.0), ("long", long, -180.0, 180.0)):
        if raw is None:
            continue
        try:
            coords[name] = check_coordinate(float(raw), low=low, high=high, name=name)
        except ValueError as exc:
            message = str(exc) if "WGS84" in str(exc) else f"{name} must be a decimal number"
            problems.append(f"{name}: {message}")
    if (lat is None) != (long is None):
        problems.append("lat and long: both need to be sent, or neither")
    address = text("address_string", 200)
    address_id = text("address_id", 64)
    if lat is None and long is None and address is None and address_id is None:
        problems.append("a location is required: lat and long, or address_string, or address_id")

    description = text("description", MAX_DESCRIPTION, multiline=True) or ""
    first_name, last_name = text("first_name", 50), text("last_name", 50)
    device_id, account_id = text("device_id", 100), text("account_id", 100)
    email = _single(form, "email")
    if email is not None:
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            problems.append(f"email: {exc}")
            email = None
    phone = _single(form, "phone")
    if phone is not None:
        try:
            phone = _normalize_phone(phone)
        except ValueError as exc:
            problems.append(f"phone: {exc}")
            phone = None
    media_url = _single(form, "media_url")
    if media_url is not None:
        try:
            check_media_url(media_url)
        except ValueError as exc:
            problems.append(f"media_url: {exc}")

    checked = attributes.check_answers(service, raw_answers)
    problems += [f"attribute[{e.code}]: {e.message}" for e in checked.errors]
    if problems:
        raise Open311Error(400, *problems)

    kind = channel.get("kind", "web")
    on_behalf = kind in domain.ON_BEHALF_KINDS
    webhook = channel.get("webhook_url")
    preferred = "webhook" if webhook else "sms" if phone else "email" if email else "inbox"
    jurisdiction_id = _single(form, "jurisdiction_id")
    extra = {"account_id": account_id, "device_id": device_id, "jurisdiction_id": jurisdiction_id}
    normalized = sorted((k, v) for k, v in form.multi_items() if k != "api_key" and isinstance(v, str))
    return domain.SubmitRequest(
        service_code=service.code,
        service_name=service.name,
        description=description,
        location=Location(address=address, address_id=address_id, lat=coords.get("lat"), long=coords.get("long")),
        resident=Resident(
            name=resident_name(first_name, last_name),
            phone=phone,
            email=email,
            language=language(request),  # type: ignore[arg-type]
            preferred_channel=preferred,  # type: ignore[arg-type]
        ),
        channel=channel["_id"],
        channel_kind=kind,
        channel_webhook_url=webhook,
        on_behalf=on_behalf,
        filed_by=account_id if on_behalf else None,
        attributes=checked.answers,
        media_urls=[media_url] if media_url else [],
        public_details=service.public_details,
        api="open311",
        extra=extra,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint("open311", normalized) if idempotency_key else None,
    )
