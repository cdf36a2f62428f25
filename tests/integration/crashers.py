"""Processes that die at the worst moment, run by the outbox and redelivery tests.

    python -m tests.integration.crashers consumer-dies-before-ack
        consumes routing's queue with routing's real handler, and dies (SIGKILL-like os._exit) right after
        the handler's database write: before publishing the task's events and before acking.
    python -m tests.integration.crashers writer-dies-before-publish N
        stores N requests with intake's real store (state + outbox in one write, lease taken), then dies
        before publishing any of them.
    python -m tests.integration.crashers writer-dies-before-settle N
        stores N requests the same way and publishes each (confirmed) through a real relay, then dies while
        their settles wait in the relay's window: the events are out, and still in their documents.
Settings come from HUIYING_* variables, exactly as for a service.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

from pymongo import AsyncMongoClient

from shared.bus import Bus
from shared.events import Location, Resident
from shared.outbox import OutboxRelay, OutboxWriter, new_owner_id


async def consumer_dies_before_ack() -> None:
    from services.routing.bootstrap import build_service
    from services.routing.config import RoutingSettings, load_config
    from services.routing.handlers import RequestEventsHandler
    from services.routing.store import MongoRoutingStore

    settings = RoutingSettings()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.routing_mongodb_uri, tz_aware=True)
    bus = Bus(settings, producer="routing")
    await bus.connect()
    writer = OutboxWriter(new_owner_id("crasher"), settings.outbox_lease_s)
    store = MongoRoutingStore(client[settings.routing_mongodb_db], writer)
    await store.ensure_indexes()
    relay = OutboxRelay(bus, writer, [store.tasks], sweep_interval_s=3600)

    async def die(*_: Any) -> bool:
        print("crasher: wrote the task, dying before publish and ack", flush=True)
        os._exit(137)

    relay.publish_after_write = die  # type: ignore[method-assign]
    service = build_service(load_config(settings), store, relay.publisher(store.tasks), lambda: datetime.now(UTC))
    handler = RequestEventsHandler(service)
    await bus.subscribe(settings.queue("routing.request-events"), {"request.submitted": handler})
    # The first message kills this process from inside the handler; without one, give up with code 3.
    try:
        await asyncio.wait_for(asyncio.Event().wait(), timeout=60)
    except TimeoutError:
        os._exit(3)


async def writer_dies_before_publish(n: int) -> None:
    from services.intake.config import IntakeSettings
    from services.intake.domain import request as domain
    from services.intake.store import MongoIntakeStore
    from shared.tracking import new_tracking_code

    settings = IntakeSettings()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.intake_mongodb_uri, tz_aware=True)
    store = MongoIntakeStore(client[settings.intake_mongodb_db], OutboxWriter(new_owner_id("crasher"), 2.0))
    await store.ensure_indexes()
    for i in range(n):
        cmd = domain.SubmitRequest(
            service_code="property_repair",
            description=f"left behind {i}",
            location=Location(address="1号楼"),
            resident=Resident(name="n", phone="+8613800138000"),
            channel="web",
        )
        accepted = domain.submit(
            cmd, request_id=str(uuid.uuid4()), tracking_code=new_tracking_code(), now=datetime.now(UTC)
        )
        await store.insert_request(accepted)
    print(f"crasher: stored {n} requests, dying before publishing", flush=True)
    os._exit(137)


async def writer_dies_before_settle(n: int) -> None:
    from services.intake.config import IntakeSettings
    from services.intake.domain import request as domain
    from services.intake.store import MongoIntakeStore
    from shared.tracking import new_tracking_code

    settings = IntakeSettings()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.intake_mongodb_uri, tz_aware=True)
    bus = Bus(settings, producer="intake")
    await bus.connect()
    await bus.declare_topology()
    writer = OutboxWriter(new_owner_id("crasher"), settings.outbox_lease_s)
    store = MongoIntakeStore(client[settings.intake_mongodb_db], writer)
    await store.ensure_indexes()
    # Not started: its settler never runs, as if every settle were still inside the window when the process dies.
    relay = OutboxRelay(bus, writer, [store.requests], sweep_interval_s=3600)
    for i in range(n):
        cmd = domain.SubmitRequest(
            service_code="legal_aid",
            description=f"published, not settled {i}",
            location=Location(address="1号楼"),
            resident=Resident(name="n", phone="+8613800138000"),
            channel="web",
        )
        accepted = domain.submit(
            cmd, request_id=str(uuid.uuid4()), tracking_code=new_tracking_code(), now=datetime.now(UTC)
        )
        document = await store.insert_request(accepted)
        if not await relay.publish_after_write(store.requests, document):
            os._exit(3)
    assert relay.settles_waiting == n
    print(f"crasher: published {n} requests, dying with their settles waiting", flush=True)
    os._exit(137)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "consumer-dies-before-ack":
        asyncio.run(consumer_dies_before_ack())
    elif mode == "writer-dies-before-publish":
        asyncio.run(writer_dies_before_publish(int(sys.argv[2])))
    elif mode == "writer-dies-before-settle":
        asyncio.run(writer_dies_before_settle(int(sys.argv[2])))
    else:
        raise SystemExit(f"unknown mode {mode}")
