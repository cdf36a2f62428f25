"""routing's composition root: settings, config files, clients, routers, consumers, relay, sweeper, lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.routing import console
from services.routing.api import routers
from services.routing.calendar import WorkingCalendar, load_calendar
from services.routing.config import RoutingSettings
from services.routing.domain import Conflict, Forbidden, IllegalTransition, Invalid, NotVisible
from services.routing.handlers import REQUEST_EVENTS, RequestEventsHandler
from services.routing.rules import load_rules
from services.routing.rulestore import RuleStore
from services.routing.service import LostRace, RoutingService
from services.routing.sla import SlaPolicy, load_policy
from services.routing.staff import StaffStore
from services.routing.store import RoutingStore
from services.routing.sweeper import SlaSweeper
from services.routing.teams import Directory, load_directory
from services.routing.workqueue import WORK_EVENTS, WorkItemPublisher
from shared.http import create_service_app
from shared.logs import configure_logging
from shared.outbox import OutboxRelay, utcnow
from shared.runtime import Infrastructure

SERVICE = "routing"
log = structlog.get_logger("huiying.routing")


class ConfigError(RuntimeError):
    """A config file is wrong: one line naming the file and the problem."""


def load_config(settings: RoutingSettings) -> tuple[Directory, WorkingCalendar, SlaPolicy]:
    def load(path: object, loader: Callable[[], object]) -> object:
        try:
            return loader()
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: {exc}".replace("\n", " ")) from exc

    directory = load(settings.teams_path, lambda: load_directory(settings.teams_path))
    calendar = load(
        settings.routing_calendar_path, lambda: load_calendar(settings.routing_calendar_path, settings.timezone)
    )
    policy = load(settings.routing_sla_path, lambda: load_policy(settings.routing_sla_path))
    rules = load(settings.routing_rules_path, lambda: load_rules(settings.routing_rules_path))
    assert isinstance(directory, Directory) and isinstance(calendar, WorkingCalendar)
    assert isinstance(policy, SlaPolicy)
    problems = rules.problems(directory)  # type: ignore[attr-defined]
    if problems:
        raise ConfigError(f"{settings.routing_rules_path}: " + "; ".join(f"{f}: {m}" for f, m in problems))
    return directory, calendar, policy


def build_service(
    settings: RoutingSettings,
    store: RoutingStore,
    relay: OutboxRelay,
    directory: Directory,
    clock: Callable[[], datetime],
) -> RoutingService:
    _, calendar, policy = load_config(settings)
    return RoutingService(
        store=store,
        staff=StaffStore(store.staff),
        rules=RuleStore(store.rulesets, load_rules(settings.routing_rules_path)),
        relay=relay,
        directory=directory,
        calendar=calendar,
        policy=policy,
        clock=clock,
    )


def _warn_about_the_calendar(calendar: WorkingCalendar, now: datetime) -> None:
    year = calendar.local_date(now).year
    if not any(d.year == year for d in calendar.holidays):
        log.warning("the working calendar lists no public holidays this year; add them", year=year)


def create_app(settings: RoutingSettings | None = None, clock: Callable[[], datetime] = utcnow) -> FastAPI:
    settings = settings or RoutingSettings()
    configure_logging(SERVICE, settings.log_level, settings.log_json)
    directory, calendar, _ = load_config(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        infra = await Infrastructure.open(settings, SERVICE, clock=clock)
        sweeper: SlaSweeper | None = None
        try:
            store = RoutingStore(infra.db, infra.writer)
            await store.ensure_indexes()
            relay = infra.relay([store.tasks], clock=clock)
            service = build_service(settings, store, relay, directory, clock)
            await service.staff.ensure_indexes()
            await service.rules.ensure_seeded(clock())
            if settings.is_dev and settings.routing_seed_dev_staff:
                created = await service.staff.seed_dev(directory, clock())
                if created:
                    log.info("seeded dev staff accounts (password dev-password)", count=created)
            _warn_about_the_calendar(calendar, clock())
            app.state.infra, app.state.store, app.state.relay = infra, store, relay
            app.state.service, app.state.staff_store = service, service.staff
            for team in directory.teams:
                await infra.bus.declare_work_queue(team.id)
            handler = RequestEventsHandler(service)
            await infra.bus.subscribe(settings.queue("routing.request-events"), dict.fromkeys(REQUEST_EVENTS, handler))
            publisher = WorkItemPublisher(store, infra.bus, {t.id for t in directory.teams})
            await infra.bus.subscribe(settings.queue("routing.work-items"), dict.fromkeys(WORK_EVENTS, publisher))
            relay.start()
            sweeper = SlaSweeper(service, settings.routing_sla_sweep_interval_s, settings.routing_sla_batch)
            app.state.sweeper = sweeper
            sweeper.start()
            yield
        finally:
            if sweeper is not None:
                await sweeper.stop()
            await infra.close()

    app = create_service_app(
        service=SERVICE,
        settings=settings,
        clock=clock,
        lifespan=lifespan,
        title="Huiying routing",
        description=(
            "Assigns requests to teams and runs the work-order lifecycle: staff sign-in, queues, task actions, "
            "SLA clocks and escalation, team work queues, rules and ledgers. See docs/routing.md."
        ),
    )
    app.state.directory = directory
    install_lifecycle_errors(app)
    for router in routers:
        app.include_router(router)
    console.install(app)  # the staff console and the ledger dashboard (HTML, not in the OpenAPI schema)
    return app


ERROR_NAMES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed", 409: "conflict"}


def install_lifecycle_errors(app: FastAPI) -> None:
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
        body = {
            "error": "validation_error",
            "message": f"{exc.field}: {exc.message}",
            "fields": [{"field": exc.field, "message": exc.message, "type": "value_error"}],
        }
        return JSONResponse(body, 422)
