"""HTTP pieces every service shares: /healthz, /readyz, /metrics, correlation ids, error bodies."""

from __future__ import annotations

import hmac
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol

import structlog
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.charset import CharsetMiddleware, Render
from shared.metrics import HTTP_REQUESTS, HTTP_SECONDS

log = structlog.get_logger("huiying.http")

CORRELATION_HEADER = "x-correlation-id"


class ObservabilityMiddleware:
    """Binds a correlation id to the logs of each request and records Prometheus metrics."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(CORRELATION_HEADER.encode(), b"").decode("latin-1")[:100]
        correlation_id = incoming or uuid.uuid4().hex
        structlog.contextvars.bind_contextvars(correlation_id=correlation_id)
        status = 500
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (CORRELATION_HEADER.encode(), correlation_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            HTTP_REQUESTS.labels(self.service, scope["method"], path, str(status)).inc()
            HTTP_SECONDS.labels(self.service, scope["method"], path).observe(time.perf_counter() - started)
            structlog.contextvars.unbind_contextvars("correlation_id")


def field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts) or "body"


def validation_error_body(errors: list[dict[str, Any]]) -> dict[str, Any]:
    fields = []
    for err in errors:
        name = field_name(err.get("loc", ()))
        msg = err.get("msg", "invalid value")
        if err.get("type") == "extra_forbidden":
            msg = f"unknown field; remove `{name}` (see the API docs at /docs for the accepted fields)"
        elif err.get("type") == "missing":
            msg = f"required; add `{name}`"
        fields.append({"field": name, "message": msg, "type": err.get("type")})
    message = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return {"error": "validation_error", "message": message, "fields": fields}


def install_common(app: FastAPI, service: str, readiness: Callable[[Request], Awaitable[dict[str, bool]]]) -> None:
    app.add_middleware(ObservabilityMiddleware, service=service)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_error_body(list(exc.errors())), status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", error=type(exc).__name__)
        return JSONResponse({"error": "internal_error", "message": "internal error; it has been logged"}, 500)

    @app.get("/healthz", tags=["ops"], summary="Alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @app.get("/readyz", tags=["ops"], summary="Broker and database reachable")
    async def readyz(request: Request) -> JSONResponse:
        try:
            checks = await readiness(request)
        except Exception:
            checks = {"database": False, "broker": False}
        ok = all(checks.values())
        return JSONResponse({"status": "ready" if ok else "not_ready", "checks": checks}, 200 if ok else 503)

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics", response_class=PlainTextResponse)
    async def metrics(request: Request) -> Response:
        settings = getattr(request.app.state, "settings", None)
        if settings is not None and not metrics_allowed(settings, request.headers.get("authorization")):
            return JSONResponse({"error": "not_found", "message": "not found"}, 404)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def metrics_allowed(settings: Any, authorization: str | None) -> bool:
    """/metrics is open in dev; in prod it needs `Authorization: Bearer <HUIYING_METRICS_TOKEN>`, or
    HUIYING_METRICS_PUBLIC=true for a deployment whose network already keeps it internal."""
    token: str = settings.metrics_token
    if token:
        given = (authorization or "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), token.encode())
    return bool(settings.is_dev or settings.metrics_public)


class FieldError(Exception):
    """A user mistake about one field: answered 422 in the same shape as schema validation errors."""

    def __init__(self, field: str, message: str, status_code: int = 422) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.status_code = status_code


def install_field_errors(app: FastAPI) -> None:
    @app.exception_handler(FieldError)
    async def _field_error(_request: Request, exc: FieldError) -> JSONResponse:
        body = {
            "error": "validation_error",
            "message": f"{exc.field}: {exc.message}",
            "fields": [{"field": exc.field, "message": exc.message, "type": "value_error"}],
        }
        return JSONResponse(body, status_code=exc.status_code)


def create_service_app(
    service: str,
    settings: Any,
    clock: Callable[[], Any],
    lifespan: Any,
    title: str,
    description: str,
    *,
    version: str = "0.2.0",
    render_bad_encoding: Render | None = None,
) -> FastAPI:
    """The FastAPI app every service starts from: settings and clock on `app.state`, /healthz, /readyz
    (from `app.state.container`, the service's bootstrap container, set by its lifespan), /metrics,
    correlation ids, error bodies."""
    if settings.docs_public:
        # Swagger UI and ReDoc served from the package's own files: /docs works with no internet.
        app = FastAPIOffline(
            title=title, version=version, description=description, lifespan=lifespan, static_url="/docs-assets"
        )
    else:
        app = FastAPI(
            title=title,
            version=version,
            description=description,
            lifespan=lifespan,
            docs_url=None,
            redoc_url=None,
            openapi_url=None,
        )
    app.state.settings, app.state.clock = settings, clock

    async def readiness(request: Request) -> dict[str, bool]:
        checks: dict[str, bool] = await request.app.state.container.readiness()
        return checks

    install_common(app, service, readiness)
    install_field_errors(app)
    # Bodies in any charset a client names (or raw UTF-8 in a form) reach the routes as UTF-8.
    app.add_middleware(CharsetMiddleware, **({"render": render_bad_encoding} if render_bad_encoding else {}))
    return app


def _declared_query(dependant: Any) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _declared_query(sub)
    return names


async def no_unknown_query(request: Request) -> None:
    """A route dependency: a query parameter the route does not declare answers 400 naming it, instead of
    being ignored (a client filtering by `q=` or `updated_after=` must not get the unfiltered list)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    unknown = sorted(set(request.query_params) - _declared_query(dependant))
    if unknown:
        accepted = ", ".join(sorted(_declared_query(dependant))) or "none"
        raise HTTPException(
            400, f"unsupported query parameter(s): {', '.join(unknown)}; this endpoint accepts: {accepted}"
        )


NoUnknownQuery = Depends(no_unknown_query)


class ServiceContainer(Protocol):
    """What a service's bootstrap returns, as far as the app is concerned."""

    async def start(self) -> None: ...

    async def readiness(self) -> dict[str, bool]: ...

    async def close(self) -> None: ...


def container_lifespan(build: Callable[[], Awaitable[ServiceContainer]]) -> Any:
    """The lifespan every service uses: build the container once, park it on `app.state.container`,
    start it, and close it on the way out."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container = await build()
        app.state.container = container
        try:
            await container.start()
            yield
        finally:
            await container.close()

    return lifespan
