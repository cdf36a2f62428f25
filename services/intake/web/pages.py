"""The resident portal's pages: choose a service, file a request, track it, cancel it, rate the outcome.

Every page is server-rendered; the browser posts plain HTML forms to these routes, and intake files the
request on the server side as the `portal` channel (kind `web`) through the same submission rules, service,
checks and limits as the native API. A browser cannot keep an API key secret, so the portal has none: the
channel is intake's own, and the tracking code is the resident's proof for everything after the submission.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any, get_args
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.intake.api.deps import get_container, limit_address
from services.intake.api.models import CancelIn, FeedbackIn
from services.intake.api.uploads import uploads_of
from services.intake.domain.additions import NotOpen
from services.intake.domain.catalogue import Service
from services.intake.domain.channels import PORTAL_CHANNEL, Channel
from services.intake.domain.emergency import EmergencySuspected
from services.intake.domain.photos import MAX_PHOTOS, AdditionRefused, PhotoRefused
from services.intake.domain.request import CancelRequest, FeedbackNotOpen, GiveFeedback, NotCancellable
from services.intake.domain.submission import DraftRefused, take
from services.intake.domain.views import track_view
from services.intake.service import Busy, IdempotencyConflict, UnknownChannel, UnknownRequest
from services.intake.web import forms, present
from services.intake.web.emergency import call_now_page
from services.intake.web.frame import error_page, guarded, not_found, page, unavailable
from shared.events import LANGUAGES
from shared.i18n import pick
from shared.tracking import normalize_tracking_code
from shared.web import page_language

RATINGS: tuple[str, ...] = get_args(FeedbackIn.model_fields["rating"].annotation)  # satisfied, fairly_..., dissatisfied
# The portal's channel has no webhook: a resident is told in the inbox, by SMS or by e-mail.
PORTAL = Channel(PORTAL_CHANNEL, kind="web")

router = APIRouter(include_in_schema=False)


# -- home -----------------------------------------------------------------------------------------------


def home_page(request: Request) -> Response:
    catalogue = get_container(request).config.catalogue
    return page(
        request,
        "home.html",
        services=[s for s in catalogue.services if s.code != "emergency"],
        emergency=catalogue.get("emergency"),
    )


@router.get("/")
async def home(request: Request) -> Response:
    return home_page(request)


@router.get("/track")
async def find(request: Request, code: str = "") -> Response:
    """The home page's look-up box: a well-formed code goes to its page, anything else is named."""
    normalized = normalize_tracking_code(code)
    if normalized is None:  # its own page, the error first (issue 13)
        return page(request, "code_error.html", status=400, code=code[:40], hide_emergency_line=True)
    return RedirectResponse(f"/track/{normalized}", status_code=303)


# -- filing a request -----------------------------------------------------------------------------------


def labels(service: Service, lang: str, t: Callable[..., str]) -> dict[str, str]:
    """Field name -> its label, for the error summary at the top of the form."""
    out = {
        "description": t("form.description"),
        "location.address": t("form.address"),
        "location.building": t("form.building"),
        "location.unit": t("form.unit"),
        "resident.name": t("form.name"),
        "resident.phone": t("form.phone"),
        "resident.email": t("form.email"),
        "resident.preferred_channel": t("form.channel"),
        "resident.language": t("form.language"),
        "resident.vulnerability": t("form.care"),
    }
    for q in forms.askable(service):
        out[f"attributes.{q.code}"] = pick(q.description, lang)
    return out


def form_page(
    request: Request,
    service: Service,
    values: forms.Values,
    *,
    problems: list[forms.Problem] | None = None,
    notice: str | None = None,
    status: int = 200,
    photo_error: str | None = None,
) -> Response:
    container = get_container(request)
    messages = container.config.messages
    lang = page_language(request)

    def t(key: str, **v: Any) -> str:
        return messages.t(key, lang, **v)

    values.set_default("resident.language", lang)
    errors = forms.localized(problems or [], service, lambda k: k in messages.messages, t)
    year = container.clock().astimezone(ZoneInfo(container.settings.timezone)).year
    questions = [forms.question_view(q, lang, year) for q in forms.askable(service)]
    answered = any(k.startswith("attributes.") and any(v) for k, v in values.data.items())
    more = ("resident.email", "resident.vulnerability")
    return page(
        request,
        "request.html",
        status=status,
        service=service,
        questions=questions,
        # The folded parts open again when the resident filled something in them or must fix something there.
        open_questions=answered or any(k.startswith("attributes.") for k in errors),
        open_more=any(values.one(k) for k in more) or any(k in errors for k in more),
        ask_care=forms.care_question(service) is None,
        sms_available=container.settings.sms_available,
        values=values,
        errors=errors,
        labels=labels(service, lang, t),
        notice=notice,
        photo_error=photo_error,
        submission=secrets.token_urlsafe(24),
        languages=LANGUAGES,
        notify_choices=forms.NOTIFY_CHOICES,
        vulnerabilities=forms.VULNERABILITIES,
    )


