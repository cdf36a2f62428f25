"""Error answers. The native API keeps the house shape (`{"error", "message", "fields"}`); everything under
/open311 answers the spec's body (a list of `{code, description}`, XML or JSON by the extension) with 403
for a bad key, 404 for an unknown id or code and 400 for anything else, including schema errors.

The service's and the domain's exceptions are mapped here, once for each front door: routes let them
through (the portal's pages catch them and answer a page instead).
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from pymongo.errors import PyMongoError
from starlette.exceptions import HTTPException
from starlette.types import Scope

from services.intake.api.open311.errors import Open311Error, open311_problem
from services.intake.api.open311.formats import errors_response
from services.intake.domain.additions import NotOpen
from services.intake.domain.emergency import Decision, EmergencySuspected
from services.intake.domain.photos import AdditionRefused, PhotoRefused
from services.intake.domain.request import FeedbackNotOpen, NotCancellable
from services.intake.domain.submission import DraftRefused, UnknownService
from services.intake.service import Busy, ChannelExists, IdempotencyConflict, UnknownChannel, UnknownRequest
from shared.http import FieldError, field_name, validation_error_body

log = structlog.get_logger("huiying.intake")

OPEN311_PREFIX = "/open311/"

SLUGS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "unavailable",
}


class EmergencyReferralOut(BaseModel):
    """Why a request was not filed: triage heard an emergency (docs/intake.md, "Emergencies")."""

    rule: str = Field(description="the triage rule that decided, e.g. gas_leak")
    call: str = Field(description="the number to call now: 119, 120 or 110")
    reason: dict[str, str] = Field(description="the plain reason, by language (zh-CN, en)")
    advice: dict[str, str] = Field(description="what to do while waiting, by language")
    overridable: bool = Field(description="whether confirm_not_emergency=true files it anyway")


class FieldOut(BaseModel):
    field: str
    message: str
    type: str | None = None


class ErrorOut(BaseModel):
    """The native API's error body."""

    error: str
    message: str
    fields: list[FieldOut] = []
    referral: EmergencyReferralOut | None = Field(None, description="an emergency referral (422 emergency_referral)")


def native_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the native API's error answers (the default 422 schema is replaced)."""
    meaning = {
        400: "the body could not be read (not UTF-8 / not JSON)",
        401: "no credentials",
        403: "credentials refused",
        404: "not found",
        409: "conflict with the current state",
        413: "body too large",
        422: "invalid input: every wrong field is named with the fix; or emergency_referral (see referral)",
        429: "rate limited; see Retry-After",
        503: "busy; retry after Retry-After",
    }
    return {s: {"model": ErrorOut, "description": meaning[s]} for s in statuses}


class FieldErrors(FieldError):
    """Several fields wrong at once (e.g. answers to a kind's questions): every one is named, 422."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(problems[0][0], problems[0][1])
        self.problems = problems


def safe(value: Any) -> Any:
    """Text that can be encoded: a lone surrogate in a JSON key must not turn an error into a 500."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {safe(k): safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [safe(v) for v in value]
    return value


def is_open311(path: str) -> bool:
    return path.startswith(OPEN311_PREFIX)


def http_error_response(path: str, exc: HTTPException) -> Response:
    headers = dict(exc.headers or {})
    detail = safe(str(exc.detail))
    if is_open311(path):
        # Open311 knows 400, 403 and 404; other statuses (405, 413, 429) keep their HTTP meaning.
        status = 403 if exc.status_code == 401 else exc.status_code
        return errors_response(path, status, [detail], headers)
    body = {"error": SLUGS.get(exc.status_code, "error"), "message": detail, "fields": []}
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


