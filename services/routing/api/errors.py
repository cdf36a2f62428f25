"""The answers to the errors the service and the domain raise: 404, 403, 409, 422, in one shape
(`{error, message, ...}`) for every route."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.routing.domain.errors import Conflict, Forbidden, IllegalTransition, Invalid, NotVisible
from services.routing.service import LostRace
from shared.http import validation_error_body

ERROR_NAMES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed", 409: "conflict"}


class ErrorOut(BaseModel):
    """Every error answer: what went wrong (`error`) and what to do (`message`); some add more fields."""

    model_config = ConfigDict(extra="allow")
    error: str
    message: str


_ERRORS = {
    400: "an unknown query parameter",
    401: "no token, or one that is invalid, expired or issued before the account changed",
    403: "not allowed for this role or account (or a cookie write without its CSRF token)",
    404: "not found, or not one you may see",
    409: "the task is in a state that does not allow this",
    413: "the body is larger than HUIYING_MAX_BODY_BYTES",
    422: "a field is wrong: `fields` names each one",
    429: "too many requests from this address (or sign-in attempts); see Retry-After",
}
# Documented on every API route (app.include_router), so clients and schemathesis know every answer.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text} for code, text in _ERRORS.items()
}


def install_errors(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # One shape for every error: {error, message} (and FastAPI's usual `detail`).
        body = {"error": ERROR_NAMES.get(exc.status_code, "error"), "message": exc.detail, "detail": exc.detail}
        return JSONResponse(body, exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(NotVisible)
    async def _not_visible(_request: Request, exc: NotVisible) -> JSONResponse:
        # The same answer as for a task that does not exist: another team's work is not revealed.
        return JSONResponse({"error": "not_found", "message": f"no task {exc} (or not one you may see)"}, 404)

    @app.exception_handler(Forbidden)
    async def _forbidden(_request: Request, exc: Forbidden) -> JSONResponse:
        return JSONResponse({"error": "forbidden", "message": str(exc)}, 403)

    @app.exception_handler(IllegalTransition)
    async def _illegal(_request: Request, exc: IllegalTransition) -> JSONResponse:
        body = {
            "error": "illegal_transition",
            "message": str(exc),
            "action": exc.action,
            "status": exc.status,
            "allowed_actions": exc.allowed,
            "your_actions": exc.yours,
        }
        return JSONResponse(body, 409)

    @app.exception_handler(Conflict)
    async def _conflict(_request: Request, exc: Conflict) -> JSONResponse:
        body = {"error": "conflict", "message": str(exc), "allowed_actions": exc.allowed, "your_actions": exc.yours}
        return JSONResponse(body, 409)

    @app.exception_handler(LostRace)
    async def _lost(_request: Request, exc: LostRace) -> JSONResponse:
        return JSONResponse({"error": "conflict", "message": str(exc)}, 409)

    @app.exception_handler(Invalid)
    async def _invalid(_request: Request, exc: Invalid) -> JSONResponse:
        # The shape of a schema validation error, naming the field (each one, for unknown search parameters).
        names = getattr(exc, "names", None) or [exc.field]
        errors = [{"loc": (name,), "msg": exc.message, "type": "value_error"} for name in names]
        return JSONResponse(validation_error_body(errors), 422)