@router.get("/request/{service_code}")
async def new_request(service_code: str, request: Request) -> Response:
    container = get_container(request)
    service = container.config.catalogue.get(service_code)
    if service is None:
        return error_page(request, 404, "page.not_found.title", "page.not_found.service")
    if container.config.emergency.is_door(service_code):
        return RedirectResponse("/emergency", status_code=303)
    return form_page(request, service, forms.Values())


async def portal_open(request: Request) -> bool:
    """Whether online filing is open: an admin pauses it by disabling the `portal` channel."""
    try:
        return bool((await get_container(request).service.channel(PORTAL_CHANNEL)).get("active"))
    except UnknownChannel:
        return False


@router.post("/request/{service_code}")
@guarded
async def submit(service_code: str, request: Request) -> Response:
    container = get_container(request)
    service = container.config.catalogue.get(service_code)
    if service is None:
        return error_page(request, 404, "page.not_found.title", "page.not_found.service")
    await limit_address(request, container)
    form = await request.form(max_files=MAX_PHOTOS + 1)
    values = forms.Values.of(form)
    settings = container.settings
    body = forms.request_body(values, service, settings.timezone, sms_available=settings.sms_available)
    checked = forms.check(body, service)
    if checked.request is None or checked.problems:
        # The form again with every problem at its field; nothing is stored. 200: the page is the answer
        # (the native API answers 422 to the same mistakes).
        return form_page(request, service, values, problems=checked.problems)
    if not await portal_open(request):
        return form_page(request, service, values, notice="form.closed", status=503)
    limit = container.settings.rate_limit_per_key
    container.limiter.hit("key", PORTAL_CHANNEL, limit, "through the portal")
    # The form's one-time token doubles as the Idempotency-Key: a double click or a re-sent form files once.
    token = values.one("submission")
    draft = checked.request.draft("portal", PORTAL, token if forms.SUBMISSION_TOKEN.match(token) else None)
    try:
        command = take(draft, container.config.catalogue, container.config.emergency)
        submitted = await container.service.submit_with_photos(command, await uploads_of(form.getlist("photos")))
    except PhotoRefused as refused:  # the message names the file and the limit
        return form_page(request, service, values, photo_error=refused.message, status=422)
    except EmergencySuspected as heard:
        return call_now_page(request, decision=heard.decision, service=service, values=values)
    except DraftRefused as refused:  # pragma: no cover - the form's own checks name these first
        return form_page(
            request, service, values, problems=[forms.Problem(p.field, "invalid") for p in refused.problems]
        )
    except IdempotencyConflict:
        return form_page(request, service, values, notice="form.conflict")
    except Busy:
        return form_page(request, service, values, notice="form.busy", status=503)
    return RedirectResponse(f"/track/{submitted.document['tracking_code']}?new=1", status_code=303)


# -- tracking ---------------------------------------------------------------------------------------------


async def _found(request: Request, code: str) -> dict[str, Any] | None:
    """The request with this code, the address's rate limit counted."""
    container = get_container(request)
    await limit_address(request, container)
    return await container.service.find(code)


@router.get("/track/{code}")
@guarded
async def track(code: str, request: Request) -> Response:
    return await track_page(code, request)


async def track_page(code: str, request: Request, add_error: str | None = None, status: int = 200) -> Response:
    doc = await _found(request, code)
    if doc is None:
        return not_found(request, code)
    if doc["tracking_code"] != code:
        return RedirectResponse(f"/track/{doc['tracking_code']}", status_code=303)
    container = get_container(request)
    view = track_view(doc, page_language(request))
    flags = request.query_params
    notify_url = container.settings.public_url("notify")
    return page(
        request,
        "track.html",
        view=view,
        steps=present.steps(view["status"]),
        timeline=present.timeline(view["timeline"], set(container.config.messages.messages)),
        just_submitted=flags.get("new") == "1",
        just_cancelled=flags.get("cancelled") == "1",
        inbox_url=f"{notify_url}/v1/inbox/{doc['tracking_code']}?allow_empty=true",
        timezone=container.settings.timezone,
        photos=doc.get("photos") or [],
        just_added=flags.get("added") == "1",
        add_error=add_error,
        status=status,
    )


