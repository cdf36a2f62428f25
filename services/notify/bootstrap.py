"""notify's composition root: builds the infrastructure, the store, the channel adapters, the delivery
worker, the service and the event handler once, and hands them over in one typed `Container`.

`create_app` (app.py) calls `bootstrap` in its lifespan, then `Container.start()` (the worker, then the
consumer) and, at shutdown, `Container.close()`. Tests may build a `NotifyService` on fakes instead
(tests/unit/notify/fakes.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import httpx

from services.notify import legacy
from services.notify.channels import Sender, Senders
from services.notify.channels.email import EmailSender
from services.notify.channels.sms import SmsSender
from services.notify.channels.webhook import WebhookSender
from services.notify.config import SERVICE, NotifyConfig, NotifySettings
from services.notify.domain.deliveries import EMAIL, SMS, WEBHOOK, RetryPolicy
from services.notify.domain.messages import Links
from services.notify.domain.planning import Policy
from services.notify.handlers import QUEUE, NotifyHandler
from services.notify.privacy import NotifyPrivacyPart
from services.notify.service import NotifyService
from services.notify.store import MongoNotifyStore
from services.notify.templates_live import LiveTemplates
from services.notify.worker import DeliveryWorker
from shared.bus import Handler
from shared.configstore import ConfigStore
from shared.limits import SharedWindows, ensure_window_indexes, flush_loop
from shared.loop import PeriodicLoop
from shared.outbox import new_owner_id, utcnow
from shared.privacy import privacy_wiring
from shared.runtime import Infrastructure
from shared.staff_access import StaffAccess, StaffEventsHandler

Clock = Callable[[], datetime]


@dataclass
class Container:
    settings: NotifySettings
    clock: Clock
    config: NotifyConfig
    infra: Infrastructure
    store: MongoNotifyStore
    senders: Senders
    worker: DeliveryWorker
    service: NotifyService
    handler: NotifyHandler
    staff_access: StaffAccess  # each staff account's current state, from routing's staff.changed
    windows: SharedWindows  # request rates per address (shared/limits.AddressRateLimit), inbox misses
    flusher: PeriodicLoop  # adds this replica's rate counts to the shared windows
    # privacy (个人信息保护法): export and erasure by event, the retention sweep (services/notify/privacy.py)
    privacy_handlers: dict[str, Handler]
    retention: PeriodicLoop
    templates: LiveTemplates  # the message templates' newest version (edited in routing's admin pages)
    templates_refresh: PeriodicLoop  # ...checked every HUIYING_CONFIG_REFRESH_S

    async def start(self) -> None:
        self.flusher.start()
        self.worker.start()
        self.retention.start()
        bindings = self.handler.bindings(StaffEventsHandler(self.staff_access)) | self.privacy_handlers
        bindings["config.changed"] = self.templates  # administration: a new version of the templates
        self.templates_refresh.start()
        await self.infra.bus.subscribe(self.settings.queue(QUEUE), bindings)

    async def readiness(self) -> dict[str, bool]:
        return await self.infra.readiness()

    async def close(self) -> None:
        # The worker first: it finishes and records the sends in flight while the database is still open.
        # Then the consumer, the bus and the database; the adapters' HTTP client last.
        await self.worker.stop()
        await self.flusher.stop()
        await self.retention.stop()
        await self.templates_refresh.stop()
        await self.infra.close()
        await self.senders.close()


def build_senders(settings: NotifySettings, config: NotifyConfig, clock: Clock) -> Senders:
    """The channel adapters this deployment can use: webhooks always, email and SMS when configured."""
    # Redirects are not followed: a webhook or gateway URL must be the final one (no surprises).
    http = httpx.AsyncClient(follow_redirects=False, headers={"User-Agent": "Huiying-Notify/1"})
    timeout_s = settings.notify_webhook_timeout_s
    # Every outbound URL is checked again at each send (shared/outbound.py): https outside dev mode, no
    # loopback, private, link-local or metadata address unless HUIYING_OUTBOUND_ALLOW lists it.
    https, allow = not settings.is_dev, settings.outbound_allowlist
    by_channel: dict[str, Sender] = {
        WEBHOOK: WebhookSender(
            http, secret=settings.webhook_secret, timeout_s=timeout_s, clock=clock, require_https=https, allow=allow
        )
    }
    if config.smtp is not None:
        by_channel[EMAIL] = EmailSender(
            config.smtp, sender=settings.notify_email_from, timeout_s=settings.notify_smtp_timeout_s
        )
    if settings.notify_sms_url:
        by_channel[SMS] = SmsSender(
            http,
            url=settings.notify_sms_url,
            api_key=settings.notify_sms_api_key,
            timeout_s=settings.notify_sms_timeout_s,
            region=settings.notify_sms_default_region,
            require_https=https,
            allow=allow,
        )
    return Senders(by_channel, http)


def build_worker(settings: NotifySettings, store: MongoNotifyStore, senders: Senders, clock: Clock) -> DeliveryWorker:
    return DeliveryWorker(
        store,
        senders,
        clock,
        owner=new_owner_id(SERVICE),
        policy=RetryPolicy(
            max_attempts=settings.notify_max_attempts,
            base_s=settings.notify_retry_base_s,
            max_s=settings.notify_retry_max_s,
        ),
        quiet=settings.quiet_hours,
        tz=settings.timezone,
        lease_s=settings.notify_lease_s,
        poll_interval_s=settings.notify_poll_interval_s,
        concurrency=settings.notify_concurrency,
    )


def policy_for(settings: NotifySettings, senders: Senders) -> Policy:
    return Policy(
        links=Links(intake=settings.public_url("intake"), routing=settings.public_url("routing")),
        tz=settings.timezone,
        quiet=settings.quiet_hours,
        enabled=senders.enabled,
        email_when_given=settings.notify_email_when_given,
    )


async def bootstrap(settings: NotifySettings, config: NotifyConfig, clock: Clock = utcnow) -> Container:
    infra = await Infrastructure.open(settings, SERVICE, clock=clock)
    senders = build_senders(settings, config, clock)
    try:
        store = MongoNotifyStore(infra.db)
        await store.ensure_indexes()
        await legacy.migrate(infra.db, clock())  # once: the collections of before -> one document per request
        worker = build_worker(settings, store, senders, clock)
        service = NotifyService(store, config.templates, policy_for(settings, senders), clock, on_pending=worker.wake)
        templates = LiveTemplates(ConfigStore(infra.db), service)
        await templates.seed_and_load(settings.templates_path, clock())
        await ensure_window_indexes(infra.db["rate_windows"])
        windows = SharedWindows(infra.db["rate_windows"], utcnow, settings.rate_limit_window_s)  # real time
        privacy = NotifyPrivacyPart(store.requests, infra.db["privacy_jobs"])
        await privacy.ensure_indexes()
        privacy_handlers, retention = privacy_wiring(SERVICE, privacy, privacy.jobs, infra.bus.publish, settings, clock)
    except BaseException:
        await infra.close()
        await senders.close()
        raise
    return Container(
        settings=settings,
        clock=clock,
        config=config,
        infra=infra,
        store=store,
        senders=senders,
        worker=worker,
        service=service,
        handler=NotifyHandler(service),
        staff_access=StaffAccess(infra.db["staff_access"]),
        windows=windows,
        flusher=flush_loop(windows),
        privacy_handlers=privacy_handlers,
        retention=retention,
        templates=templates,
        templates_refresh=templates.live.loop(settings.config_refresh_s),
    )
