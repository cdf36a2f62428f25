"""intake's composition root: settings, clients, routers, consumers, relay, limits, lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI

from services.intake import api, channels, open311, web
from services.intake.catalogue import load_catalogue
from services.intake.config import IntakeSettings
from services.intake.desk import Desk
from services.intake.errors import install_error_handlers, render_for_scope
from services.intake.handlers import TaskEventsHandler
from services.intake.limits import BodySizeLimit, RateLimiter
from services.intake.store import IntakeStore
from services.intake.triage import Triage
from shared.http import create_service_app
from shared.logs import configure_logging
from shared.outbox import utcnow
from shared.runtime import Infrastructure

SERVICE = "intake"


def create_app(settings: IntakeSettings | None = None, clock: Callable[[], datetime] = utcnow) -> FastAPI:
    settings = settings or IntakeSettings()
    configure_logging(SERVICE, settings.log_level, settings.log_json)
    catalogue = load_catalogue(settings.catalogue_path)
    triage = Triage(catalogue)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        infra = await Infrastructure.open(settings, SERVICE, clock=clock)
        try:
            store = IntakeStore(infra.db, infra.writer)
            await store.ensure_indexes()
            if settings.is_dev:
                await store.seed_channel("web", "web", settings.dev_web_key, clock())
            await web.ensure_portal_channel(store, clock())
            relay = infra.relay([store.requests], clock=clock)
            app.state.infra, app.state.store, app.state.relay = infra, store, relay
            app.state.desk = Desk(store, relay, triage, clock)
            app.state.limiter = RateLimiter(store, clock, settings.rate_limit_window_s)
            await infra.bus.subscribe(settings.queue("intake.task-events"), {"task.*": TaskEventsHandler(store)})
            relay.start()
            yield
        finally:
            await infra.close()

    app = create_service_app(
        service=SERVICE,
        settings=settings,
        clock=clock,
        lifespan=lifespan,
        title="Huiying intake",
        description=(
            "The resident-facing desk: submit a request (native API or Open311 GeoReport v2), follow it with its "
            "tracking code, cancel it, rate the outcome. Channels (front ends) are managed under /v1/admin."
        ),
    )
    app.state.catalogue = catalogue
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, render=render_for_scope)
    app.include_router(api.router)
    app.include_router(channels.router)
    app.include_router(open311.build_router(catalogue))
    web.install(app, settings, catalogue)  # the resident portal at / (HTML, not in the OpenAPI document)
    return app