@router.post("/track/{code}/add")
@guarded
async def add_to(code: str, request: Request) -> Response:
    """The resident adds words or photos to their open request (services/intake/service.py, add_to)."""
    container = get_container(request)
    await limit_address(request, container)
    form = await request.form(max_files=MAX_PHOTOS + 1)
    text = form.get("text")
    try:
        doc = await container.service.add_to(
            code, text if isinstance(text, str) else None, await uploads_of(form.getlist("photos"))
        )
    except UnknownRequest:
        return not_found(request, code)
    except (PhotoRefused, AdditionRefused) as refused:
        return await track_page(code, request, add_error=refused.message, status=422)
    except NotOpen:
        return RedirectResponse(f"/track/{code}", status_code=303)
    return RedirectResponse(f"/track/{doc['tracking_code']}?added=1#add", status_code=303)


# -- cancelling -------------------------------------------------------------------------------------------


@router.get("/cancel/{code}")
@guarded
async def cancel_form(code: str, request: Request) -> Response:
    doc = await _found(request, code)
    if doc is None:
        return not_found(request, code)
    return page(request, "cancel.html", view=track_view(doc, page_language(request)), reason="", error=None)


@router.post("/cancel/{code}")
@guarded
async def cancel(code: str, request: Request) -> Response:
    doc = await _found(request, code)
    if doc is None:
        return not_found(request, code)
    values = forms.Values.of(await request.form())
    reason = values.one("reason")
    lang = page_language(request)
    problems = small_form_problems(CancelIn, {"tracking_code": doc["tracking_code"], "reason": reason or None})
    if problems:
        return page(request, "cancel.html", view=track_view(doc, lang), reason=reason, error=problems.get("reason"))
    service = get_container(request).service
    try:
        await service.cancel(CancelRequest(doc["_id"], doc["tracking_code"], reason or None))
    except UnknownRequest:  # pragma: no cover - found a moment ago, and requests are never deleted
        return not_found(request, code)
    except NotCancellable:
        fresh = await service.get(doc["_id"]) or doc
        return page(request, "cancel.html", view=track_view(fresh, lang), reason=reason, error=None)
    except Busy:
        return unavailable(request)
    return RedirectResponse(f"/track/{doc['tracking_code']}?cancelled=1", status_code=303)


def small_form_problems(model: type[CancelIn] | type[FeedbackIn], data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The cancel and feedback forms, checked by the native API's own models: field -> message key (and
    the limit, for a text that is too long)."""
    _, problems = forms.validate(model, data)
    out: dict[str, dict[str, Any]] = {}
    for p in problems:
        if p.kind == "too_long":
            out[p.field] = {"key": "error.too_long", "max": p.max}
        elif p.field == "rating":
            out[p.field] = {"key": "error.required.rating"}
        else:
            out[p.field] = {"key": "error.line" if p.kind == "line" else "error.invalid"}
    return out


# -- feedback ---------------------------------------------------------------------------------------------


def feedback_page(
    request: Request,
    doc: dict[str, Any],
    *,
    rating: str = "",
    comment: str = "",
    errors: dict[str, dict[str, Any]] | None = None,
) -> Response:
    """The form while the resolution can be rated; otherwise what the resident can do instead."""
    view = track_view(doc, page_language(request))
    given = (doc.get("feedback") or [None])[-1]
    return page(
        request,
        "feedback.html",
        view=view,
        given=given,
        thanks=request.query_params.get("thanks") == "1" and given is not None,
        rating=rating,
        comment=comment,
        errors=errors or {},
        ratings=RATINGS,
    )


@router.get("/feedback/{code}")
@guarded
async def feedback_form(code: str, request: Request) -> Response:
    """notify's resolution message links here (`{intake public URL}/feedback/{tracking code}`)."""
    doc = await _found(request, code)
    if doc is None:
        return not_found(request, code)
    return feedback_page(request, doc)


@router.post("/feedback/{code}")
@guarded
async def feedback(code: str, request: Request) -> Response:
    doc = await _found(request, code)
    if doc is None:
        return not_found(request, code)
    values = forms.Values.of(await request.form())
    rating, comment = values.one("rating"), values.one("comment")
    errors = small_form_problems(FeedbackIn, {"rating": rating, "comment": comment or None})
    if errors:
        return feedback_page(request, doc, rating=rating, comment=comment, errors=errors)
    service = get_container(request).service
    try:
        after = await service.feedback(GiveFeedback(doc["tracking_code"], rating, comment or None))
    except UnknownRequest:  # pragma: no cover - found a moment ago, and requests are never deleted
        return not_found(request, code)
    except FeedbackNotOpen:
        # Not resolved (any more), or this resolution was rated meanwhile: the page says which.
        return feedback_page(request, await service.get(doc["_id"]) or doc, rating=rating, comment=comment)
    except Busy:
        return unavailable(request)
    return RedirectResponse(f"/feedback/{after['tracking_code']}?thanks=1", status_code=303)
