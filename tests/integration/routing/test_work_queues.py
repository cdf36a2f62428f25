"""Team work queues: every dispatch, transfer-in, re-dispatch and reopening reaches `work.<team_id>` on the
exchange `huiying.work`, consumed here exactly as a team's own system would (see docs/routing.md)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aio_pika

from shared.events import WorkItem
from tests.integration.routing.conftest import Routing, submitted
from tests.support import eventually


class TeamSystem:
    """A team's own system: a competing consumer of its work queue, acking after it has stored the item."""

    def __init__(self) -> None:
        self.items: list[tuple[str, WorkItem]] = []  # (message_id, item)


@asynccontextmanager
async def team_system(amqp_url: str, queue_name: str) -> AsyncIterator[TeamSystem]:
    system = TeamSystem()
    connection = await aio_pika.connect_robust(amqp_url)
    try:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=10)
        queue = await channel.get_queue(queue_name, ensure=True)  # declared by routing; passive here

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():  # ack after handling; reject (-> work.<team>.dlq) if it raises
                item = WorkItem.model_validate(json.loads(message.body))
                system.items.append((message.message_id or "", item))

        await queue.consume(on_message)
        yield system
    finally:
        await connection.close()


async def test_a_dispatch_puts_a_work_item_on_the_teams_queue(routing: Routing, amqp_url: str) -> None:
    bus = routing.app.state.container.infra.bus
    async with team_system(amqp_url, bus.work_queue_name("property_maintenance")) as team:
        data = submitted("property_repair", "厨房水管漏水")
        await routing.submit(data)
        await eventually(lambda: len(team.items) == 1, timeout=20, what="the work item")
        message_id, item = team.items[0]
        dispatched = routing.listener.of("task.dispatched", data.request_id)[0]
        assert message_id == str(dispatched.event_id)  # a team system deduplicates on message_id
        assert (item.request_id, item.team_id) == (data.request_id, "property_maintenance")
        # Only what the team needs: the phone masked (the team's work_item_phone setting), no tracking code.
        assert item.resident_phone == "138****8000" and data.tracking_code not in str(item.model_dump())
        assert (item.kind, item.priority, item.service_code) == ("dispatched", "urgent", "property_repair")
        assert item.description == "厨房水管漏水" and "3" in (item.address or "")
        assert item.due_at is not None and "13800138000" not in json.dumps(item.model_dump(mode="json"))


async def test_transfer_redispatch_and_reopen_reach_the_right_queues(routing: Routing, amqp_url: str) -> None:
    bus = routing.app.state.container.infra.bus
    async with (
        team_system(amqp_url, bus.work_queue_name("property_maintenance")) as pm,
        team_system(amqp_url, bus.work_queue_name("public_order")) as po,
        team_system(amqp_url, bus.work_queue_name("mediation")) as med,
    ):
        data = submitted()
        rid = data.request_id
        await routing.submit(data)
        await routing.ok(rid, "transfer", "property_maintenance.lead", {"team_id": "public_order", "reason": "x"})
        await routing.ok(rid, "return", "public_order.member", {"reason_code": "outside_remit"})
        await routing.ok(rid, "dispatch", "supervisor", {"team_id": "mediation"})
        await routing.ok(rid, "claim", "mediation.member")
        await routing.ok(rid, "resolve", "mediation.member", {"reply": "已调解"})
        await routing.feedback(rid, data.tracking_code, "dissatisfied")
        await eventually(lambda: len(med.items) == 2, timeout=20, what="mediation's two items")
        assert [i.kind for _, i in pm.items] == ["dispatched"]
        assert [i.kind for _, i in po.items] == ["transferred_in"]
        assert [i.kind for _, i in med.items] == ["redispatched", "reopened"]
        ids = [m for items in (pm.items, po.items, med.items) for m, _ in items]
        assert len(set(ids)) == 4


async def test_a_deleted_work_queue_is_declared_again_and_the_item_still_arrives(
    routing: Routing, amqp_url: str
) -> None:
    bus = routing.app.state.container.infra.bus
    name = bus.work_queue_name("legal_aid")
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(name)  # an operator's mistake
    data = submitted("legal_aid", "劳动合同纠纷")
    await routing.submit(data)

    async def queue_exists() -> bool:
        async with await aio_pika.connect(amqp_url) as conn:
            try:
                await (await conn.channel()).declare_queue(name, passive=True)
            except aio_pika.exceptions.ChannelClosed:
                return False
            return True

    await eventually(queue_exists, timeout=30, what="routing to declare the queue again")
    async with team_system(amqp_url, name) as team:

        async def arrived() -> Any:
            return team.items

        items = await eventually(arrived, timeout=30, what="the item on the re-declared queue")
        assert items[0][1].request_id == data.request_id
