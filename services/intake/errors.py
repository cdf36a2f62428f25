"""Error answers. The native API keeps the house shape (`{"error", "message", "fields"}`); everything under
/open311 answers the spec's body (a list of `{code, description}`, XML or JSON by the extension) with 403
for a bad key, 404 for an unknown id or code and 400 for anything else, including schema errors.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from pymongo.errors import PyMongoError
from starlette.exceptions import HTTPException
from starlette.types import Scope

from services.intake.open311_format import errors_response
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


class FieldOut(BaseModel):
    field: str
    message: str
    type: str | None = None


class ErrorOut(BaseModel):
    """The native API's error body."""

    error: str
    message: str
    fields: list[FieldOut] = []


def native_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the native API's error answers (the default 422 schema is replaced)."""
    meaning = {
        400: "the body could not be read (not UTF-8 / not JSON)",
        401: "no credentials",
        403: "credentials refused",
        404: "not found",
        409: "conflict with the current state",
        413: "body too large",
        422: "invalid input: every wrong field is named with the fix",
        429: "rate limited; see Retry-After",
        503: "busy; retry after Retry-After",
    }
    return {s: {"model": ErrorOut, "description": meaning[s]} for s in statuses}


class FieldErrors(FieldError):
    """Several fields wrong at once (e.g. answers to a kind's questions): every one is named, 422."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(problems[0][0], problems[0][1])
        self.problems = problems


class Open311Error(Exception):
    def __init__(self, status_code: int, *descriptions: str) -> None:
        super().__init__("; ".join(descriptions))
        self.status_code = status_code
        self.descriptions = list(descriptions)


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
        fields = [{"field": f, "message": m, "type": "value_error"} for f, m in exc.problems]
        message = "; ".join(f"{f}: {m}" for f, m in exc.problems)
        body = {"error": "validation_error", "message": message, "fields": fields}
        return JSONResponse(safe(body), status_code=422)

    @app.exception_handler(Open311Error)
    async def _open311(request: Request, exc: Open311Error) -> Response:
        return errors_response(request.url.path, exc.status_code, safe(exc.descriptions))
