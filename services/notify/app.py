"""notify's composition root: settings, clients, routers, consumers, lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI, Request

from services.notify import api
from services.notify.config import NotifySettings
from services.notify.handlers import NotifyHandler
from services.notify.store import NotifyStore
from services.notify.templates import Templates
from shared.http import install_common, install_field_errors
from shared.logs import configure_logging
from shared.outbox import utcnow
from shared.runtime import Infrastructure

SERVICE = "notify"


def create_app(settings: NotifySettings | None = None, clock: Callable[[], datetime] = utcnow) -> FastAPI:
    settings = settings or NotifySettings()
    configure_logging(SERVICE, settings.log_level, settings.log_json)
    templates = Templates.load(settings.templates_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        infra = await Infrastructure.open(settings, SERVICE, clock=clock)
        try:
            store = NotifyStore(infra.db)
            await store.ensure_indexes()
            app.state.infra, app.state.store = infra, store
            handler = NotifyHandler(
                store,
                templates,
                clock,
                track_base_url=f"{settings.public_url('intake')}/v1/track",
                tz=settings.timezone,
            )
            await infra.bus.subscribe(settings.queue("notify.events"), {"request.*": handler, "task.*": handler})
            yield
        finally:
            await infra.close()

    app = FastAPI(
        title="Huiying notify",
        version="0.1.0",
        description="Tells residents about every step of their request.",
        lifespan=lifespan,
    )
    app.state.settings, app.state.templates, app.state.clock = settings, templates, clock

    async def readiness(request: Request) -> dict[str, bool]:
        infra: Infrastructure = request.app.state.infra
        return await infra.readiness()

    install_common(app, SERVICE, readiness)
    install_field_errors(app)
    app.include_router(api.router)
    return app
