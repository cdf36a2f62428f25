"""The named faults, each injected once, mid-load, into a stack of separate processes.

Every fault is a function of the running `Scene` (the stack, the broker node or cluster, the run's names)
that returns a short description of what it did. Faults that kill a service leave its restart to the
stack's supervisor (as `huiying run` does), after `hold_s` seconds down.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aio_pika

from huiying.chaos.audit import connect_any
from huiying.chaos.scene import Scene

Inject = Callable[["Scene"], Awaitable[str]]


@dataclass(frozen=True)
class Fault:
    name: str
    what: str
    inject: Inject
    replicas: int = 1  # at least this many of each service
    engines: tuple[tuple[str, str], ...] = ()  # (service, engine) overrides of the embedded databases
    cluster: bool = False  # needs a cluster (--nodes 3)


async def _kill(scene: Scene, name: str, hold_s: float) -> str:
    pid = await asyncio.to_thread(scene.stack.kill, name, hold_s)
    return f"SIGKILL {name} (pid {pid}), restarted by the supervisor after {hold_s:.0f}s"


def kill_service(service: str, hold_s: float = 2.0) -> Inject:
    async def inject(scene: Scene) -> str:
        return await _kill(scene, service, hold_s)

    return inject


async def kill_database(scene: Scene) -> str:
    return await _kill(scene, "mongo-routing", 3.0) + " (SQLite engine: its data survives)"


async def kill_one_replica_of_each(scene: Scene) -> str:
    done = [await _kill(scene, f"{s}-2", 10.0) for s in ("intake", "routing", "notify")]
    return f"of {scene.stack.replicas} replicas each: " + "; ".join(done)


async def broker_stop_start(scene: Scene) -> str:
    node = scene.node
    assert node is not None
    started = time.monotonic()
    await asyncio.to_thread(node.stop)
    await asyncio.sleep(3)  # the outage itself
    await asyncio.to_thread(node.start)
    return f"rabbitmqctl stop, then start: the broker was away {time.monotonic() - started:.0f}s"


async def network_cut(scene: Scene, service: str = "routing", seconds: float = 5.0) -> str:
    """Close every connection of the service as soon as it is (re)made, for `seconds`."""
    node = scene.node
    assert node is not None
    end, closed = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        closed += await asyncio.to_thread(node.close_connections, f"huiying-{service}")
        await asyncio.sleep(0.3)
    return f"closed {closed} connection(s) of {service} over {seconds:.0f}s (rabbitmqctl close_connection)"


POISON_COUNT = 10


async def poison(scene: Scene) -> str:
    """Undecodable bodies and events of an unknown type, on the keys the consumers listen to."""
    connection = await connect_any(scene.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        events = await channel.get_exchange(scene.settings.events_exchange)
        for i in range(POISON_COUNT):
            body = b"\xff not json" if i % 2 else json_envelope("request.bogus")
            key = "request.submitted" if i % 2 else "request.bogus"
            message = aio_pika.Message(
                body, message_id=str(uuid.uuid4()), type=key, delivery_mode=aio_pika.DeliveryMode.PERSISTENT
            )
            await events.publish(message, routing_key=key)
    return f"published {POISON_COUNT} poison messages (undecodable, unknown type)"


def json_envelope(event_type: str) -> bytes:
    import json

    return json.dumps({"event_id": str(uuid.uuid4()), "type": event_type, "data": {"x": 1}}).encode()


async def kill_node(scene: Scene) -> str:
    cluster = scene.cluster
    assert cluster is not None
    node = await asyncio.to_thread(cluster.kill, 1)
    scene.revive.append(node.node)
    return f"SIGKILL node {node.node} (the first in every service's list)"


async def kill_busiest_leader(scene: Scene) -> str:
    cluster = scene.cluster
    assert cluster is not None
    queue, node = await asyncio.to_thread(cluster.kill_busiest_leader, scene.settings.queue_prefix)
    scene.revive.append(node.node)
    return f"SIGKILL {node.node}, the leader of the busiest queue {queue}"


FAULTS: dict[str, Fault] = {
    f.name: f
    for f in (
        Fault("kill-intake", "kill -9 intake", kill_service("intake")),
        Fault("kill-routing", "kill -9 routing", kill_service("routing")),
        Fault("kill-notify", "kill -9 notify", kill_service("notify")),
        Fault(
            "kill-database", "kill -9 routing's database, restarted", kill_database, engines=(("routing", "sqlite"),)
        ),
        Fault("broker-restart", "broker stop and start", broker_stop_start),
        Fault("replica-killed", "one replica of each service killed", kill_one_replica_of_each, replicas=2),
        Fault("network-cut", "routing's broker connections cut for 5 s", network_cut),
        Fault("poison", f"{POISON_COUNT} poison messages", poison),
        Fault("node-killed", "one RabbitMQ node of three killed", kill_node, cluster=True),
        Fault("leader-killed", "leader of the busiest quorum queue killed", kill_busiest_leader, cluster=True),
    )
}
ONE_NODE = [name for name, f in FAULTS.items() if not f.cluster]
THREE_NODES = [name for name, f in FAULTS.items() if f.cluster]


def describe(names: list[str]) -> list[Any]:
    return [FAULTS[n] for n in names]
