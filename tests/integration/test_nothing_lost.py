"""Nothing lost, nothing twice: crashes, duplicates, a dead relay, a database outage, a broker restart."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from huiying.procs import read_ready_line, stop
from shared.bus import Bus
from shared.metrics import EVENTS_HANDLED
from shared.outbox import OutboxRelay, OutboxWriter, new_owner_id
from shared.settings import Settings
from tests.integration import private_broker
from tests.integration.observer import Observer
from tests.support import eventually, free_port

REQUEST = {
    "service_code": "property_repair",
    "description": "楼道灯坏了",
    "location": {"address": "2号楼1单元"},
    "resident": {"name": "张大爷", "phone": "13800138000", "language": "zh-CN"},
}
KEY = {"X-API-Key": "dev-web-key"}


def env_for(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIYING_")}
    for key, value in settings.model_dump().items():
        if value is not None:
            env[f"HUIYING_{key.upper()}"] = str(value)
    return env


def handled(queue: str, event_type: str, outcome: str = "ok") -> float:
    return EVENTS_HANDLED.labels(queue=queue, type=event_type, outcome=outcome)._value.get()


async def test_a_consumer_that_dies_before_ack_gets_the_message_redelivered_and_handled_once(
    make_settings: Callable[..., Any], mongo: AsyncMongoClient[dict[str, Any]], run_service: Any
) -> None:
    from services.routing.config import RoutingSettings

    settings = make_settings(RoutingSettings)
    async with Observer(settings.amqp_url, settings.events_exchange, ["task.dispatched"]) as seen:
        # The routing queue must exist before the request is published (as it does in a running system).
        bus = Bus(settings, producer="test")
        await bus.connect()
        await bus.declare_consumer_queue(settings.queue("routing.request-events"), ["request.submitted"])
        crasher = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.crashers", "consumer-dies-before-ack"],
            env=env_for(settings),
        )
        async with run_service("intake") as (intake, _):
            r = await intake.post("/v1/requests", json=REQUEST, headers=KEY)
            request_id = r.json()["id"]
        assert await asyncio.to_thread(crasher.wait, 60) == 137  # it died after its write, before ack
        tasks = mongo[settings.routing_mongodb_db]["tasks"]
        left = await tasks.find_one({"_id": request_id})
        assert left is not None and len(left["outbox"]) == 1 and seen.of_type("task.dispatched") == []

        queue = settings.queue("routing.request-events")
        before = handled(queue, "request.submitted")
        async with run_service("routing"):
            # The redelivered message is handled (idempotently: the task exists) and acked ...
            await eventually(lambda: handled(queue, "request.submitted") == before + 1, what="redelivery handled")
            # ... and the event the dead consumer stored is published by the sweeper once its lease expires.
            await eventually(lambda: len(seen.of_type("task.dispatched")) >= 1, timeout=30, what="task.dispatched")

            async def outbox_empty() -> bool:
                doc = await tasks.find_one({"_id": request_id})
                return doc is not None and doc["outbox"] == []

            await eventually(outbox_empty, what="the outbox to empty")
        assert await tasks.count_documents({"_id": request_id}) == 1
        doc = await tasks.find_one({"_id": request_id})
        assert len(doc["history"]) == 1 and doc["seq"] == 1
        assert [e["data"]["request_id"] for e in seen.of_type("task.dispatched")] == [request_id]
        await bus.close()


async def test_a_duplicated_event_changes_nothing_twice(
    make_settings: Callable[..., Any], mongo: AsyncMongoClient[dict[str, Any]], run_service: Any
) -> None:
    settings = make_settings()
    keys = ["request.submitted", "task.dispatched"]
    async with (
        Observer(settings.amqp_url, settings.events_exchange, keys) as seen,
        run_service("intake") as (intake, _),
        run_service("routing"),
        run_service("notify") as (notify, _),
    ):
        code = (await intake.post("/v1/requests", json=REQUEST, headers=KEY)).json()["tracking_code"]

        async def inbox() -> list[Any]:
            r = await notify.get(f"/v1/inbox/{code}")
            return r.json()["messages"] if r.status_code == 200 and len(r.json()["messages"]) == 2 else []

        await eventually(inbox, what="the first two inbox messages")
        await eventually(lambda: len(seen.messages) == 2, what="both events observed")
        before = {
            (q, t): handled(settings.queue(q), t)
            for q, t in (
                ("routing.request-events", "request.submitted"),
                ("notify.events", "task.dispatched"),
                ("intake.task-events", "task.dispatched"),
                ("notify.events", "request.submitted"),
            )
        }
        # Publish both events again, twice each, byte for byte (same event_id): duplicates and redeliveries.
        bus = Bus(settings, producer="test")
        await bus.connect()
        for message in list(seen.messages) * 2:
            await bus.publish_raw(
                settings.events_exchange, message.routing_key or "", message.body, message_id=message.message_id or ""
            )
        for (q, t), n in before.items():
            await eventually(lambda q=q, t=t, n=n: handled(settings.queue(q), t) == n + 2, what=f"{q} saw {t} twice")
        await bus.close()

        tasks = mongo[settings.routing_mongodb_db]["tasks"]
        assert await tasks.count_documents({"tracking_code": code}) == 1
        assert len(seen.of_type("task.dispatched")) == 1  # routing did not dispatch again
        track = (await intake.get(f"/v1/track/{code}")).json()
        assert [e["type"] for e in track["timeline"]] == ["request.submitted", "task.dispatched"]
        assert len(await inbox()) == 2


async def test_the_sweeper_publishes_what_a_killed_writer_left_in_the_outbox_exactly_once(
    make_settings: Callable[..., Any], mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    from services.intake.config import IntakeSettings

    settings = make_settings(IntakeSettings)
    n = 30
    async with Observer(settings.amqp_url, settings.events_exchange, ["request.submitted"]) as seen:
        crasher = subprocess.run(
            [sys.executable, "-m", "tests.integration.crashers", "writer-dies-before-publish", str(n)],
            env=env_for(settings),
            timeout=120,
        )
        assert crasher.returncode == 137
        requests = mongo[settings.intake_mongodb_db]["requests"]
        assert await requests.count_documents({"outbox.event_id": {"$exists": True}}) == n
        assert seen.messages == []

        # Two replicas' relays sweep at the same time; the lease keeps them from publishing twice.
        buses = [Bus(settings, producer="intake") for _ in range(2)]
        relays = []
        for bus in buses:
            await bus.connect()
            relay = OutboxRelay(bus, OutboxWriter(new_owner_id("intake"), 30.0), [requests], sweep_interval_s=0.1)
            relay.start()
            relays.append(relay)
        try:
            await eventually(lambda: len(seen.messages) >= n, timeout=60, what=f"{n} events published")

            async def all_settled() -> bool:
                return await requests.count_documents({"outbox.event_id": {"$exists": True}}) == 0

            await eventually(all_settled, what="every outbox emptied")
        finally:
            for relay in relays:
                await relay.stop()
            for bus in buses:
                await bus.close()
        ids = seen.event_ids("request.submitted")
        assert len(ids) == n and len(set(ids)) == n  # all of them, none twice


@pytest.fixture
def own_mongo() -> Any:
    """A MongoDB of the test's own, on a fixed port, that the test can stop and start again."""
    port = free_port()
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> str:
        proc = subprocess.Popen(
            [sys.executable, "-m", "huiying.cli", "mongo", "--engine", "memory", "--port", str(port)],
            stdout=subprocess.PIPE,
        )
        procs.append(proc)
        return read_ready_line(proc, 30)

    def kill() -> None:
        for proc in procs:
            stop(proc)

    yield start, kill
    kill()


