"""Issue 11's scenario: intake runs alone, a resident submits a request, routing and notify start later.

Before the topology was declared by every service, intake's `request.submitted` was confirmed by RabbitMQ
and dropped (no queue was bound yet): the request was never dispatched and the resident never heard back.
"""

from __future__ import annotations

import time
from typing import Any

import aio_pika

from shared.settings import Settings
from tests.integration.test_flow_in_process import REQUEST
from tests.support import eventually


async def depth(settings: Settings, queue: str) -> int:
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(settings.queue(queue), passive=True)
        return int(declared.declaration_result.message_count or 0)


async def test_a_request_submitted_before_routing_and_notify_start_is_dispatched_and_answered(
    run_service: Any, settings: Settings
) -> None:
    async with run_service("intake") as (intake, _):
        r = await intake.post("/v1/requests", json=REQUEST, headers={"X-API-Key": "dev-web-key"})
        assert r.status_code == 201, r.text
        code, submitted_at = r.json()["tracking_code"], time.monotonic()

        # The event is published while nobody consumes it; it waits in routing's and notify's queues
        # (which intake declared at its start), for as long as they take to start.
        async def waiting_for_consumers() -> bool:
            return await depth(settings, "routing.request-events") == 1 and await depth(settings, "notify.events") == 1

        await eventually(waiting_for_consumers, what="request.submitted to wait in routing's and notify's queues")
        await eventually(
            lambda: time.monotonic() - submitted_at >= 5 and waiting_for_consumers(),
            timeout=15,
            interval=0.5,
            what="the event to still wait there 5 s after the submission",
        )

        async with run_service("routing"), run_service("notify") as (notify, _):

            async def dispatched() -> Any:
                track = (await intake.get(f"/v1/track/{code}")).json()
                return track if track["status"] == "dispatched" else None

            track = await eventually(dispatched, timeout=30, what="the request to be dispatched")
            assert track["team"]["id"] == "property_maintenance"

            async def receipt() -> Any:
                r = await notify.get(f"/v1/inbox/{code}")
                messages = r.json()["messages"] if r.status_code == 200 else []
                return [m for m in messages if m["event_type"] == "request.submitted"]

            (message,) = await eventually(receipt, timeout=30, what="the resident's receipt in the inbox")
            assert code in message["subject"]
