"""routing's composition root: clients, stores, the relay publisher, the service, its consumers and the SLA
sweeper, built once per start into one `Container`. services/routing/app.py calls `bootstrap` in its
lifespan; tests build a `RoutingService` over fakes instead (tests/unit/routing/fakes.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import structlog

from services.routing.admin import AdminService
from services.routing.care import CareService, with_care
from services.routing.care_store import MongoCareStore
from services.routing.config import RoutingConfig, RoutingSettings
from services.routing.daystore import MongoDayStore
from services.routing.domain.calendar import WorkingCalendar
from services.routing.handlers import REQUEST_EVENTS, WORK_EVENTS, RequestEventsHandler, WorkItemPublisher
from services.routing.privacy import PrivacyDesk, RoutingPrivacyPart
from services.routing.privacystore import PrivacyStore
from services.routing.replies import ReplyService
from services.routing.replystore import MongoReplyStore
from services.routing.reports import WeeklyReports, with_reports
from services.routing.rulestore import MongoRuleStore
from services.routing.search import SearchService
from services.routing.searchstore import MongoSearchStore, SearchBackfill
from services.routing.service import RoutingService
from services.routing.servicedays import SIGNUP_EVENTS, ServiceDays, SignupsHandler
from services.routing.signin import SignInGuard
from services.routing.staff import MongoStaffStore
from services.routing.store import MongoRoutingStore
from shared.bus import Handler
from shared.configstore import ConfigStore
from shared.limits import SharedWindows, ensure_window_indexes, flush_loop
from shared.loop import PeriodicLoop
from shared.outbox import OutboxRelay, Publisher, utcnow
from shared.privacy import privacy_wiring
from shared.runtime import Infrastructure
from shared.topology import PRIVACY_ANSWERS

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
    windows: SharedWindows  # request rates per address (shared/limits.AddressRateLimit)
    signin: SignInGuard  # sign-in throttling and lockout
    flusher: PeriodicLoop  # adds this replica's rate counts to the shared windows
    care: CareService  # the care register (走访慰问); its pass rides on the SLA sweeper
    # service days (便民服务日): the programme, intake's sign-ups, attendance (services/routing/servicedays.py)
    days: ServiceDays
    signups: SignupsHandler
    day_relay: OutboxRelay
    search: SearchService  # staff search, saved views, bulk actions
    replies: ReplyService  # canned replies
    reports: WeeklyReports  # the weekly report (ledger.weekly_report); its check rides on the SLA sweeper
    # privacy (个人信息保护法): the access-audit log, export and erasure requests, the retention sweep
    privacy: PrivacyDesk
    privacy_handlers: dict[str, Handler]
    privacy_relay: OutboxRelay
    retention: PeriodicLoop
    admin: AdminService  # versioned SLA limits, calendar, teams and their audit log (services/routing/admin.py)
    config_refresh: PeriodicLoop  # this replica's copy of them, refreshed every HUIYING_CONFIG_REFRESH_S
    search_backfill: PeriodicLoop  # search words for tasks stored before search existed (one walk, then idle)

    async def start(self) -> None:
        """Subscribe the consumers, start the relay and the sweeper (the whole topology, the team work queues
        included, was declared when the infrastructure opened)."""
        bus, settings = self.infra.bus, self.settings
        request_events: dict[str, Handler] = dict.fromkeys(REQUEST_EVENTS, self.request_events)
        request_events |= dict.fromkeys(SIGNUP_EVENTS, self.signups)  # service days: intake's sign-ups
        request_events |= self.privacy_handlers  # privacy requests (routing's part) and the services' answers
        await bus.subscribe(settings.queue("routing.request-events"), request_events)
        # jieba's dictionary (the search words a dispatch stores) takes about a second: at start, off the loop.
        await asyncio.to_thread(self.service.segmenter.warm)
        await bus.subscribe(settings.queue("routing.work-items"), dict.fromkeys(WORK_EVENTS, self.work_items))
        self.day_relay.start()
        self.relay.start()
        self.sweeper.start()
        self.flusher.start()
        self.privacy_relay.start()
        self.retention.start()
        self.config_refresh.start()
        self.search_backfill.start()

    async def readiness(self) -> dict[str, bool]:
        return await self.infra.readiness()

    async def close(self) -> None:
        await self.search_backfill.stop()
        await self.config_refresh.stop()
        await self.flusher.stop()
        await self.sweeper.stop()
        await self.retention.stop()
        await self.infra.close()


def build_service(
    config: RoutingConfig, store: MongoRoutingStore, publisher: Publisher, clock: Clock
) -> RoutingService:
    """The service `bootstrap` builds, over `store`'s database (its staff accounts and rule versions too) and
    publishing through `publisher`: for a process that wires routing by hand (tests/integration/crashers.py)."""
    staff, rules = MongoStaffStore(store.db["staff"], store.writer), MongoRuleStore(store.db["rulesets"], config.rules)
    return RoutingService(store, staff, rules, publisher, config, clock)


def _warn_about_the_calendar(calendar: WorkingCalendar, now: datetime) -> None:
    year = calendar.local_date(now).year
    if not any(d.year == year for d in calendar.holidays):
        log.warning("the working calendar lists no public holidays this year; add them", year=year)


async def bootstrap(settings: RoutingSettings, config: RoutingConfig, clock: Clock) -> Container:
    """Open the infrastructure and build everything once; indexes, the rules' version 1 and (in dev) the
    dev staff accounts are ensured. Nothing is consumed or swept until `Container.start()`."""
    teams = [team.id for team in config.directory.teams]
    infra = await Infrastructure.open(settings, SERVICE, clock=clock, teams=teams)
    try:
        ttl = settings.routing_cache_ttl_s  # how stale loads, staff and the rule set may be on this replica
        store = MongoRoutingStore(infra.db, infra.writer, ttl)
        await store.ensure_indexes()
        # Staff accounts carry their staff.changed events (an embedded outbox) like tasks do.
        accounts = infra.db["staff"]
        # -- care register (走访慰问): households with their care.* events, in the same relay --
        care_store = MongoCareStore(infra.db["care_households"], infra.writer, settings.routing_cache_ttl_s)
        await care_store.ensure_indexes()
        # The weekly reports (one document per ISO week, carrying its ledger.weekly_report) are in the relay too,
        # and administration's versions carry config.changed (notify's templates, intake's catalogue).
        report_docs = infra.db["ledger_reports"]
        config_store = ConfigStore(infra.db, infra.writer)
        relay = infra.relay(
            [store.tasks, accounts, care_store.households, report_docs, config_store.versions], clock=clock
        )
        config_store.publisher = relay.publisher(config_store.versions)
        staff = MongoStaffStore(accounts, infra.writer, relay.publisher(accounts), cache_ttl_s=ttl)
        rules = MongoRuleStore(infra.db["rulesets"], config.rules, ttl)
        service = RoutingService(store, staff, rules, relay.publisher(store.tasks), config, clock)
        care = CareService(care_store, service, relay.publisher(care_store.households), clock)
        service.care_kinds = care_store.kinds_by_phone  # registered households are recognised by phone
        await staff.ensure_indexes()
        await rules.ensure_seeded(clock())
        # Administration: the SLA limits, calendar and teams as versioned documents (version 1 = the files);
        # the newest versions replace the files' content in `config` before anything runs.
        admin = AdminService(config_store, service, settings, clock)
        await admin.seed_and_load()
        config = service.config
        if settings.is_dev and settings.routing_seed_dev_staff:
            created = await staff.seed_dev(config.directory, clock())
            if created:
                log.info("seeded dev staff accounts (password dev-password)", count=created)
        _warn_about_the_calendar(config.calendar, clock())
        # Rates run on real time, not the business clock tests move.
        await ensure_window_indexes(infra.db["rate_windows"])
        windows = SharedWindows(infra.db["rate_windows"], utcnow, settings.rate_limit_window_s)
        lockouts = SharedWindows(infra.db["rate_windows"], utcnow, settings.routing_lockout_s)
        # service days: their own collection and relay (one document per day, its events in the outbox)
        day_store = MongoDayStore(infra.db["service_days"], infra.writer)
        await day_store.ensure_indexes()
        day_relay = infra.relay([day_store.collection], clock=clock)
        days = ServiceDays(
            day_store, day_relay.publisher(day_store.collection), clock, ZoneInfo(config.calendar.timezone)
        )
        # Staff search and canned replies (issue 15): their own collections and indexes.
        search_store, reply_store = MongoSearchStore(infra.db), MongoReplyStore(infra.db["canned_replies"])
        await search_store.ensure_indexes()
        await reply_store.ensure_indexes()
        reports = WeeklyReports(
            report_docs, infra.writer, relay.publisher(report_docs), service, config, clock,
            settings.routing_ledger_max_tasks,
        )  # fmt: skip
        await reports.ensure_indexes()
        # privacy (个人信息保护法; services/routing/privacy.py): requests relayed like tasks, answers collected here
        privacy_store = PrivacyStore(infra.db, infra.writer)
        await privacy_store.ensure_indexes()
        privacy_part = RoutingPrivacyPart(store.tasks, privacy_store)
        await privacy_part.ensure_indexes()
        privacy_relay = infra.relay([privacy_store.requests], clock=clock)
        privacy = PrivacyDesk(privacy_store, privacy_relay.publisher(privacy_store.requests), clock)
        privacy_handlers, retention = privacy_wiring(
            SERVICE, privacy_part, privacy_store.jobs, infra.bus.publish, settings, clock
        )
        privacy_handlers |= dict.fromkeys(PRIVACY_ANSWERS, privacy.record)
    except BaseException:
        await infra.close()
        raise
    container = Container(
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
        windows=windows,
        signin=SignInGuard(settings, windows, lockouts),
        flusher=flush_loop(windows, lockouts),
        sweeper=PeriodicLoop(
            "sla-sweeper",
            with_reports(
                with_care(service.sweeper(settings.routing_sla_batch), care, settings.routing_sla_batch), reports
            ),
            settings.routing_sla_sweep_interval_s,
        ),
        care=care,
        days=days,
        signups=SignupsHandler(days),
        day_relay=day_relay,
        search=SearchService(search_store, service, clock),
        replies=ReplyService(reply_store, service, clock),
        reports=reports,
        privacy=privacy,
        privacy_handlers=privacy_handlers,
        privacy_relay=privacy_relay,
        retention=retention,
        admin=admin,
        config_refresh=admin.live.loop(settings.config_refresh_s),
        search_backfill=PeriodicLoop(
            "search-backfill", SearchBackfill(infra.db, service.segmenter.search_words).step, 600.0
        ),
    )
    admin.listeners.append(lambda new: _follow_config(container, new))
    return container


def _follow_config(container: Container, config: RoutingConfig) -> None:
    """A new version of the teams, calendar or SLA limits: the container and the work items follow it."""
    container.config = config
    phones = {t.id: t.work_item_phone for t in config.directory.teams}
    container.work_items.phones, container.work_items.team_ids = phones, set(phones)
