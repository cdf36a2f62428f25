"""The topology against the real RabbitMQ: declared whole before anything is published, settings held by
policies that change on live queues, mandatory publishing, the alternate exchange, fail-over."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import aio_pika
import pytest
from pymongo import AsyncMongoClient

from shared.bus import Bus, TopologyMismatch, Unroutable
from shared.events import new_event
from shared.events.staff import StaffChanged
from shared.metrics import EVENTS_RETURNED
from shared.outbox import OutboxRelay, OutboxWriter
from shared.policies import Management, current_policies, queues_info
from shared.settings import Settings
from shared.topology import QUEUE_TYPE
from tests.integration.test_bus_reliability import submitted
from tests.support import eventually, free_port


async def queue_depth(settings: Settings, name: str) -> int:
    connection = await aio_pika.connect(settings.amqp_urls[-1])
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(name, passive=True)
        return int(queue.declaration_result.message_count or 0)


async def test_every_service_declares_every_queue_so_an_early_event_waits_for_its_consumer(
    settings: Settings,
) -> None:
    intake = Bus(settings, producer="intake")  # intake alone: no routing, no notify running
    await intake.connect()
    try:
        topology = await intake.declare_topology()
        await intake.publish(submitted("early"))
        for consumer in ("routing.request-events", "notify.events"):
            name = topology.queue_name(consumer)
            await eventually(lambda n=name: queue_depth(settings, n), what=f"the event to wait in {name}")
        assert await queue_depth(settings, topology.queue_name("intake.task-events")) == 0  # not bound to request.*
    finally:
        await intake.close()


async def test_queues_carry_only_their_type_and_their_settings_come_from_policies(settings: Settings) -> None:
    bus = Bus(settings, producer="test")
    await bus.connect()
    try:
        topology = await bus.declare_topology(["t1"])
        info = await queues_info(settings)
        for queue in topology.queues():
            assert info[queue.name]["arguments"] == QUEUE_TYPE, queue.name
        main = topology.queue_name("routing.request-events")
        await has_policy(
            settings,
            main,
            {
                "dead-letter-exchange": topology.dead_letter_exchange,
                "dead-letter-routing-key": main,
                "dead-letter-strategy": "at-least-once",
                "overflow": "reject-publish",
                "delivery-limit": settings.delivery_limit,
                "expires": settings.queue_expires_ms,
            },
        )
        await has_policy(
            settings, f"{main}.retry", {"message-ttl": settings.retry_delay_ms, "dead-letter-exchange": ""}
        )
        work = topology.work_queue("t1")
        await has_policy(settings, work, {"dead-letter-exchange": topology.work_dead_letter_exchange})
        await has_policy(settings, work, {"dead-letter-routing-key": "t1"})
        policies = await current_policies(settings)
        assert policies[settings.events_exchange]["definition"] == {"alternate-exchange": topology.unroutable}
        # Every policy this test made is named with the test's own prefix and matches exact names only.
        mine = [p for p in policies.values() if p["name"].startswith(settings.queue_prefix)]
        assert {p["name"] for p in mine} == topology.policy_names()
        assert all(p["pattern"].startswith("^") and p["pattern"].endswith("$") for p in mine)
    finally:
        await bus.close()


async def has_policy(settings: Settings, queue: str, expected: dict[str, Any]) -> None:
    """Wait until the management API shows `expected` in the queue's effective policy (its statistics lag)."""

    async def shown() -> dict[str, Any]:
        effective = (await queues_info(settings)).get(queue, {}).get("effective_policy_definition") or {}
        return {k: effective.get(k) for k in expected}

    await eventually(lambda: _equal(shown(), expected), timeout=20, what=f"{queue}'s policy to show {expected}")


async def _equal(actual: Any, expected: dict[str, Any]) -> bool:
    return bool(await actual == expected)


