"""intake's composition root: settings, clients, routers, consumers, relay, lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI, Request

from services.intake import api
from services.intake.catalogue import load_catalogue
from services.intake.config import IntakeSettings
from services.intake.handlers import TaskEventsHandler
from services.intake.store import IntakeStore
from shared.http import install_common, install_field_errors
from shared.logs import configure_logging
from shared.outbox import utcnow
from shared.runtime import Infrastructure

SERVICE = "intake"


def create_app(settings: IntakeSettings | None = None, clock: Callable[[], datetime] = utcnow) -> FastAPI:
    settings = settings or IntakeSettings()
    configure_logging(SERVICE, settings.log_level, settings.log_json)
    catalogue = load_catalogue(settings.catalogue_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        infra = await Infrastructure.open(settings, SERVICE, clock=clock)
        try:
            store = IntakeStore(infra.db, infra.writer)
            await store.ensure_indexes()
            if settings.is_dev:
                await store.seed_channel("web", "web", settings.dev_web_key, clock())
            relay = infra.relay([store.requests], clock=clock)
            app.state.infra, app.state.store, app.state.relay = infra, store, relay
            await infra.bus.subscribe(settings.queue("intake.task-events"), {"task.*": TaskEventsHandler(store)})
            relay.start()
            yield
        finally:
            await infra.close()

    app = FastAPI(
        title="Huiying intake",
        version="0.1.0",
        description="The resident-facing desk: submit a request, follow it with its tracking code.",
        lifespan=lifespan,
    )
    app.state.settings, app.state.catalogue, app.state.clock = settings, catalogue, clock

    async def readiness(request: Request) -> dict[str, bool]:
        infra: Infrastructure = request.app.state.infra
        return await infra.readiness()

    install_common(app, SERVICE, readiness)
    install_field_errors(app)
    app.include_router(api.router)
    return app
