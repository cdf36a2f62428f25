"""The resident portal's pages: choose a service, file a request, track it, cancel it, rate the outcome.

Every page is server-rendered; the browser posts plain HTML forms to these routes, and intake files the
request on the server side as the `portal` channel (kind `web`) through the same desk, checks and limits
as the native API. A browser cannot keep an API key secret, so the portal has none: the channel is
intake's own, and the tracking code is the resident's proof for everything after the submission.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, get_args
from urllib.parse import quote, urlsplit

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pymongo.errors import PyMongoError

from services.intake import domain
from services.intake.api import CancelIn, FeedbackIn
from services.intake.catalogue import Catalogue, Service
from services.intake.channels import get_limiter, get_store, limit_address
from services.intake.desk import Busy, Desk, IdempotencyConflict, UnknownRequest, fingerprint
from services.intake.limits import RateLimited
from services.intake.web import forms, present
from shared.events import LANGUAGES, Location, Resident
from shared.i18n import pick
from shared.tracking import normalize_tracking_code
from shared.web import Catalogue as Messages
from shared.web import page_language, render

log = structlog.get_logger("huiying.intake.portal")

PORTAL_CHANNEL = "portal"
RATINGS: tuple[str, ...] = get_args(FeedbackIn.model_fields["rating"].annotation)  # satisfied, fairly_..., dissatisfied

router = APIRouter(include_in_schema=False)


class Portal:
    """What the pages need, built once per app: templates, texts, the security headers."""

    def __init__(self, templates: Any, messages: Messages, catalogue: Catalogue, settings: Any) -> None:
        self.templates = templates
        self.messages = messages
        self.catalogue = catalogue
        self.settings = settings
        self.notify_url = settings.public_url("notify")
        notify = urlsplit(self.notify_url)
        self.headers = {
            # Nothing is loaded from anywhere but intake itself; the only other place a page talks to is
            # notify's inbox (the messages on the track page).
            "Content-Security-Policy": (
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                f"connect-src 'self' {notify.scheme}://{notify.netloc}; form-action 'self'; "
                "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
            ),
            # The tracking code is in the address: it must not leak to other sites, or stay in a shared
            # computer's cache.
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        }


def get_portal(request: Request) -> Portal:
    portal: Portal = request.app.state.portal
    return portal


def fid(name: str) -> str:
    """The HTML id of a form field."""
    return "f-" + name.replace(".", "-").replace("_", "-")


def page(request: Request, name: str, *, status: int = 200, **context: Any) -> Response:
    portal = get_portal(request)
    lang = page_language(request)
    other = "en" if lang != "en" else "zh-CN"
    tz = portal.settings.timezone
    response: Response = render(
        portal.templates,
        request,
        name,
        other_lang=other,
        switch_url=f"{quote(request.url.path)}?lang={other}",
        when=lambda moment: present.local_time(moment, lang, tz),
        pick=lambda text: pick(text, lang),
        fid=fid,
        **context,
    )
    response.status_code = status
    response.headers.update(portal.headers)
    return response


def error_page(request: Request, status: int, title: str, text: str, **values: Any) -> Response:
    return page(request, "error.html", status=status, title_key=title, text_key=text, values=values)


Endpoint = Callable[..., Awaitable[Response]]


def guarded(endpoint: Endpoint) -> Endpoint:
    """A page, never a JSON error: rate limits and a database outage answer with a page in the resident's
    language (429 / 503 with Retry-After), like the API's statuses."""

    @functools.wraps(endpoint)
    async def wrapper(*args: Any, **kwargs: Any) -> Response:
        request: Request = kwargs["request"]
        try:
            return await endpoint(*args, **kwargs)
        except RateLimited as exc:
            seconds = (exc.headers or {}).get("Retry-After", "60")
            response = error_page(request, 429, "page.rate_limited.title", "page.rate_limited.text", seconds=seconds)
            response.headers["Retry-After"] = seconds
            return response
        except PyMongoError as exc:
            log.warning("database unavailable", error=f"{type(exc).__name__}: {exc}"[:300], path=request.url.path)
            response = error_page(request, 503, "page.unavailable.title", "page.unavailable.text")
            response.headers["Retry-After"] = "5"
            return response

    return wrapper