async def test_a_delivery_limit_changed_by_policy_holds_on_the_existing_queue_without_deleting_it(
    make_settings: Any,
) -> None:
    """deploy/README's procedure: change the setting, apply the policies; the queue and its messages stay."""
    before = make_settings(delivery_limit=5)
    bus = Bus(before, producer="test")
    await bus.connect()
    try:
        topology = await bus.declare_topology()
        queue = topology.queue_name("routing.request-events")
        await bus.publish(submitted("waiting"))  # a message in the queue while its settings change
        await eventually(lambda: queue_depth(before, queue), what="the message in the queue")

        after = make_settings(delivery_limit=1)
        changer = Bus(after, producer="operator")  # what `huiying topology apply` does
        await changer.apply_policies(changer.topology)

        await has_policy(after, queue, {"delivery-limit": 1})
        connection = await aio_pika.connect(after.amqp_url)
        async with connection:
            # The message that was there before the change is still there (nothing was deleted), and now a
            # consumer that dies twice without acking dead-letters it: delivery limit 1 = two deliveries.
            for delivery in range(2):
                channel = await connection.channel()
                q = await channel.declare_queue(queue, passive=True)
                message = await eventually(
                    lambda q=q: q.get(no_ack=False, fail=False), timeout=10, what=f"delivery {delivery + 1}"
                )
                assert json.loads(message.body)["data"]["request_id"] == "waiting"
                await channel.close()
        await eventually(lambda: queue_depth(after, f"{queue}.dlq"), what="the message in the DLQ")
        assert await queue_depth(after, queue) == 0
    finally:
        await bus.close()


async def test_an_event_no_queue_takes_lands_in_the_alternate_exchange_and_is_counted(settings: Settings) -> None:
    bus = Bus(settings, producer="test")
    await bus.connect()
    try:
        topology = await bus.declare_topology()
        await eventually(lambda: _exchange_policy(settings), what="the alternate-exchange policy")
        await bus.publish_raw(settings.events_exchange, "nobody.listens", b"{}", message_id="m1", mandatory=True)
        assert await eventually(bus.unroutable_count, what="the message in huiying.unroutable") == 1
        assert await queue_depth(settings, topology.unroutable) == 1
    finally:
        await bus.close()


async def _exchange_policy(settings: Settings) -> bool:
    node = Management.of(settings)[0]
    async with node.client() as client:
        r = await client.get(f"/api/exchanges/%2F/{settings.events_exchange}")
        return r.status_code == 200 and bool(r.json().get("policy"))


