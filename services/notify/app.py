"""notify's composition root: settings, clients, channel adapters, consumer, delivery worker, lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from services.notify import api
from services.notify.channels import Senders
from services.notify.channels.email import SmtpTarget
from services.notify.config import NotifySettings
from services.notify.deliveries import RetryPolicy
from services.notify.domain import Policy
from services.notify.handlers import NotifyHandler
from services.notify.messages import Links
from services.notify.store import NotifyStore
from services.notify.templates import Templates
from services.notify.worker import DeliveryWorker
from shared.http import create_service_app
from shared.logs import configure_logging
from shared.outbox import new_owner_id, utcnow
from shared.runtime import Infrastructure

SERVICE = "notify"


def create_app(settings: NotifySettings | None = None, clock: Callable[[], datetime] = utcnow) -> FastAPI:
    settings = settings or NotifySettings()
    configure_logging(SERVICE, settings.log_level, settings.log_json)
    templates = Templates.load(settings.templates_path)
    if settings.notify_smtp_url:
        SmtpTarget.parse(settings.notify_smtp_url)  # a malformed URL stops start-up with one line

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        infra = await Infrastructure.open(settings, SERVICE, clock=clock)
        senders = Senders.from_settings(settings, clock)
        worker: DeliveryWorker | None = None
        try:
            store = NotifyStore(infra.db)
            await store.ensure_indexes()
            app.state.infra, app.state.store = infra, store
            policy = Policy(
                links=Links(intake=settings.public_url("intake"), routing=settings.public_url("routing")),
                tz=settings.timezone,
                quiet=settings.quiet_hours,
                enabled=senders.enabled,
                email_when_given=settings.notify_email_when_given,
            )
            worker = DeliveryWorker(
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
            app.state.worker = worker
            handler = NotifyHandler(store, templates, clock, policy, on_pending=worker.wake)
            worker.start()
            await infra.bus.subscribe(settings.queue("notify.events"), {"request.*": handler, "task.*": handler})
            yield
        finally:
            # The worker first: it finishes and records the sends in flight while the database is still
            # open. Then the consumer, the bus and the database.
            if worker is not None:
                await worker.stop()
            await infra.close()
            await senders.close()

    app = create_service_app(
        service=SERVICE,
        settings=settings,
        clock=clock,
        lifespan=lifespan,
        title="Huiying notify",
        description="Tells residents about every step of their request: inbox, email, SMS and signed webhooks.",
    )
    app.state.templates = templates
    # The resident portal (intake's origin) reads the inbox from the browser: GET only, no credentials.
    app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET"], max_age=600)
    app.include_router(api.router)
    return app