# -- home -----------------------------------------------------------------------------------------------


def home_page(request: Request, *, status: int = 200, code: str = "", code_error: bool = False) -> Response:
    services = [s for s in get_portal(request).catalogue.services if s.code != "emergency"]
    emergency = get_portal(request).catalogue.get("emergency")
    return page(
        request,
        "home.html",
        status=status,
        services=services,
        emergency=emergency,
        code=code,
        code_error=code_error,
    )


@router.get("/")
async def home(request: Request) -> Response:
    return home_page(request)


@router.get("/track")
async def find(request: Request, code: str = "") -> Response:
    """The home page's look-up box: a well-formed code goes to its page, anything else is named."""
    normalized = normalize_tracking_code(code)
    if normalized is None:
        return home_page(request, code=code[:40], code_error=True)
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
) -> Response:
    portal = get_portal(request)
    lang = page_language(request)

    def t(key: str, **v: Any) -> str:
        return portal.messages.t(key, lang, **v)

    values.set_default("resident.language", lang)
    values.set_default("resident.preferred_channel", "inbox")
    errors = forms.localized(problems or [], service, lambda k: k in portal.messages.messages, t)
    return page(
        request,
        "request.html",
        status=status,
        service=service,
        questions=[forms.question_view(q, lang) for q in forms.askable(service)],
        values=values,
        errors=errors,
        labels=labels(service, lang, t),
        notice=notice,
        submission=secrets.token_urlsafe(24),
        languages=LANGUAGES,
        notify_choices=forms.NOTIFY_CHOICES,
        vulnerabilities=forms.VULNERABILITIES,
    )


@router.get("/request/{service_code}")
async def new_request(service_code: str, request: Request) -> Response:
    service = get_portal(request).catalogue.get(service_code)
    if service is None:
        return error_page(request, 404, "page.not_found.title", "page.not_found.service")
    return form_page(request, service, forms.Values())


def submit_command(
    service: Service, checked: forms.Checked, token: str | None
) -> domain.SubmitRequest:  # the native API's submit_request, for the portal channel
    body = checked.request
    assert body is not None
    return domain.SubmitRequest(
        service_code=service.code,
        service_name=service.name,
        description=body.description,
        location=Location(**body.location.model_dump()),
        resident=Resident(**body.resident.model_dump()),
        channel=PORTAL_CHANNEL,
        channel_kind="web",
        on_behalf=False,
        attributes=checked.answers,
        public_details=service.public_details,
        api="portal",
        idempotency_key=token,
        fingerprint=fingerprint("portal", body.model_dump(mode="json")) if token else None,
    )


@router.post("/request/{service_code}")
@guarded
async def submit(service_code: str, request: Request) -> Response:
    portal = get_portal(request)
    service = portal.catalogue.get(service_code)
    if service is None:
        return error_page(request, 404, "page.not_found.title", "page.not_found.service")
    await limit_address(request)
    values = forms.Values.of(await request.form())
    checked = forms.check(forms.request_body(values, service, portal.settings.timezone), service)
    if not checked.ok:
        # The form again with every problem at its field; nothing is stored. 200: the page is the answer
        # (the native API answers 422 to the same mistakes).
        return form_page(request, service, values, problems=checked.problems)
    channel = await get_store(request).get_channel(PORTAL_CHANNEL)
    if channel is None or not channel.get("active"):
        return form_page(request, service, values, notice="form.closed", status=503)
    settings = portal.settings
    await get_limiter(request).hit("key", PORTAL_CHANNEL, settings.rate_limit_per_key, "through the portal")
    # The form's one-time token doubles as the Idempotency-Key: a double click or a re-sent form files once.
    token = values.one("submission")
    command = submit_command(service, checked, token if forms.SUBMISSION_TOKEN.match(token) else None)
    desk: Desk = request.app.state.desk
    try:
        submitted = await desk.submit(command)
    except IdempotencyConflict:
        return form_page(request, service, values, notice="form.conflict")
    except Busy:
        return form_page(request, service, values, notice="form.busy", status=503)
    return RedirectResponse(f"/track/{submitted.document['tracking_code']}?new=1", status_code=303)


