"""A publish the broker refuses (a negative confirm, not a return) raises PublishRefused and renews the
bus's publishing channel (shared/renewal.py); the next publish goes out on the new channel.

The refusal here comes from a full quorum queue (max length 1, overflow reject-publish), the one way to get
a nack from a single node; on a cluster it also came from a channel opened as a queue's leader died."""

from __future__ import annotations

from typing import Any

import aio_pika
import pytest

from shared.bus import Bus, PublishRefused
from shared.metrics import PUBLISH_CHANNEL_RENEWALS
from shared.settings import Settings
from tests.integration.test_bus_reliability import drain, submitted


@pytest.fixture
async def bus(settings: Settings) -> Any:
    b = Bus(settings, producer="test")
    await b.connect()
    yield b
    await b.close()


async def test_a_refused_publish_raises_and_the_next_one_goes_out_on_a_new_channel(
    bus: Bus, settings: Settings, amqp_url: str
) -> None:
    full = settings.queue("t.full")
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(
            full,
            durable=True,
            arguments={"x-queue-type": "quorum", "x-max-length": 1, "x-overflow": "reject-publish"},
        )
        await queue.bind(settings.events_exchange, routing_key="request.submitted")

    before, renewals = bus._publish_channel, PUBLISH_CHANNEL_RENEWALS._value.get()
    taken = 0
    # A quorum queue takes the message that fills it and refuses from then on (its leader tells the channel).
    with pytest.raises(PublishRefused):
        for i in range(10):
            await bus.publish(submitted(f"r{i}"))
            taken += 1
    assert 1 <= taken < 10
    assert bus._publish_channel is not before and before is not None and before.is_closed
    assert PUBLISH_CHANNEL_RENEWALS._value.get() == renewals + 1

    await drain(amqp_url, full, taken)
    await bus.publish(submitted("after"))
    assert [m.correlation_id for m in await drain(amqp_url, full, 1)] == ["after"]
    assert bus.is_connected
