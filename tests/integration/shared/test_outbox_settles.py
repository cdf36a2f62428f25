"""Outbox settles share bulk writes at a steady load too, and a crash before the settle loses nothing.

On the real broker and the embedded MongoDB. The relay's settle window is set far longer than the tests run
(a long lease allows it), so what the tests see is decided by the batch bound and by the crash, never by
how fast this machine is.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient, ReturnDocument

from shared.bus import Bus
from shared.events import Location, RequestSubmitted, Resident, new_event
from shared.metrics import EVENTS_HANDLED
from shared.outbox import DUE, LEASE, OUTBOX, OVERDUE, OutboxRelay, OutboxWriter, new_owner_id
from tests.integration.commands import CommandCounter
from tests.integration.observer import Observer
from tests.integration.test_nothing_lost import env_for
from tests.support import eventually, unique

LONG_LEASE_S = 3600.0  # the window may be a quarter of the lease: 15 minutes, longer than any test here


@pytest.fixture
async def counted(mongo_uri: str) -> AsyncIterator[tuple[AsyncMongoClient[dict[str, Any]], CommandCounter]]:
    """A client of the relay's own whose commands are counted (the test's probes use `mongo`)."""
    counter = CommandCounter()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri, tz_aware=True, event_listeners=[counter])
    yield client, counter
    await client.close()


def submitted(request_id: str) -> RequestSubmitted:
    return RequestSubmitted(
        request_id=request_id,
        tracking_code="HY" + uuid.uuid4().hex[:10].upper(),
        service_code="legal_aid",
        description="想咨询劳动合同纠纷",
        location=Location(address="3号楼"),
        resident=Resident(name="居民"),
        channel="web",
        submitted_at=datetime.now(UTC),
    )


def settle_writes(counter: CommandCounter, collection: str) -> int:
    return sum(1 for name, coll in counter.commands if name == "update" and coll == collection)


async def test_settles_of_requests_spread_over_time_share_one_bulk_write(
    make_settings: Callable[..., Any],
    mongo: AsyncMongoClient[dict[str, Any]],
    counted: tuple[AsyncMongoClient[dict[str, Any]], CommandCounter],
) -> None:
    from services.intake.config import IntakeSettings

    settings = make_settings(IntakeSettings)
    client, counter = counted
    name = unique("settles")
    requests = client[settings.intake_mongodb_db][name]
    probe = mongo[settings.intake_mongodb_db][name]
    most = 5
    bus = Bus(settings, producer="intake")
    await bus.connect()
    await bus.declare_topology()
    writer = OutboxWriter(new_owner_id("intake"), LONG_LEASE_S)
    relay = OutboxRelay(bus, writer, [requests], sweep_interval_s=3600, settle_window_s=900, settle_most=most)
    await relay.sweep_once()  # its one-time migration (an update_many) done before anything is counted
    relay.start()
    try:
        async with Observer(settings.amqp_url, settings.events_exchange, ["request.submitted"]) as seen:
            ids: list[str] = []

            async def one() -> None:
                """A request written and published; the next starts only once this one's event was heard, so
                each would have had its own settle if settles were not held for a batch."""
                request_id = str(uuid.uuid4())
                event = new_event(submitted(request_id), producer="intake", seq=1)
                document = writer.on_insert({"_id": request_id, "status": "submitted"}, [event])
                await requests.insert_one(document)
                assert await relay.publish_after_write(requests, document)
                ids.append(request_id)
                await eventually(lambda: len(seen.messages) == len(ids), what=f"event {len(ids)} heard")

            counter.reset()
            for _ in range(most - 1):
                await one()
            assert settle_writes(counter, name) == 0
            assert relay.settles_waiting == most - 1
            waiting = await probe.count_documents({"_id": {"$in": ids}, "outbox.0": {"$exists": True}})
            assert waiting == most - 1  # published, still in their documents: the window holds them

            await one()  # the batch is full: one bulk write settles all five

            async def settled() -> bool:
                return await probe.count_documents({"_id": {"$in": ids}, DUE: {"$exists": True}}) == 0

            await eventually(settled, what="the five documents settled")
            assert settle_writes(counter, name) == 1, counter.summary()
            for doc in await probe.find({"_id": {"$in": ids}}).to_list():
                assert doc[OUTBOX] == [] and LEASE not in doc

            # Fewer than a batch, then shutdown: what waits is settled in one write, not lost.
            for _ in range(2):
                await one()
            await relay.stop()
            assert settle_writes(counter, name) == 2, counter.summary()
            assert await probe.count_documents({"outbox.0": {"$exists": True}}) == 0
            assert len(set(seen.event_ids("request.submitted"))) == most + 2
    finally:
        await relay.stop()
        await bus.close()


async def test_a_second_write_before_the_settle_does_not_publish_the_first_ones_events_again(
    make_settings: Callable[..., Any],
    mongo: AsyncMongoClient[dict[str, Any]],
    counted: tuple[AsyncMongoClient[dict[str, Any]], CommandCounter],
) -> None:
    from services.intake.config import IntakeSettings

    settings = make_settings(IntakeSettings)
    client, counter = counted
    name = unique("settles")
    requests = client[settings.intake_mongodb_db][name]
    bus = Bus(settings, producer="intake")
    await bus.connect()
    await bus.declare_topology()
    writer = OutboxWriter(new_owner_id("intake"), LONG_LEASE_S)
    relay = OutboxRelay(bus, writer, [requests], sweep_interval_s=3600, settle_window_s=900)
    try:
        async with Observer(settings.amqp_url, settings.events_exchange, ["request.submitted"]) as seen:
            request_id = str(uuid.uuid4())
            first = new_event(submitted(request_id), producer="intake", seq=1)
            second = new_event(submitted(request_id), producer="intake", seq=2)
            document = writer.on_insert({"_id": request_id, "rev": 1}, [first])
            await requests.insert_one(document)
            assert await relay.publish_after_write(requests, document)
            # The same document changes again while the first settle waits: it carries both events now.
            after = await requests.find_one_and_update(
                {"_id": request_id, "rev": 1},
                writer.on_update({"$inc": {"rev": 1}}, [second]),
                return_document=ReturnDocument.AFTER,
            )
            assert after is not None and len(after[OUTBOX]) == 2
            assert await relay.publish_after_write(requests, after)
            await eventually(lambda: len(seen.messages) >= 2, what="both events heard")
            counter.reset()
            await relay.flush()
            assert settle_writes(counter, name) == 1, counter.summary()  # the later settle covers the first
            stored = await mongo[settings.intake_mongodb_db][name].find_one({"_id": request_id})
            assert stored is not None and stored[OUTBOX] == [] and DUE not in stored and LEASE not in stored
        assert sorted(seen.event_ids("request.submitted")) == sorted([str(first.event_id), str(second.event_id)])
    finally:
        await relay.stop()
        await bus.close()


async def test_a_crash_while_settles_wait_means_the_sweeper_publishes_again_and_routing_dedups(
    make_settings: Callable[..., Any], mongo: AsyncMongoClient[dict[str, Any]], run_service: Any
) -> None:
    from services.intake.config import IntakeSettings

    settings = make_settings(IntakeSettings)
    n = 6
    async with (
        Observer(settings.amqp_url, settings.events_exchange, ["request.submitted", "task.dispatched"]) as seen,
        run_service("routing") as (_, routing),
    ):
        queue = routing.state.settings.queue("routing.request-events")

        def routing_handled() -> float:
            return sum(
                EVENTS_HANDLED.labels(queue=queue, type="request.submitted", outcome=o)._value.get()
                for o in ("ok", "ignored")
            )

        handled_before = routing_handled()
        crasher = subprocess.run(
            [sys.executable, "-m", "tests.integration.crashers", "writer-dies-before-settle", str(n)],
            env=env_for(settings),
            timeout=120,
        )
        assert crasher.returncode == 137
        requests = mongo[settings.intake_mongodb_db]["requests"]
        await eventually(lambda: len(seen.of_type("request.submitted")) == n, what=f"{n} events heard")
        # Published, and still in their documents: the settle never happened.
        assert await requests.count_documents({"outbox.0": {"$exists": True}}) == n

        await requests.update_many({}, {"$set": {DUE: OVERDUE}})  # the dead writer's lease has run out
        # ...and one as a version before the due date was a date wrote it (epoch ms): swept all the same
        old = await requests.find_one({})
        assert old is not None
        await requests.update_one({"_id": old["_id"]}, {"$set": {DUE: 1_764_000_000_000}})
        bus = Bus(settings, producer="intake")
        await bus.connect()
        relay = OutboxRelay(bus, OutboxWriter(new_owner_id("intake"), 30.0), [requests], sweep_interval_s=3600)
        try:
            assert await relay.sweep_once() == n
        finally:
            await relay.stop()
            await bus.close()
        assert await requests.count_documents({"outbox.0": {"$exists": True}}) == 0
        assert await requests.count_documents({DUE: {"$exists": True}}) == 0

        await eventually(lambda: len(seen.of_type("request.submitted")) == 2 * n, what="the events published again")
        ids = seen.event_ids("request.submitted")
        assert len(set(ids)) == n  # the same events, each twice
        await eventually(lambda: routing_handled() - handled_before >= 2 * n, what="routing took all of them")
        await eventually(lambda: len(seen.of_type("task.dispatched")) >= n, what="every request dispatched")
        dispatched = [e.correlation_id for e in seen.of("task.dispatched")]
        assert len(dispatched) == n and len(set(dispatched)) == n  # one dispatch per request, none twice