# -- tracking ---------------------------------------------------------------------------------------------


async def _request_by_code(request: Request, code: str) -> dict[str, Any] | None:
    normalized = normalize_tracking_code(code)
    return await get_store(request).by_tracking_code(normalized) if normalized else None


def not_found(request: Request, code: str) -> Response:
    return page(request, "not_found.html", status=404, code=code[:40])


@router.get("/track/{code}")
@guarded
async def track(code: str, request: Request) -> Response:
    await limit_address(request)
    doc = await _request_by_code(request, code)
    if doc is None:
        return not_found(request, code)
    if doc["tracking_code"] != code:
        return RedirectResponse(f"/track/{doc['tracking_code']}", status_code=303)
    portal = get_portal(request)
    lang = page_language(request)
    view = domain.track_view(doc, lang)
    flags = request.query_params
    return page(
        request,
        "track.html",
        view=view,
        steps=present.steps(view["status"]),
        timeline=present.timeline(view["timeline"], set(portal.messages.messages)),
        just_submitted=flags.get("new") == "1",
        just_cancelled=flags.get("cancelled") == "1",
        inbox_url=f"{portal.notify_url}/v1/inbox/{doc['tracking_code']}?allow_empty=true",
        timezone=portal.settings.timezone,
    )


# -- cancelling -------------------------------------------------------------------------------------------


@router.get("/cancel/{code}")
@guarded
async def cancel_form(code: str, request: Request) -> Response:
    await limit_address(request)
    doc = await _request_by_code(request, code)
    if doc is None:
        return not_found(request, code)
    return page(request, "cancel.html", view=domain.track_view(doc, page_language(request)), reason="", error=None)


@router.post("/cancel/{code}")
@guarded
async def cancel(code: str, request: Request) -> Response:
    await limit_address(request)
    doc = await _request_by_code(request, code)
    if doc is None:
        return not_found(request, code)
    values = forms.Values.of(await request.form())
    reason = values.one("reason")
    lang = page_language(request)
    problems = small_form_problems(CancelIn, {"tracking_code": doc["tracking_code"], "reason": reason or None})
    if problems:
        view = domain.track_view(doc, lang)
        return page(request, "cancel.html", view=view, reason=reason, error=problems.get("reason"))
    desk: Desk = request.app.state.desk
    try:
        await desk.cancel(doc["_id"], doc["tracking_code"], reason or None)
    except UnknownRequest:  # pragma: no cover - found a moment ago, and requests are never deleted
        return not_found(request, code)
    except domain.NotCancellable:
        fresh = await get_store(request).by_id(doc["_id"]) or doc
        return page(request, "cancel.html", view=domain.track_view(fresh, lang), reason=reason, error=None)
    except Busy:
        return error_page(request, 503, "page.unavailable.title", "page.unavailable.text")
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
    view = domain.track_view(doc, page_language(request))
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
    await limit_address(request)
    doc = await _request_by_code(request, code)
    if doc is None:
        return not_found(request, code)
    return feedback_page(request, doc)


@router.post("/feedback/{code}")
@guarded
async def feedback(code: str, request: Request) -> Response:
    await limit_address(request)
    doc = await _request_by_code(request, code)
    if doc is None:
        return not_found(request, code)
    values = forms.Values.of(await request.form())
    rating, comment = values.one("rating"), values.one("comment")
    errors = small_form_problems(FeedbackIn, {"rating": rating, "comment": comment or None})
    if errors:
        return feedback_page(request, doc, rating=rating, comment=comment, errors=errors)
    desk: Desk = request.app.state.desk
    try:
        after = await desk.feedback(doc["tracking_code"], rating, comment or None)
    except UnknownRequest:  # pragma: no cover - found a moment ago, and requests are never deleted
        return not_found(request, code)
    except domain.FeedbackNotOpen:
        # Not resolved (any more), or this resolution was rated meanwhile: the page says which.
        return feedback_page(request, await get_store(request).by_id(doc["_id"]) or doc, rating=rating, comment=comment)
    except Busy:
        return error_page(request, 503, "page.unavailable.title", "page.unavailable.text")
    return RedirectResponse(f"/feedback/{after['tracking_code']}?thanks=1", status_code=303)
