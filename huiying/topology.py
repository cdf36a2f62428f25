"""`huiying topology`: show, apply, migrate the event topology of shared/topology.py, and write the RabbitMQ
definitions file deploy/rabbitmq/definitions.json from it.

    huiying topology show                  what every service declares, and the policies
    huiying topology apply                 declare it all and put the policies in place (management API)
    huiying topology migrate               move queues declared with the old x-arguments to plain quorum
                                           queues whose settings are policies (services stopped)
    huiying topology definitions [--check] write (or check) deploy/rabbitmq/definitions.json
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aio_pika

from shared.bus import BrokerUnavailable, Bus, TopologyMismatch
from shared.policies import PoliciesUnavailable, apply_policies, delete_policies, queues_info
from shared.settings import SERVICES, Settings
from shared.topology import PUBLISHES, QUEUE_TYPE, Topology, describe

ROOT = Path(__file__).resolve().parents[1]
DEFINITIONS = ROOT / "deploy" / "rabbitmq" / "definitions.json"
VHOST = "huiying"


def teams() -> list[str]:
    """The team ids of deploy/teams.yaml (routing's directory): each has a work queue."""
    from services.routing.config import RoutingSettings, read_directory

    return [team.id for team in read_directory(RoutingSettings().teams_path).teams]


def topology_of(settings: Settings) -> Topology:
    return Topology.of(settings, teams=teams())


# -- definitions.json ----------------------------------------------------------------------------------


def _names(topology: Topology, *, work: bool = True) -> str:
    """A regex for the exchanges and queues of the topology (by their first word: huiying.*, intake.*, ...);
    without `work`, not the team work queues nor the work exchanges (only routing publishes work items)."""
    names = {e.name for e in topology.exchanges()} | {q.name for q in topology.queues()}
    if not work:
        work_names = {topology.work_exchange, topology.work_dead_letter_exchange}
        names = {n for n in names if n not in work_names and not n.startswith(topology.queue_name("work."))}
        exact = sorted(n for n in names if n.startswith("huiying."))
        words = sorted({n.split(".")[0] for n in names if not n.startswith("huiying.")})
        return "^(" + "|".join([*(re.escape(n) for n in exact), *(f"{w}\\..*" for w in words)]) + ")$"
    return "^(" + "|".join(f"{w}\\..*" for w in sorted({n.split(".")[0] for n in names})) + ")$"


def definitions(topology: Topology, vhost: str = VHOST) -> dict[str, Any]:
    """A RabbitMQ definitions document: the vhost, one user per service (passwords are set by the operator,
    see deploy/README.md), their permissions, the topology and its policies.

    Topic permissions on the events exchange let each service publish only its own event types."""
    everything = _names(topology)
    users, permissions, topic_permissions = [], [], []
    for service in SERVICES:
        user = f"huiying-{service}"
        # No password here: a definitions file in git must not carry one (`rabbitmqctl change_password`).
        users.append({"name": user, "password_hash": "", "hashing_algorithm": "rabbit_password_hashing_sha256",
                      "tags": []})  # fmt: skip
        # The default exchange: the bus parks retries in Q.retry through it.
        write = _names(topology, work=service == "routing")[:-2] + "|amq\\.default)$"
        permissions.append({"user": user, "vhost": vhost, "configure": everything, "write": write,
                            "read": everything})  # fmt: skip
        keys = PUBLISHES[service]
        topics = "^(" + "|".join(re.escape(k).replace(r"\*", "[^.]+") for k in keys) + ")$" if keys else "^$"
        topic_permissions.append(
            {"user": user, "vhost": vhost, "exchange": topology.events_exchange, "write": topics, "read": ".*"}
        )
    exchanges = [
        {"name": e.name, "vhost": vhost, "type": e.type, "durable": True, "auto_delete": False, "internal": False,
         "arguments": {}}
        for e in topology.exchanges()
    ]  # fmt: skip
    queues = [
        {"name": q.name, "vhost": vhost, "durable": True, "auto_delete": False, "arguments": dict(QUEUE_TYPE)}
        for q in topology.queues()
    ]
    bindings = [
        {"source": b.exchange, "vhost": vhost, "destination": q.name, "destination_type": "queue",
         "routing_key": b.key, "arguments": {}}
        for q in topology.queues() for b in q.bindings
    ]  # fmt: skip
    return {
        "vhosts": [{"name": vhost}],
        "users": users,
        "permissions": permissions,
        "topic_permissions": topic_permissions,
        "policies": [p.as_definition(vhost) for p in topology.policies()],
        "exchanges": exchanges,
        "queues": queues,
        "bindings": bindings,
    }


def render_definitions() -> str:
    """deploy/rabbitmq/definitions.json: production names (no prefix) and the default settings."""
    settings = Settings(_env_file=None, amqp_url="amqp://localhost/")  # type: ignore[call-arg]
    return json.dumps(definitions(topology_of(settings)), indent=2, ensure_ascii=False) + "\n"


# -- apply and migrate -----------------------------------------------------------------------------------


async def apply(settings: Settings) -> int:
    topology = topology_of(settings)
    changed = await apply_policies(settings, topology.policies())
    bus = Bus(settings, producer="topology")
    await bus.connect()
    try:
        await bus.declare_topology(topology.teams)
    finally:
        await bus.close()
    print(
        f"topology declared: {len(topology.queues())} queues, {len(topology.policies())} policies ({changed} changed)"
    )
    return 0


async def migrate(settings: Settings) -> list[str]:
    """Move every queue of the topology that still carries old x-arguments to a plain quorum queue, keeping
    its messages: Q -> Q.migrating (bound like Q meanwhile) -> delete Q -> declare Q -> Q.migrating -> Q.
    Refuses a queue that has consumers: stop the services first (deploy/README.md)."""
    topology = topology_of(settings)
    existing = await queues_info(settings)
    old = [q for q in topology.queues() if q.name in existing and existing[q.name]["arguments"] != QUEUE_TYPE]
    if not old:
        return []
    if busy := [q.name for q in old if existing[q.name].get("consumers")]:
        raise TopologyMismatch(f"stop the services first: {', '.join(busy)} still have consumers")
    await apply_policies(settings, topology.policies())
    connection = await aio_pika.connect(settings.amqp_urls[0])
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        for queue in old:
            holding = await channel.declare_queue(f"{queue.name}.migrating", durable=True, arguments=dict(QUEUE_TYPE))
            for binding in queue.bindings:
                await holding.bind(binding.exchange, routing_key=binding.key)
            source = await channel.declare_queue(queue.name, passive=True)
            await _move(channel, source, holding.name)
            # Quorum queues have no delete-if-empty; nothing is lost all the same: whatever reaches Q from now
            # on reaches Q.migrating too (same bindings), and consumers are idempotent.
            await channel.queue_delete(queue.name)
            target = await channel.declare_queue(queue.name, durable=True, arguments=dict(QUEUE_TYPE))
            for binding in queue.bindings:
                await target.bind(binding.exchange, routing_key=binding.key)
            for binding in queue.bindings:
                await holding.unbind(binding.exchange, routing_key=binding.key)
            await _move(channel, holding, queue.name)
            await channel.queue_delete(holding.name)
    return [q.name for q in old]


async def _move(channel: aio_pika.abc.AbstractChannel, source: aio_pika.abc.AbstractQueue, target: str) -> int:
    """Move every message of `source` to `target`: confirmed publish first, then ack (a crash copies twice,
    never loses; consumers are idempotent)."""
    moved = 0
    while (message := await source.get(no_ack=False, fail=False)) is not None:
        await channel.default_exchange.publish(
            Bus._copy(message, dict(message.headers or {})),
            routing_key=target,
            mandatory=True,
        )
        await message.ack()
        moved += 1
    return moved


async def delete_all(settings: Settings, topology: Topology) -> None:
    """Delete every queue, exchange and policy of a throwaway stack's `topology` (a bench's, a test's)."""
    if not topology.prefix:
        raise ValueError("refusing to delete a topology without a queue prefix (production's)")
    await delete_policies(settings, topology.prefix)
    connection = await aio_pika.connect(settings.amqp_urls[0])
    async with connection:
        channel = await connection.channel()
        for queue in topology.queues():
            await channel.queue_delete(queue.name)
        for exchange in topology.exchanges():
            await channel.exchange_delete(exchange.name)


def main(settings: Settings, action: str, *, check: bool = False, out: str | None = None) -> int:
    import asyncio
    import sys

    try:
        if action == "show":
            print(describe(topology_of(settings)))
            return 0
        if action == "definitions":
            path, text = Path(out) if out else DEFINITIONS, render_definitions()
            if check:
                if not path.exists() or path.read_text() != text:
                    print(f"{path} is stale: run `huiying topology definitions`", file=sys.stderr)
                    return 1
                print(f"{path} is up to date")
                return 0
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path}")
            return 0
        if action == "apply":
            return asyncio.run(apply(settings))
        moved = asyncio.run(migrate(settings))
        print("migrated: " + (", ".join(moved) if moved else "nothing (every queue is policy-based already)"))
        return 0
    except (BrokerUnavailable, PoliciesUnavailable, TopologyMismatch) as exc:
        print(f"huiying topology: {exc}", file=sys.stderr)
        return 2
