"""The outbox publishes in parallel: the events of one write at once, and left-behind documents in batches."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from pymongo import AsyncMongoClient

from shared.bus import Bus
from shared.events import Envelope
from shared.outbox import DUE, OVERDUE, OutboxRelay, OutboxWriter, new_owner_id
from tests.integration.observer import Observer
from tests.integration.test_nothing_lost import env_for
from tests.support import eventually


class CountingBus:
    """The real bus, recording how many publishes were waiting for their confirms at the same time."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.in_flight = 0
        self.most = 0
        self.held = False
        self.overlap = asyncio.Event()

    async def publish(self, envelope: Envelope) -> None:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        if self.in_flight > 1:
            self.overlap.set()
        try:
            if not self.held:
                # The first publish waits (up to a deadline) for a second one to start, so the test does not
                # hang on how fast the database answers the leases: a sweeper that publishes one document
                # after another never starts a second while the first waits, and `most` stays 1.
                self.held = True
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.overlap.wait(), timeout=5)
            await self.bus.publish(envelope)
        finally:
            self.in_flight -= 1


async def test_52_left_behind_documents_go_out_in_seconds_many_at_once(
    make_settings: Callable[..., Any], mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    from services.intake.config import IntakeSettings

    settings = make_settings(IntakeSettings)
    n = 52  # as after the 20 s broker outage in issue 10 (38 s one document at a time)
    async with Observer(settings.amqp_url, settings.events_exchange, ["request.submitted"]) as seen:
        crasher = subprocess.run(
            [sys.executable, "-m", "tests.integration.crashers", "writer-dies-before-publish", str(n)],
            env=env_for(settings),
            timeout=120,
        )
        assert crasher.returncode == 137
        requests = mongo[settings.intake_mongodb_db]["requests"]
        await requests.update_many({}, {"$set": {DUE: OVERDUE}})  # their writer's lease has run out
        bus = Bus(settings, producer="intake")
        await bus.connect()
        counting = CountingBus(bus)
        relay = OutboxRelay(counting, OutboxWriter(new_owner_id("intake"), 30.0), [requests], sweep_interval_s=0.1)  # type: ignore[arg-type]
        try:
            started = time.monotonic()
            assert await relay.sweep_once() == n
            took = time.monotonic() - started
            await eventually(lambda: len(seen.messages) >= n, what=f"{n} events heard")
            assert took < 10, f"{n} documents took {took:.1f}s"
            assert counting.most > 1  # documents published concurrently, not one after another
            assert await requests.count_documents({"outbox.event_id": {"$exists": True}}) == 0
            assert await requests.count_documents({DUE: {"$exists": True}}) == 0
        finally:
            await relay.stop()
            await bus.close()
        assert len(set(seen.event_ids("request.submitted"))) == n


async def test_the_events_of_one_write_are_published_concurrently(
    make_settings: Callable[..., Any], mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    from services.intake.config import IntakeSettings

    settings = make_settings(IntakeSettings)
    crasher = subprocess.run(
        [sys.executable, "-m", "tests.integration.crashers", "writer-dies-before-publish", "3"],
        env=env_for(settings),
        timeout=120,
    )
    assert crasher.returncode == 137
    requests = mongo[settings.intake_mongodb_db]["requests"]
    docs = await requests.find({}).to_list()
    # One document carrying three events (the other two documents' events, pushed onto the first).
    events = [e for d in docs for e in d["outbox"]]
    await requests.update_one({"_id": docs[0]["_id"]}, {"$set": {"outbox": events}})
    bus = Bus(settings, producer="intake")
    await bus.connect()
    await bus.declare_topology()  # as every service does before it publishes (publishing is mandatory)
    counting = CountingBus(bus)
    writer = OutboxWriter(new_owner_id("intake"), 30.0)
    relay = OutboxRelay(counting, writer, [requests], sweep_interval_s=3600)  # type: ignore[arg-type]
    try:
        await requests.update_one({"_id": docs[0]["_id"]}, {"$set": writer.claim()})
        doc = await requests.find_one({"_id": docs[0]["_id"]})
        assert doc is not None
        assert await relay.publish_after_write(requests, doc)
        assert counting.most == 3
        await relay.flush()  # the settle, off the request path
        after = await requests.find_one({"_id": docs[0]["_id"]})
        assert after is not None and after["outbox"] == [] and DUE not in after and "outbox_lease" not in after
    finally:
        await relay.stop()
        await bus.close()
