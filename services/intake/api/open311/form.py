"""POST Service Request: the form-encoded fields of GeoReport v2 read into a `Draft`, then taken by the one
submission path (domain/submission.py). Every problem is listed at once, named the Open311 way
(`attribute[<code>]` for an answer); unknown fields are refused like the native API's.
"""

from __future__ import annotations

import re
from typing import Any

from email_validator import EmailNotValidError, validate_email
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

from services.intake.api.open311.errors import Open311Error, open311_problem
from services.intake.api.open311.search import known_service
from services.intake.domain.catalogue import Catalogue
from services.intake.domain.channels import Channel
from services.intake.domain.emergency import EmergencyTriage
from services.intake.domain.fields import (
    MAX_DESCRIPTION,
    check_coordinate,
    check_line,
    check_media_url,
    check_text,
    normalize_phone,
)
from services.intake.domain.photos import MAX_PHOTOS
from services.intake.domain.request import SubmitRequest
from services.intake.domain.submission import Draft, DraftRefused, fingerprint, take
from shared.events import Location

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
    "media",  # uploaded photos (services/intake/api/photos.py)
    "confirm_not_emergency",  # ours: file after an emergency_referral (docs/intake.md, Emergencies)
)
ATTRIBUTE_FIELD = re.compile(r"^attribute\[([A-Za-z0-9_]{1,40})\](\[\])?$")
_CJK = re.compile(r"[\u3400-\u9fff]")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def read_form(request: Request) -> FormData:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in FORM_TYPES:
        raise Open311Error(400, "send the request form-encoded: Content-Type: application/x-www-form-urlencoded")
    form = await request.form(max_files=MAX_PHOTOS, max_fields=200)
    if any(isinstance(v, UploadFile) and k != "media" for k, v in form.multi_items()):
        raise Open311Error(
            400, f"files are accepted as `media` only (at most {MAX_PHOTOS} photos), or give a media_url"
        )
    return form


def single(form: FormData, name: str) -> str | None:
    values = form.getlist(name)
    if len(values) > 1:
        raise Open311Error(400, f"{name}: give it once, not {len(values)} times")
    value = values[0] if values else None
    if not isinstance(value, str) or not value.strip():
        return None  # Open311: an empty parameter is the same as a missing one
    return value.strip()


def resident_name(first: str | None, last: str | None) -> str:
    parts = [p for p in (first, last) if p]
    if any(_CJK.search(p) for p in parts):
        return "".join(p for p in (last, first) if p)  # Chinese order: family name first
    return " ".join(parts)


def answers_of(form: FormData) -> dict[str, str | list[str]]:
    """`attribute[code]` (one value) and `attribute[code][]` (several); anything else unknown is refused."""
    problems: list[str] = []
    answers: dict[str, str | list[str]] = {}
    for name in dict.fromkeys(form.keys()):
        if name in SINGLE_FIELDS:
            continue
        match = ATTRIBUTE_FIELD.match(name)
        if match is None:
            problems.append(f"{name[:60]}: unknown field; see the POST Service Request arguments of GeoReport v2")
            continue
        values = [v for v in form.getlist(name) if isinstance(v, str)]
        if match.group(2):
            answers[match.group(1)] = values
        elif len(values) > 1:
            problems.append(f"{name}: give it once (use attribute[{match.group(1)}][] for several values)")
        else:
            answers[match.group(1)] = values[0]
    if problems:
        raise Open311Error(400, *problems)
    return answers


class _Fields:
    """The single-valued fields, each checked; the problems are collected, not raised one by one."""

    def __init__(self, form: FormData) -> None:
        self.form = form
        self.problems: list[str] = []

    def text(self, name: str, max_len: int, *, multiline: bool = False) -> str | None:
        value = single(self.form, name)
        if value is None:
            return None
        try:
            (check_text if multiline else check_line)(value)
        except ValueError as exc:
            self.problems.append(f"{name}: {exc}")
            return None
        if len(value) > max_len:
            self.problems.append(f"{name}: at most {max_len} characters")
            return None
        return value

    def coordinates(self) -> dict[str, float]:
        lat, long = single(self.form, "lat"), single(self.form, "long")
        coords: dict[str, float] = {}
        for name, raw, low, high in (("lat", lat, -90.0, 90.0), ("long", long, -180.0, 180.0)):
            if raw is None:
                continue
            try:
                coords[name] = check_coordinate(float(raw), low=low, high=high, name=name)
            except ValueError as exc:
                message = str(exc) if "WGS84" in str(exc) else f"{name} must be a decimal number"
                self.problems.append(f"{name}: {message}")
        if (lat is None) != (long is None):
            self.problems.append("lat and long: both need to be sent, or neither")
        return coords

    def checked(self, name: str, check: Any) -> str | None:
        """A value `check` normalizes (or refuses with ValueError)."""
        value = single(self.form, name)
        if value is None:
            return None
        try:
            return str(check(value))
        except ValueError as exc:
            self.problems.append(f"{name}: {exc}")
            return None


def _email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None


def confirmation(value: str) -> bool:
    """confirm_not_emergency: true or false (1/0, yes/no also read)."""
    answer = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(value.strip().lower())
    if answer is None:
        raise ValueError("send true (it is not an emergency) or false")
    return answer


def command(
    form: FormData,
    channel: dict[str, Any],
    catalogue: Catalogue,
    language: str,
    idempotency_key: str | None,
    emergency: EmergencyTriage | None = None,
) -> SubmitRequest:
    """The checked command, or Open311Error: 400 listing every problem, 404 for an unknown service code."""
    answers = answers_of(form)
    service_code = single(form, "service_code")
    if service_code is None:
        raise Open311Error(400, "service_code is required; GET services lists the codes")
    known_service(catalogue, service_code)  # 404 at once, before the rest of the form is looked at
    fields = _Fields(form)
    coords = fields.coordinates()
    address, address_id = fields.text("address_string", 200), fields.text("address_id", 64)
    nowhere = single(form, "lat") is None and single(form, "long") is None
    if nowhere and address is None and address_id is None:
        fields.problems.append("a location is required: lat and long, or address_string, or address_id")
    description = fields.text("description", MAX_DESCRIPTION, multiline=True) or ""
    first_name, last_name = fields.text("first_name", 50), fields.text("last_name", 50)
    device_id, account_id = fields.text("device_id", 100), fields.text("account_id", 100)
    email = fields.checked("email", _email)
    phone = fields.checked("phone", normalize_phone)
    media_url = fields.checked("media_url", check_media_url)
    confirmed = fields.checked("confirm_not_emergency", confirmation) == "True"
    normalized = sorted((k, v) for k, v in form.multi_items() if k != "api_key" and isinstance(v, str))
    draft = Draft(
        door="open311",
        channel=Channel.of(channel),
        service_code=service_code,
        description=description,
        location=Location(address=address, address_id=address_id, lat=coords.get("lat"), long=coords.get("long")),
        name=resident_name(first_name, last_name) or None,
        phone=phone,
        email=email,
        language=language,
        attributes=answers,
        media_urls=(media_url,) if media_url else (),
        extra={"account_id": account_id, "device_id": device_id, "jurisdiction_id": single(form, "jurisdiction_id")},
        idempotency_key=idempotency_key,
        fingerprint=fingerprint("open311", normalized) if idempotency_key else None,
        confirm_not_emergency=confirmed,
    )
    problems = fields.problems
    try:
        cmd = take(draft, catalogue, emergency)
    except DraftRefused as refused:
        problems += [open311_problem(p) for p in refused.problems]
    if problems:
        raise Open311Error(400, *problems)
    return cmd