async def test_a_returned_event_is_a_failed_publish_and_stays_in_its_outbox(
    make_settings: Any, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    """No queue and no alternate exchange take `staff.changed` here (policies are not applied): the broker
    returns the mandatory publish, the bus raises, and the event stays in the outbox for the sweeper."""
    settings = make_settings(broker_policies="skip")
    bus = Bus(settings, producer="routing")
    await bus.connect()  # the exchange only: nothing bound
    collection = mongo[settings.routing_mongodb_db]["staff"]
    relay = OutboxRelay(bus, OutboxWriter("test", 5.0), [collection], sweep_interval_s=60)
    try:
        event = new_event(_staff_changed(), producer="routing", seq=1)
        returned = EVENTS_RETURNED.labels(producer="routing", type="staff.changed")._value.get()
        try:
            await bus.publish(event)
            raise AssertionError("an unroutable mandatory publish must raise")
        except Unroutable:
            pass
        assert EVENTS_RETURNED.labels(producer="routing", type="staff.changed")._value.get() == returned + 1
        doc = {"_id": "staff:wang", "outbox": [event.to_document()], "outbox_lease": {"owner": "test"}}
        await collection.insert_one(doc)
        assert await relay.publish_after_write(collection, doc) is False
        stored = await collection.find_one({"_id": "staff:wang"})
        assert stored is not None and [e["event_id"] for e in stored["outbox"]] == [str(event.event_id)]
    finally:
        await bus.close()


def _staff_changed() -> StaffChanged:
    from datetime import UTC, datetime

    return StaffChanged(
        request_id="staff:wang",
        username="wang",
        token_version=1,
        active=True,
        role="member",
        change="created",
        changed_at=datetime.now(UTC),
    )


async def test_the_bus_skips_a_dead_node_and_fails_over_when_its_connection_is_lost(make_settings: Any) -> None:
    dead = f"amqp://guest:guest@127.0.0.1:{free_port()}/"
    live = make_settings().amqp_url
    settings = make_settings(amqp_url=f"{dead},{live}", amqp_reconnect_interval_s=0.2)
    producer = f"failover-{settings.queue_prefix}"  # its connection, and no other test's, is cut below
    bus = Bus(settings, producer=producer)
    await bus.connect()
    try:
        topology = await bus.declare_topology()
        connection = bus._connection
        assert connection is not None and str(connection.node.port) == live.split(":")[-1].strip("/")
        # Cut the connection from the broker's side: the robust connection tries the next node (the dead
        # one), then the live one again, and carries on publishing.
        await _cut_connections(make_settings(), f"huiying-{producer}")
        await eventually(lambda: not bus.is_connected, timeout=10, what="the connection to drop")
        await eventually(lambda: bus.is_connected, timeout=20, what="the bus to reconnect")
        await bus.publish(submitted("after-failover"))
        await eventually(
            lambda: queue_depth(settings, topology.queue_name("routing.request-events")),
            what="the event after fail-over",
        )
    finally:
        await bus.close()


async def _cut_connections(settings: Settings, connection_name: str) -> None:
    node = Management.of(settings)[0]
    async with node.client() as client:

        async def listed() -> list[str]:
            connections = (await client.get("/api/connections")).json()
            return [c["name"] for c in connections if c["client_properties"].get("connection_name") == connection_name]

        for name in await eventually(listed, what=f"the connection {connection_name} in the management API"):
            await client.delete(f"/api/connections/{quote(name, safe='')}")


async def test_migrate_moves_a_queue_with_old_arguments_to_policies_and_keeps_its_messages(settings: Settings) -> None:
    from huiying.topology import migrate

    queue = settings.queue("routing.request-events")
    old_arguments = {
        "x-queue-type": "quorum",
        "x-dead-letter-exchange": f"{settings.events_exchange}.dlx",
        "x-dead-letter-routing-key": queue,
        "x-delivery-limit": 5,
    }
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(settings.events_exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        old = await channel.declare_queue(queue, durable=True, arguments=old_arguments)
        await old.bind(exchange, routing_key="request.submitted")
    bus = Bus(settings, producer="test")
    await bus.connect()
    try:
        for i in range(3):
            await bus.publish(submitted(f"old-{i}"))
        with pytest.raises(TopologyMismatch, match="huiying topology migrate"):
            await bus.declare_topology()
    finally:
        await bus.close()

    assert await migrate(settings) == [queue]
    info = await queues_info(settings)
    assert info[queue]["arguments"] == QUEUE_TYPE and f"{queue}.migrating" not in info
    assert await queue_depth(settings, queue) == 3  # nothing lost on the way
    await has_policy(settings, queue, {"delivery-limit": settings.delivery_limit})
    assert await migrate(settings) == []  # nothing left to move


async def test_a_throwaway_stacks_topology_is_deleted_whole_with_its_policies(settings: Settings) -> None:
    """What `huiying bench --spawn` does when it ends."""
    from huiying.topology import delete_all

    bus = Bus(settings, producer="test")
    await bus.connect()
    try:
        topology = await bus.declare_topology(["t1"])
    finally:
        await bus.close()
    await delete_all(settings, topology)
    left = [name for name in await queues_info(settings) if name.startswith(settings.queue_prefix)]
    assert left == []
    assert [p for p in await current_policies(settings) if p.startswith(settings.queue_prefix)] == []
