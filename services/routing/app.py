"""routing's FastAPI app: the config read once, a lifespan around the bootstrap container, the API and the
staff console."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from services.routing import api, web
from services.routing.api.errors import ERROR_RESPONSES, install_errors
from services.routing.bootstrap import SERVICE, bootstrap
from services.routing.config import RoutingSettings, load_config
from shared.http import NoUnknownQuery, container_lifespan, create_service_app
from shared.limits import AddressRateLimit, BodySizeLimit
from shared.logs import configure_logging
from shared.outbox import utcnow
from shared.web import mount_common_static

TITLE = "Huiying routing"
ABOUT = (
    "Assigns requests to teams and runs the work-order lifecycle: staff sign-in, queues, task actions, "
    "SLA clocks and escalation, team work queues, rules and ledgers. See docs/routing.md."
)


def create_app(settings: RoutingSettings | None = None, clock: Callable[[], datetime] = utcnow) -> FastAPI:
    settings = settings or RoutingSettings()
    configure_logging(SERVICE, settings.log_level, settings.log_json)
    config = load_config(settings)
    web.templates()  # a broken message catalogue stops routing at start, not at the first page

    lifespan = container_lifespan(lambda: bootstrap(settings, config, clock))
    app = create_service_app(
        SERVICE,
        settings,
        clock,
        lifespan,
        TITLE,
        ABOUT,
    )
    # Bodies over HUIYING_MAX_BODY_BYTES: 413 before parsing; HUIYING_RATE_LIMIT_PER_ADDRESS: 429.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(AddressRateLimit, limit=settings.rate_limit_per_address, trusted=settings.trusted_proxy_networks)
    install_errors(app)
    for router in api.routers:
        # unknown query parameters: 400; every error answer documented
        app.include_router(router, dependencies=[NoUnknownQuery], responses=ERROR_RESPONSES)
    for router in api.own_query_routers:  # GET /v1/search: unknown query parameters are 422, by its parser
        app.include_router(router, responses=ERROR_RESPONSES)
    # The staff console and the ledger dashboard (HTML, not in the OpenAPI schema). The static mount comes
    # before the pages' catch-all 404 under /console/.
    app.mount("/console/static", StaticFiles(directory=str(web.STATIC)), name="console-static")
    mount_common_static(app)
    for router in web.routers:
        app.include_router(router)
    return app
