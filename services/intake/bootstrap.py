"""intake's composition root: opens the database and the broker, builds the store, the relay, the service,
the rate limiter, the event handlers and the portal's templates once, and returns them in one Container.

The app (services/intake/app.py) calls `bootstrap` in its lifespan; the API and the pages read the container
through `api/deps.get_container`. Fast tests build an `IntakeService` on in-memory fakes instead.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from fastapi.templating import Jinja2Templates
from pymongo.errors import PyMongoError

from services.intake.admission import Admission
from services.intake.config import PORTAL_TEMPLATES, IntakeConfig, IntakeSettings
from services.intake.handlers import TaskEventsHandler
from services.intake.limits import SharedWindows
from services.intake.service import IntakeService
from services.intake.store import MongoIntakeStore
from shared.bus import Handler
from shared.loop import PeriodicLoop
from shared.outbox import OutboxRelay
from shared.runtime import Infrastructure
from shared.web import make_templates

SERVICE = "intake"
QUEUE = "intake.task-events"  # routing's task.* events, for the status view
Clock = Callable[[], datetime]


@dataclass
class Container:
    settings: IntakeSettings
    clock: Clock
    config: IntakeConfig
    infra: Infrastructure
    store: MongoIntakeStore
    relay: OutboxRelay
    service: IntakeService
    limiter: SharedWindows
    handlers: Mapping[str, Handler]  # routing key -> handler, on intake's queue
    templates: Jinja2Templates  # the portal's pages (services/intake/web/templates)
    loops: tuple[PeriodicLoop, ...] = ()  # the channel-key refresh and the rate-window flush

    async def start(self) -> None:
        await self.infra.bus.subscribe(self.settings.queue(QUEUE), self.handlers)
        self.relay.start()
        for loop in self.loops:
            loop.start()

    async def readiness(self) -> dict[str, bool]:
        return await self.infra.readiness()

    async def close(self) -> None:
        for loop in self.loops:
            await loop.stop()
        with contextlib.suppress(PyMongoError):  # the database went first; the counts only matter for a minute
            await self.limiter.flush()
        await self.relay.stop()
        await self.infra.close()


async def bootstrap(settings: IntakeSettings, config: IntakeConfig, clock: Clock) -> Container:
    infra = await Infrastructure.open(settings, SERVICE, clock=clock)
    try:
        store = MongoIntakeStore(infra.db, infra.writer)
        await store.ensure_indexes()
        now = clock()
        if settings.is_dev:
            await store.seed_channel("web", "web", settings.dev_web_key, now)
        await store.ensure_portal_channel(secrets.token_urlsafe(32), now)
        relay = infra.relay([store.requests], clock=clock)
        admission = Admission(settings.max_inflight_writes, settings.db_slow_ms / 1000, lambda: infra.commands.recent_s)
        service = IntakeService(store, relay.publisher(store.requests), config.triage, clock, admission=admission)
        await service.refresh_keys()
        limiter = SharedWindows(store.rate_windows, clock, settings.rate_limit_window_s)
        return Container(
            settings=settings,
            clock=clock,
            config=config,
            infra=infra,
            store=store,
            relay=relay,
            service=service,
            limiter=limiter,
            handlers={"task.*": TaskEventsHandler(service)},
            templates=make_templates(PORTAL_TEMPLATES, config.messages),
            loops=(
                PeriodicLoop("channel-keys", service.refresh_keys, settings.channel_cache_s),
                PeriodicLoop("rate-windows", limiter.flush, settings.rate_limit_flush_s),
            ),
        )
    except BaseException:
        await infra.close()
        raise
