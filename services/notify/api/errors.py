"""The service's errors as HTTP answers: `NotFound` is a 404 whose detail says what to check."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.notify.service import NotFound

# Answers every route can give, documented on each (app.include_router): clients and schemathesis know them.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "a query parameter this endpoint does not take"},
    413: {"description": "the body is larger than HUIYING_MAX_BODY_BYTES"},
    429: {"description": "too many requests from this address; see Retry-After"},
}


async def _not_found(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=404)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(NotFound, _not_found)
