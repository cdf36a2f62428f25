"""intake's FastAPI app: the configuration read once, a lifespan around the container (bootstrap.py), the
body-size limit, the error answers, the API routers and the resident portal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI

from services.intake import api, web
from services.intake.api.errors import install_error_handlers, render_for_scope
from services.intake.bootstrap import SERVICE, bootstrap
from services.intake.config import IntakeSettings, load_config
from services.intake.limits import BodySizeLimit
from shared.http import NoUnknownQuery, container_lifespan, create_service_app
from shared.logs import configure_logging
from shared.outbox import utcnow

TITLE = "Huiying intake"
ABOUT = (
    "The resident-facing desk: submit a request (native API or Open311 GeoReport v2), follow it with its "
    "tracking code, cancel it, rate the outcome. Channels (front ends) are managed under /v1/admin."
)


def create_app(settings: IntakeSettings | None = None, clock: Callable[[], datetime] = utcnow) -> FastAPI:
    settings = settings or IntakeSettings()
    configure_logging(SERVICE, settings.log_level, settings.log_json)
    config = load_config(settings)

    lifespan = container_lifespan(lambda: bootstrap(settings, config, clock))
    app = create_service_app(
        SERVICE,
        settings,
        clock,
        lifespan,
        TITLE,
        ABOUT,
        render_bad_encoding=render_for_scope,  # Open311 paths answer in the spec's error format
    )
    install_error_handlers(app)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        render=render_for_scope,
        multipart_max_bytes=settings.max_upload_bytes,  # photos (docs/intake.md, Photos)
    )
    for router in api.routers(config.catalogue):
        app.include_router(router, dependencies=[NoUnknownQuery])  # unknown query parameters: 400
    app.include_router(web.router)  # the resident portal at / (HTML, not in the OpenAPI document)
    web.mount_static(app)
    return app
