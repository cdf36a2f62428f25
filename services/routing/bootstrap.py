"""routing's composition root: clients, stores, the relay publisher, the service, its consumers and the SLA
sweeper, built once per start into one `Container`. services/routing/app.py calls `bootstrap` in its
lifespan; tests build a `RoutingService` over fakes instead (tests/unit/routing/fakes.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import structlog

from services.routing.config import RoutingConfig, RoutingSettings
from services.routing.domain.calendar import WorkingCalendar
from services.routing.handlers import REQUEST_EVENTS, WORK_EVENTS, RequestEventsHandler, WorkItemPublisher
from services.routing.rulestore import MongoRuleStore
from services.routing.service import RoutingService
from services.routing.staff import MongoStaffStore
from services.routing.store import MongoRoutingStore
from shared.loop import PeriodicLoop
from shared.outbox import OutboxRelay, Publisher
from shared.runtime import Infrastructure

SERVICE = "routing"
log = structlog.get_logger("huiying.routing")

Clock = Callable[[], datetime]


@dataclass
class Container:
    settings: RoutingSettings
    clock: Clock
    config: RoutingConfig
    infra: Infrastructure
    store: MongoRoutingStore
    staff: MongoStaffStore
    rules: MongoRuleStore
    relay: OutboxRelay
    service: RoutingService
    request_events: RequestEventsHandler
    work_items: WorkItemPublisher
    sweeper: PeriodicLoop  # the SLA sweeper; `sweeper.passes` counts its passes

    async def start(self) -> None:
        """Declare the team work queues, subscribe the consumers, start the relay and the sweeper."""
        bus, settings = self.infra.bus, self.settings
        for team in self.config.directory.teams:
            await bus.declare_work_queue(team.id)
        await bus.subscribe(
            settings.queue("routing.request-events"), dict.fromkeys(REQUEST_EVENTS, self.request_events)
        )
        await bus.subscribe(settings.queue("routing.work-items"), dict.fromkeys(WORK_EVENTS, self.work_items))
        self.relay.start()
        self.sweeper.start()

    async def readiness(self) -> dict[str, bool]:
        return await self.infra.readiness()

    async def close(self) -> None:
        await self.sweeper.stop()
        await self.infra.close()


def build_service(
    config: RoutingConfig, store: MongoRoutingStore, publisher: Publisher, clock: Clock
) -> RoutingService:
    """The service `bootstrap` builds, over `store`'s database (its staff accounts and rule versions too) and
    publishing through `publisher`: for a process that wires routing by hand (tests/integration/crashers.py)."""
    staff, rules = MongoStaffStore(store.db["staff"]), MongoRuleStore(store.db["rulesets"], config.rules)
    return RoutingService(store, staff, rules, publisher, config, clock)


def _warn_about_the_calendar(calendar: WorkingCalendar, now: datetime) -> None:
    year = calendar.local_date(now).year
    if not any(d.year == year for d in calendar.holidays):
        log.warning("the working calendar lists no public holidays this year; add them", year=year)


async def bootstrap(settings: RoutingSettings, config: RoutingConfig, clock: Clock) -> Container:
    """Open the infrastructure and build everything once; indexes, the rules' version 1 and (in dev) the
    dev staff accounts are ensured. Nothing is consumed or swept until `Container.start()`."""
    infra = await Infrastructure.open(settings, SERVICE, clock=clock)
    try:
        ttl = settings.routing_cache_ttl_s  # how stale loads, staff and the rule set may be on this replica
        store = MongoRoutingStore(infra.db, infra.writer, ttl)
        await store.ensure_indexes()
        relay = infra.relay([store.tasks], clock=clock)
        staff = MongoStaffStore(infra.db["staff"], ttl)
        rules = MongoRuleStore(infra.db["rulesets"], config.rules, ttl)
        service = RoutingService(store, staff, rules, relay.publisher(store.tasks), config, clock)
        await staff.ensure_indexes()
        await rules.ensure_seeded(clock())
        if settings.is_dev and settings.routing_seed_dev_staff:
            created = await staff.seed_dev(config.directory, clock())
            if created:
                log.info("seeded dev staff accounts (password dev-password)", count=created)
        _warn_about_the_calendar(config.calendar, clock())
    except BaseException:
        await infra.close()
        raise
    return Container(
        settings=settings,
        clock=clock,
        config=config,
        infra=infra,
        store=store,
        staff=staff,
        rules=rules,
        relay=relay,
        service=service,
        request_events=RequestEventsHandler(service),
        work_items=WorkItemPublisher(store, infra.bus, {t.id: t.work_item_phone for t in config.directory.teams}),
        sweeper=PeriodicLoop(
            "sla-sweeper", service.sweeper(settings.routing_sla_batch), settings.routing_sla_sweep_interval_s
        ),
    )
