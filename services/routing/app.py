"""routing's composition root: settings, clients, routers, consumers, relay, lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI, Request

from services.routing import api
from services.routing.config import RoutingSettings
from services.routing.handlers import RequestSubmittedHandler
from services.routing.store import RoutingStore
from services.routing.teams import load_directory
from shared.http import install_common, install_field_errors
from shared.logs import configure_logging
from shared.outbox import utcnow
from shared.runtime import Infrastructure

SERVICE = "routing"


def create_app(settings: RoutingSettings | None = None, clock: Callable[[], datetime] = utcnow) -> FastAPI:
    settings = settings or RoutingSettings()
    configure_logging(SERVICE, settings.log_level, settings.log_json)
    directory = load_directory(settings.teams_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        infra = await Infrastructure.open(settings, SERVICE, clock=clock)
        try:
            store = RoutingStore(infra.db, infra.writer)
            await store.ensure_indexes()
            relay = infra.relay([store.tasks], clock=clock)
            app.state.infra, app.state.store, app.state.relay = infra, store, relay
            await infra.bus.subscribe(
                settings.queue("routing.request-events"),
                {"request.submitted": RequestSubmittedHandler(store, relay, directory, clock)},
            )
            relay.start()
            yield
        finally:
            await infra.close()

    app = FastAPI(
        title="Huiying routing",
        version="0.1.0",
        description="Assigns requests to teams and runs the work-order lifecycle.",
        lifespan=lifespan,
    )
    app.state.settings, app.state.directory, app.state.clock = settings, directory, clock

    async def readiness(request: Request) -> dict[str, bool]:
        infra: Infrastructure = request.app.state.infra
        return await infra.readiness()

    install_common(app, SERVICE, readiness)
    install_field_errors(app)
    app.include_router(api.router)
    return app