def render_for_scope(scope: Scope, exc: HTTPException) -> Response:
    return http_error_response(scope.get("path", ""), exc)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        return http_error_response(request.url.path, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = list(exc.errors())
        if is_open311(request.url.path):
            descriptions = [f"{field_name(e.get('loc', ()))}: {e.get('msg', 'invalid value')}" for e in errors]
            return errors_response(request.url.path, 400, safe(descriptions))
        return JSONResponse(safe(validation_error_body(errors)), status_code=422)

    @app.exception_handler(PyMongoError)
    async def _database(request: Request, exc: PyMongoError) -> Response:
        # An operator's problem, not the client's: say so and invite a retry instead of a bare 500.
        log.warning("database unavailable", error=f"{type(exc).__name__}: {exc}"[:300], path=request.url.path)
        message = "the service is temporarily unavailable (database); try again shortly"
        if is_open311(request.url.path):  # GeoReport v2: "400 - General Service Error (eg CRM is down)"
            return errors_response(request.url.path, 400, [message], {"Retry-After": "5"})
        body = {"error": "unavailable", "message": message, "fields": []}
        return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(FieldErrors)
    async def _fields(_request: Request, exc: FieldErrors) -> Response:
        return field_errors_response(exc.problems)

    @app.exception_handler(Open311Error)
    async def _open311(request: Request, exc: Open311Error) -> Response:
        return errors_response(request.url.path, exc.status_code, safe(exc.descriptions))

    @app.exception_handler(EmergencySuspected)
    async def _emergency(request: Request, exc: EmergencySuspected) -> Response:
        decision, path = exc.decision, request.url.path
        log.info("emergency referral answered", rule=decision.rule, path=path)
        if is_open311(path):
            return errors_response(path, 400, [f"emergency_referral: {emergency_message(decision, '=')}"])
        body = {
            "error": "emergency_referral",
            "message": emergency_message(decision, ": "),
            "fields": [
                {
                    "field": "confirm_not_emergency" if decision.overridable else "service_code",
                    "message": f"rule {decision.rule}: call {decision.call} now",
                    "type": "emergency_referral",
                }
            ],
            "referral": {
                "rule": decision.rule,
                "call": decision.call,
                "reason": dict(decision.reason),
                "advice": dict(decision.advice),
                "overridable": decision.overridable,
            },
        }
        return JSONResponse(safe(body), status_code=422)

    async def _refused(request: Request, exc: Exception) -> Response:
        path = request.url.path
        if is_open311(path):
            answer = open311_error(exc)
            return errors_response(path, answer.status_code, safe(answer.descriptions))
        native = native_error(exc)
        if isinstance(native, FieldErrors):
            return field_errors_response(native.problems)
        return http_error_response(path, native)

    for refusal in REFUSALS:
        app.add_exception_handler(refusal, _refused)


def emergency_message(decision: Decision, assign: str) -> str:
    """The referral in one sentence for an API client: the rule, the number, and how to file anyway."""
    said = f"this sounds like an emergency (rule {decision.rule}: {decision.reason.get('en', decision.rule)}); "
    said += f"nothing was filed. Call {decision.call} now. "
    if decision.overridable:
        return said + f"If it is not an emergency, send the same request again with confirm_not_emergency{assign}true"
    return said + "The emergency service only refers; for a routine request choose another service_code"


def field_errors_response(problems: list[tuple[str, str]]) -> Response:
    fields = [{"field": f, "message": m, "type": "value_error"} for f, m in problems]
    message = "; ".join(f"{f}: {m}" for f, m in problems)
    body = {"error": "validation_error", "message": message, "fields": fields}
    return JSONResponse(safe(body), status_code=422)


# -- the service's and the domain's refusals ------------------------------------------------------------

REFUSALS: tuple[type[Exception], ...] = (
    UnknownService,
    DraftRefused,
    IdempotencyConflict,
    Busy,
    UnknownRequest,
    NotCancellable,
    FeedbackNotOpen,
    UnknownChannel,
    # photos and additions
    PhotoRefused,
    AdditionRefused,
    NotOpen,
)
RETRY = {"Retry-After": "1"}


def native_error(exc: Exception) -> HTTPException | FieldErrors:
    """A refusal as the native API answers it."""
    match exc:
        case UnknownService(code=code):
            return FieldErrors([("service_code", f"unknown service code {code!r}; choose one from GET /v1/services")])
        case DraftRefused(problems=problems):
            return FieldErrors([(p.field, p.message) for p in problems])
        case IdempotencyConflict():
            return HTTPException(
                409, "this Idempotency-Key was used with a different body; use a new key for a new request"
            )
        case Busy():
            return HTTPException(503, str(exc), headers=RETRY)
        case UnknownRequest():
            return HTTPException(404, str(exc))
        case NotCancellable(status=status):
            return HTTPException(409, f"the request is {status} and can no longer be cancelled")
        case FeedbackNotOpen(already_given=True):
            return HTTPException(409, "feedback on this resolution was already received; thank you")
        case FeedbackNotOpen(status=status):
            return HTTPException(409, f"feedback is taken once the request is resolved; it is {status} now")
        case ChannelExists(channel_id=channel_id):
            return HTTPException(409, f"channel {channel_id!r} exists; rotate its key or choose another id")
        case UnknownChannel(channel_id=channel_id):
            return HTTPException(404, f"no channel {channel_id!r}; GET /v1/admin/channels lists them")
        # photos and additions
        case PhotoRefused(field=field, message=message) | AdditionRefused(field=field, message=message):
            return FieldErrors([(field, message)])
        case NotOpen(status=status):
            return HTTPException(
                409, f"the request is {status}: nothing can be added any more; file a new request (or rate it)"
            )
    raise exc  # pragma: no cover - REFUSALS lists what is handled


def open311_error(exc: Exception) -> Open311Error:
    """A refusal as Open311 answers it: 404 for an unknown code, 400 for the rest."""
    match exc:
        case UnknownService(code=code):
            return Open311Error(404, f"service_code {code!r} not found; GET services lists the codes")
        case DraftRefused(problems=problems):
            return Open311Error(400, *(open311_problem(p) for p in problems))
        case IdempotencyConflict():
            return Open311Error(400, "this Idempotency-Key was used with a different body; use a new key")
    native = native_error(exc)
    if isinstance(native, FieldErrors):  # pragma: no cover - both are matched above
        return Open311Error(400, *(f"{f}: {m}" for f, m in native.problems))
    return Open311Error(400 if native.status_code >= 500 else native.status_code, str(native.detail))
