"""intake's composition root: opens the database and the broker, builds the store, the relay, the service,
the rate limiter, the event handlers and the portal's templates once, and returns them in one Container.

The app (services/intake/app.py) calls `bootstrap` in its lifespan; the API and the pages read the container
through `api/deps.get_container`. Fast tests build an `IntakeService` on in-memory fakes instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates
from pymongo.errors import PyMongoError

from services.intake.admission import Admission
from services.intake.care_filing import CareFilingHandler
from services.intake.catalogue_live import NAME, LiveCatalogue, with_catalogue
from services.intake.config import PORTAL_TEMPLATES, IntakeConfig, IntakeSettings
from services.intake.domain.catalogue import Catalogue
from services.intake.domain.triage import Triage
from services.intake.handlers import TaskEventsHandler
from services.intake.limits import SharedWindows
from services.intake.photo_store import GridFSPhotoStore
from services.intake.photos import Photos
from services.intake.privacy import IntakePrivacyPart
from services.intake.service import IntakeService
from services.intake.servicedays import MongoDayStore, ProgrammeHandler, ServiceDays
from services.intake.store import MongoIntakeStore
from shared.bus import Handler
from shared.configstore import ConfigStore
from shared.loop import PeriodicLoop
from shared.outbox import OutboxRelay
from shared.privacy import privacy_wiring
from shared.runtime import Infrastructure
from shared.staff_access import StaffAccess, StaffEventsHandler
from shared.topology import INTAKE_CARE_EVENTS
from shared.web import make_templates

SERVICE = "intake"
# routing's task.* events (the status view), staff.* (the staff read model), serviceday.* (service days)
QUEUE = "intake.task-events"
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
    staff_access: StaffAccess  # each staff account's current state, from routing's staff.changed
    handlers: Mapping[str, Handler]  # routing key -> handler, on intake's queue
    templates: Jinja2Templates  # the portal's pages (services/intake/web/templates)
    photos: Photos  # residents' photos in GridFS (services/intake/photos.py)
    loops: tuple[PeriodicLoop, ...] = ()  # the channel-key refresh and the rate-window flush
    # service days (便民服务日): programme read model, sign-ups, reminders (services/intake/servicedays.py)
    days: ServiceDays | None = None
    day_relay: OutboxRelay | None = None
    # administration: the catalogue's newest version, edited in routing's console (services/intake/catalogue_live.py)
    catalogue: LiveCatalogue | None = None

    async def start(self) -> None:
        # jieba's dictionary takes about a second to build: at start, off the event loop.
        warm = getattr(self.config.emergency.segment, "warm", None)
        if warm is not None:
            await asyncio.to_thread(warm)
        await self.infra.bus.subscribe(self.settings.queue(QUEUE), self.handlers)
        self.relay.start()
        if self.day_relay is not None:
            self.day_relay.start()
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
        photo_store = GridFSPhotoStore(infra.db)
        await photo_store.ensure_indexes()
        photos = Photos(photo_store, store.referenced_photos, clock, orphan_grace_s=settings.photo_orphan_grace_s)
        admission = Admission(settings.max_inflight_writes, settings.db_slow_ms / 1000, lambda: infra.commands.recent_s)
        service = IntakeService(
            store,
            relay.publisher(store.requests),
            config.triage,
            clock,
            admission=admission,
            emergency=config.emergency,
            photos=photos,
        )
        await service.refresh_keys()
        limiter = SharedWindows(store.rate_windows, clock, settings.rate_limit_window_s)
        staff_access = StaffAccess(infra.db["staff_access"])
        # service days: their own collection and relay; the reminder pass is one more loop
        day_store = MongoDayStore(infra.db["service_days"], infra.writer)
        await day_store.ensure_indexes()
        day_relay = infra.relay([day_store.collection], clock=clock)
        days = ServiceDays(
            day_store,
            day_relay.publisher(day_store.collection),
            clock,
            ZoneInfo(settings.timezone),
            remind_hour=settings.servicedays_remind_hour,
        )
        # privacy (个人信息保护法): export and erasure by event, the retention sweep (services/intake/privacy.py)
        privacy = IntakePrivacyPart(store.requests, infra.db["privacy_jobs"])
        await privacy.ensure_indexes()
        privacy_handlers, retention = privacy_wiring(SERVICE, privacy, privacy.jobs, infra.bus.publish, settings, clock)
        # Administration: the catalogue as a versioned document (version 1 = the file); the newest version
        # replaces the file's before anything is taken, and follows config.changed from routing afterwards.
        care_filing = CareFilingHandler(service, config.catalogue, config.emergency)
        holder: list[Container] = []

        def use(catalogue: Catalogue, triage: Triage) -> None:
            service.triage, care_filing.catalogue = triage, catalogue
            if holder:
                holder[0].config = with_catalogue(holder[0].config, catalogue, triage)

        live = LiveCatalogue(ConfigStore(infra.db), use)
        await live.seed_and_load(settings.catalogue_path, now)
        if NAME in live.live.values:
            config = with_catalogue(config, live.live.values[NAME], service.triage)
        container = Container(
            settings=settings,
            clock=clock,
            config=config,
            infra=infra,
            store=store,
            relay=relay,
            service=service,
            limiter=limiter,
            staff_access=staff_access,
            handlers={
                "task.*": TaskEventsHandler(service),
                "staff.*": StaffEventsHandler(staff_access),
                # requests filed from care visits (services/intake/care_filing.py)
                **dict.fromkeys(INTAKE_CARE_EVENTS, care_filing),
                "serviceday.*": ProgrammeHandler(days),  # service days: the programme residents sign up from
                **privacy_handlers,
                "config.changed": live,  # administration: a new version of the catalogue
            },
            templates=make_templates(PORTAL_TEMPLATES, config.messages),
            photos=photos,
            loops=(
                PeriodicLoop("channel-keys", service.refresh_keys, settings.channel_cache_s),
                PeriodicLoop("rate-windows", limiter.flush, settings.rate_limit_flush_s),
                PeriodicLoop("orphan-photos", photos.sweep, settings.photo_sweep_s),
                PeriodicLoop("servicedays-reminders", days.remind_pass, settings.servicedays_remind_interval_s),
                retention,
                live.live.loop(settings.config_refresh_s),
            ),
            days=days,
            day_relay=day_relay,
            catalogue=live,
        )
        holder.append(container)
        return container
    except BaseException:
        await infra.close()
        raise
