"""The portal's service-day pages (便民服务日): the upcoming days, a day's sign-up form, and a sign-up's own page
(see it, cancel it) at `/servicedays/signup/{code}`, where notify's messages link.

The portal signs residents up as its own `portal` channel through the same service as the native API
(services/intake/servicedays.py); the sign-up code is the resident's proof, like a tracking code.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from services.intake.api.deps import get_container, limit_address
from services.intake.api.servicedays import SignupIn
from services.intake.domain.channels import PORTAL_CHANNEL
from services.intake.domain.servicedays import SignupRefused
from services.intake.servicedays import Busy, ServiceDays
from services.intake.web import forms
from services.intake.web.frame import error_page, guarded, page, unavailable
from shared.tracking import normalize_tracking_code
from shared.web import page_language

router = APIRouter(include_in_schema=False)

# Form field -> the text naming what to fix (portal-messages.yaml, days.error.*).
FIELD_ERRORS = {"name": "days.error.name", "phone": "days.error.phone", "services": "days.error.services"}


def _days(request: Request) -> ServiceDays:
    days = get_container(request).days
    assert days is not None
    return days


@router.get("/servicedays")
@guarded
async def upcoming(request: Request) -> Response:
    return page(request, "servicedays.html", days=await _days(request).upcoming())


# Before /servicedays/{day_id}, which would take "signup" for a day id.
@router.get("/servicedays/signup")
async def find_signup(request: Request, code: str = "") -> Response:
    normalized = normalize_tracking_code(code)
    if normalized is None:
        return error_page(request, 400, "days.code_error.title", "days.code_error.text")
    return RedirectResponse(f"/servicedays/signup/{normalized}", status_code=303)


def form_page(request: Request, day: dict[str, Any], values: dict[str, Any], errors: dict[str, str]) -> Response:
    """The sign-up form; with `errors` it is shown again (200, like the request form) naming what to fix."""
    return page(request, "serviceday.html", day=day, values=values, errors=errors)


@router.get("/servicedays/{day_id}")
@guarded
async def day_form(day_id: str, request: Request) -> Response:
    day = await _days(request).day(day_id[:40])
    if day is None:
        return error_page(request, 404, "page.not_found.title", "days.not_found")
    return form_page(request, day, {"services": []}, {})


@router.post("/servicedays/{day_id}")
@guarded
async def sign_up(day_id: str, request: Request) -> Response:
    container = get_container(request)
    days = _days(request)
    day = await days.day(day_id[:40])
    if day is None:
        return error_page(request, 404, "page.not_found.title", "days.not_found")
    await limit_address(request, container)
    form = forms.Values.of(await request.form())
    values = {
        "name": form.one("name"),
        "phone": form.one("phone"),
        "services": form.many("services"),
        # The mobile number is required here: when SMS is set up, the confirmation and reminder come by SMS.
        "preferred_channel": "sms" if container.settings.sms_available else "inbox",
        "language": page_language(request),
    }
    try:
        body = SignupIn.model_validate(values)
    except ValidationError as exc:
        fields = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        errors = {f: FIELD_ERRORS[f] for f in FIELD_ERRORS if f in fields}
        return form_page(request, day, values, errors or {"name": "days.error.name"})
    try:
        view = await days.sign_up(day["day_id"], body.draft(PORTAL_CHANNEL))
    except SignupRefused as exc:
        key = f"days.refused.{exc.reason}"
        fresh = await days.day(day["day_id"]) or day
        return form_page(request, fresh, values, {exc.field: key})
    except Busy:
        return unavailable(request)
    return RedirectResponse(f"/servicedays/signup/{view['code']}?done=1", status_code=303)


@router.get("/servicedays/signup/{code}")
@guarded
async def signup_page(code: str, request: Request) -> Response:
    view = await _days(request).signup(code)
    if view is None:
        return error_page(request, 404, "page.not_found.title", "days.code_unknown")
    if view["code"] != code:
        return RedirectResponse(f"/servicedays/signup/{view['code']}", status_code=303)
    flags = request.query_params
    settings = get_container(request).settings
    return page(
        request,
        "signup.html",
        view=view,
        done=flags.get("done") == "1",
        cancelled=flags.get("cancelled") == "1",
        # notify's messages about the sign-up (its code reads the inbox like a tracking code)
        inbox_url=f"{settings.public_url('notify')}/v1/inbox/{view['code']}?allow_empty=true",
        timezone=settings.timezone,
    )


@router.post("/servicedays/signup/{code}/cancel")
@guarded
async def cancel(code: str, request: Request) -> Response:
    await limit_address(request, get_container(request))
    try:
        view = await _days(request).cancel(code)
    except SignupRefused as exc:
        if exc.reason == "unknown_code":
            return error_page(request, 404, "page.not_found.title", "days.code_unknown")
        return error_page(request, 409, "days.refused.title", f"days.refused.{exc.reason}")
    except Busy:
        return unavailable(request)
    return RedirectResponse(f"/servicedays/signup/{view['code']}?cancelled=1", status_code=303)
