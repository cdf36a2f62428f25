"""The bus against the real RabbitMQ: dead-lettering, delayed retries, the queue's own delivery limit."""

from __future__ import annotations

import itertools
import json
import re
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import aio_pika
import pytest
from pymongo.errors import AutoReconnect

from shared.bus import ERROR_HEADER, FAILURES_HEADER, RETRIES_HEADER, Bus, Poison, RetryLater
from shared.events import Envelope, EventData, Location, RequestSubmitted, Resident, new_event
from shared.metrics import EVENTS_HANDLED
from shared.settings import Settings
from tests.support import eventually


def submitted(request_id: str) -> Envelope:
    return new_event(
        RequestSubmitted(
            request_id=request_id,
            tracking_code="HY0000000000",
            service_code="property_repair",
            description="x",
            location=Location(address="1号楼"),
            resident=Resident(name="n", phone="+8613800138000"),
            channel="web",
            submitted_at=datetime.now(UTC),
        ),
        producer="test",
        seq=1,
    )


async def drain(
    url: str, queue: str, count: int = 1, timeout: float = 15
) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """Wait until `count` messages have been taken from `queue`; return them (acked)."""
    connection = await aio_pika.connect(url)
    out: list[aio_pika.abc.AbstractIncomingMessage] = []
    async with connection:
        channel = await connection.channel()
        q = await channel.declare_queue(queue, passive=True)

        async def enough() -> bool:
            while (m := await q.get(no_ack=False, fail=False)) is not None:
                await m.ack()
                out.append(m)
            return len(out) >= count

        await eventually(enough, timeout=timeout, what=f"{count} message(s) in {queue}")
    return out


@pytest.fixture
async def bus(settings: Settings) -> Any:
    b = Bus(settings, producer="test")
    await b.connect()
    yield b
    await b.close()


async def test_poison_message_goes_to_dlq_after_the_delivery_limit_while_others_flow(
    bus: Bus, settings: Settings
) -> None:
    queue = settings.queue("t.poison")
    calls: Counter[str] = Counter()
    handled: list[str] = []

    async def handler(_env: Envelope, data: EventData) -> None:
        calls[data.request_id] += 1
        if data.request_id == "poison":
            raise ValueError("this one can never be handled")
        handled.append(data.request_id)

    await bus.subscribe(queue, {"request.submitted": handler})
    await bus.publish(submitted("poison"))
    for i in range(20):
        await bus.publish(submitted(f"good-{i}"))

    await eventually(lambda: len(handled) == 20, what="the good messages")
    dead = await drain(settings.amqp_url, f"{queue}.dlq")
    assert [json.loads(m.body)["data"]["request_id"] for m in dead] == ["poison"]
    assert calls["poison"] == settings.delivery_limit == 3
    assert "ValueError" in dead[0].headers[ERROR_HEADER]
    assert dead[0].headers[FAILURES_HEADER] == 2  # two delayed retries, the third failure dead-letters
    assert sorted(handled) == sorted(f"good-{i}" for i in range(20))  # each good one exactly once


async def test_undecodable_and_explicit_poison_go_straight_to_the_dlq(bus: Bus, settings: Settings) -> None:
    queue = settings.queue("t.undecodable")
    calls: list[str] = []

    async def handler(_env: Envelope, data: EventData) -> None:
        calls.append(data.request_id)
        if data.request_id == "refuse":
            raise Poison("the request is for another community")

    await bus.subscribe(queue, {"request.*": handler})
    await bus.publish_raw(settings.events_exchange, "request.submitted", b"{not json", message_id="m1")
    await bus.publish_raw(
        settings.events_exchange,
        "request.submitted",
        json.dumps({"type": "request.submitted"}).encode(),
        message_id="m2",
    )
    await bus.publish(submitted("refuse"))
    await bus.publish(submitted("fine"))
    await eventually(lambda: "fine" in calls, what="the good message")
    dead = await drain(settings.amqp_url, f"{queue}.dlq", count=3)
    reasons = sorted(m.headers[ERROR_HEADER].split(":")[0] for m in dead)
    assert reasons == ["poison", "undecodable", "undecodable"]
    assert calls.count("refuse") == 1  # no retries for a declared poison


