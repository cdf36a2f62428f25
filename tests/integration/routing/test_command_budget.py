"""What dispatching one request costs routing in database commands (issue 10): counted on routing's own
client (tests/integration/commands.py), from intake's `request.submitted` to the team's work item
published and the task's outbox settled.

The first request of each test warms what routing keeps in memory (rule set, staff); the budget is for
every request after it."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient

from shared.metrics import EVENTS_HANDLED
from tests.integration.commands import CommandCounter, count_commands
from tests.integration.routing.conftest import Routing, submitted
from tests.support import eventually

__all__ = ["count_commands"]  # the fixture

QUIET = {"routing_sla_sweep_interval_s": 3600, "outbox_sweep_interval_s": 3600}


async def dispatch_and_count(
    routing: Routing, counter: CommandCounter, mongo: AsyncMongoClient[dict[str, Any]], service_code: str
) -> CommandCounter:
    settings = routing.settings
    tasks = mongo[settings.mongodb_db("routing")]["tasks"]
    work_items = EVENTS_HANDLED.labels(queue=settings.queue("routing.work-items"), type="task.dispatched", outcome="ok")

    async def one(building: str) -> None:
        before = work_items._value.get()
        # Not the warm-up's building: a possible duplicate (并单) costs its marks on top of the budget.
        data = submitted(service_code, "想咨询劳动合同纠纷", building=building)
        await routing.publish(data)  # as intake; nothing asks routing's HTTP API while counting
        await eventually(lambda: work_items._value.get() > before, what="the work item published")
        # The settle waits in the relay's window (up to a second, shared with other requests); settle it now,
        # so the count does not take in the background loops' periodic commands of that second.
        for relay in routing.app.state.container.infra.relays:
            await relay.flush()

        async def settled() -> bool:
            return await tasks.find_one({"_id": data.request_id, "outbox.0": {"$exists": True}}) is None

        await eventually(settled, what="the task's outbox settled")

    await one("3")  # warm-up
    container = routing.app.state.container
    await eventually(lambda: container.sweeper.passes >= 1, what="the SLA sweeper's first pass")
    counter.reset()
    await one("5")
    print(f"routing, {service_code}: {counter.total} commands: {counter.summary()}")
    return counter


async def test_a_request_to_a_queue_team_costs_at_most_three_commands(
    start_routing: Any, count_commands: CommandCounter, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    async with start_routing(**QUIET) as routing:
        counter = await dispatch_and_count(routing, count_commands, mongo, "legal_aid")
        # the task with its events (one insert), the look-up of possible duplicates and repeats (并单, one find
        # by an index), the outbox settled; the work item is built from what the insert stored (no read)
        assert counter.total <= 3, counter.summary()
        assert counter.writes <= 2, counter.summary()


async def test_a_request_to_a_load_balanced_team_costs_at_most_four_commands_too(
    start_routing: Any, count_commands: CommandCounter, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    # property_maintenance: two members on duty, the fewest open tasks chooses (loads kept per TTL)
    async with start_routing(routing_cache_ttl_s=60, **QUIET) as routing:
        counter = await dispatch_and_count(routing, count_commands, mongo, "property_repair")
        # three, and room for one periodic read of a background loop falling inside the count on a busy machine
        assert counter.total <= 4, counter.summary()
        assert counter.writes <= 2, counter.summary()


async def test_loads_follow_this_replicas_own_writes_at_once(
    start_routing: Any, count_commands: CommandCounter, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    """Two requests in a row to a load team with two members on duty go to different members, though the
    loads were read once (the first dispatch counted in the copy this replica holds)."""
    async with start_routing(routing_cache_ttl_s=60, **QUIET) as routing:
        first = await routing.submit(submitted("property_repair", "门锁坏了"))
        second = await routing.submit(submitted("property_repair", "水管漏水"))
        assert {first["assignee"], second["assignee"]} == {
            "property_maintenance.member",
            "property_maintenance.member2",
        }