async def test_a_database_outage_is_retried_with_a_delay_and_nothing_is_lost(
    make_settings: Callable[..., Any], run_service: Any, own_mongo: Any
) -> None:
    start, kill = own_mongo
    uri = start()
    async with Observer(make_settings().amqp_url, make_settings().events_exchange, ["task.dispatched"]) as seen:
        async with run_service("routing", routing_mongodb_uri=uri, mongodb_timeout_ms=300) as (_, app):
            settings = app.state.settings
            queue = settings.queue("routing.request-events")
            kill()  # the database goes down
            async with run_service("intake") as (intake, _):
                r = await intake.post("/v1/requests", json=REQUEST, headers=KEY)
                assert r.status_code == 201
            await eventually(
                lambda: handled(queue, "request.submitted", "retry") >= 2,
                timeout=30,
                what="retries while the database is down",
            )
            assert seen.messages == []
            start()  # back on the same port (empty: memory engine), pymongo reconnects
            await eventually(
                lambda: len(seen.of_type("task.dispatched")) == 1,
                timeout=30,
                what="dispatch after the database came back",
            )
            assert handled(queue, "request.submitted", "dead_lettered") == 0


@pytest.mark.skipif(not private_broker.available(), reason="needs rabbitmq-server to start a private node")
async def test_publishing_survives_a_broker_restart(make_settings: Callable[..., Any], run_service: Any) -> None:
    broker = await asyncio.to_thread(private_broker.make_private_broker)
    try:
        overrides = {"amqp_url": broker.url, "amqp_management_url": broker.management_url}
        async with (
            run_service("intake", **overrides) as (intake, _),
            run_service("routing", **overrides),
            run_service("notify", **overrides) as (notify, _),
        ):

            async def inbox_of(code: str) -> Callable[[], Any]:
                async def probe() -> bool:
                    r = await notify.get(f"/v1/inbox/{code}")
                    return r.status_code == 200 and len(r.json()["messages"]) == 2

                return probe

            first = (await intake.post("/v1/requests", json=REQUEST, headers=KEY)).json()["tracking_code"]
            await eventually(await inbox_of(first), timeout=30, what="the first request end to end")

            await asyncio.to_thread(broker.stop)
            # The broker is down: intake still accepts; the event waits in the outbox.
            r = await intake.post("/v1/requests", json=REQUEST, headers=KEY)
            assert r.status_code == 201
            during = r.json()["tracking_code"]
            await asyncio.to_thread(broker.start)

            # Robust connections come back, consumers resume, the sweeper publishes what waited.
            await eventually(await inbox_of(during), timeout=90, what="the request made during the outage")
            after = (await intake.post("/v1/requests", json=REQUEST, headers=KEY)).json()["tracking_code"]
            await eventually(await inbox_of(after), timeout=30, what="a request after the restart")
    finally:
        await asyncio.to_thread(broker.destroy)