async def test_transient_failure_is_retried_with_a_delay_not_spun(bus: Bus, settings: Settings) -> None:
    queue = settings.queue("t.transient")
    attempts: list[float] = []

    async def handler(_env: Envelope, _data: EventData) -> None:
        attempts.append(time.monotonic())
        if len(attempts) == 1:
            raise AutoReconnect("database went away")
        if len(attempts) == 2:
            raise RetryLater("an earlier event has not arrived")

    await bus.subscribe(queue, {"request.submitted": handler})
    await bus.publish(submitted("r1"))
    await eventually(lambda: len(attempts) == 3, what="three attempts")
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert all(gap >= settings.retry_delay_ms / 1000 * 0.9 for gap in gaps), gaps  # waited, did not spin
    assert EVENTS_HANDLED.labels(queue=queue, type="request.submitted", outcome="retry")._value.get() == 2
    assert EVENTS_HANDLED.labels(queue=queue, type="request.submitted", outcome="ok")._value.get() == 1


async def test_transient_failures_give_up_into_the_dlq_after_the_retry_limit(
    make_settings: Any,
) -> None:
    settings = make_settings(transient_retry_limit=3)
    bus = Bus(settings, producer="test")
    await bus.connect()
    try:
        queue = settings.queue("t.giveup")
        attempts = 0

        async def handler(_env: Envelope, _data: EventData) -> None:
            nonlocal attempts
            attempts += 1
            raise AutoReconnect("still down")

        await bus.subscribe(queue, {"request.submitted": handler})
        await bus.publish(submitted("r1"))
        dead = await drain(settings.amqp_url, f"{queue}.dlq")
        assert attempts == 3 and dead[0].headers[RETRIES_HEADER] == 2
    finally:
        await bus.close()


async def test_a_message_that_keeps_killing_its_consumer_is_dead_lettered_by_the_queue(
    bus: Bus, settings: Settings
) -> None:
    """The quorum queue's own x-delivery-limit: a consumer that dies before ack (channel closes)."""
    queue = settings.queue("t.crashloop")
    await bus.declare_consumer_queue(queue, ["request.submitted"])
    await bus.publish(submitted("killer"))
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        # The queue allows delivery_limit returns: the message is delivered delivery_limit + 1 times.
        for attempt in range(settings.delivery_limit + 1):
            channel = await connection.channel()
            q = await channel.declare_queue(queue, passive=True)
            message = await eventually(
                lambda q=q: q.get(no_ack=False, fail=False), timeout=10, what=f"delivery {attempt + 1}"
            )
            assert json.loads(message.body)["data"]["request_id"] == "killer"
            await channel.close()  # "dies" without acking: RabbitMQ returns the message
        dead = await drain(settings.amqp_url, f"{queue}.dlq")
        assert json.loads(dead[0].body)["data"]["request_id"] == "killer"
        channel = await connection.channel()
        q = await channel.declare_queue(queue, passive=True)
        assert await q.get(no_ack=False, fail=False) is None  # no further delivery: it left the queue


async def test_topology_declares_quorum_queues_whose_dead_lettering_is_a_policy(bus: Bus, settings: Settings) -> None:
    from shared.policies import current_policies

    queue = settings.queue(f"t.topology-{uuid.uuid4().hex[:4]}")
    main = await bus.declare_consumer_queue(queue, ["request.submitted"])
    # Only the queue type is an argument: everything an operator may change later is a policy.
    assert main.arguments == {"x-queue-type": "quorum"}
    policy = (await current_policies(settings))[queue]
    assert policy["pattern"] == f"^{re.escape(queue)}$"
    assert policy["definition"]["dead-letter-exchange"] == f"{settings.events_exchange}.dlx"
    assert policy["definition"]["delivery-limit"] == settings.delivery_limit
    assert policy["definition"]["dead-letter-strategy"] == "at-least-once"
    # Declaring again is fine, also with other settings: they live in the policy, not in the queue.
    await bus.declare_consumer_queue(queue, ["request.submitted"])
