"""notify's FastAPI app: configuration read once, the container built in the lifespan (bootstrap.py),
CORS for the resident portal, and the API routers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from services.notify.api import routers
from services.notify.api.errors import install_error_handlers
from services.notify.bootstrap import bootstrap
from services.notify.config import SERVICE, NotifySettings, load_config
from shared.http import NoUnknownQuery, container_lifespan, create_service_app
from shared.logs import configure_logging
from shared.outbox import utcnow

TITLE = "Huiying notify"
ABOUT = "Tells residents about every step of their request: inbox, email, SMS and signed webhooks."


def create_app(settings: NotifySettings | None = None, clock: Callable[[], datetime] = utcnow) -> FastAPI:
    settings = settings or NotifySettings()
    configure_logging(SERVICE, settings.log_level, settings.log_json)
    config = load_config(settings)  # a broken template or SMTP URL stops start-up here, with one line

    lifespan = container_lifespan(lambda: bootstrap(settings, config, clock))
    app = create_service_app(
        SERVICE,
        settings,
        clock,
        lifespan,
        TITLE,
        ABOUT,
    )
    # The resident portal (intake's origin) reads the inbox from the browser: GET only, no credentials.
    app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET"], max_age=600)
    install_error_handlers(app)
    for router in routers:
        app.include_router(router, dependencies=[NoUnknownQuery])  # unknown query parameters: 400
    return app
