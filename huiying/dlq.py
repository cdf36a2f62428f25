"""Look into a consumer's dead-letter queue and, once the cause is fixed, move messages back."""

from __future__ import annotations

import sys

import aio_pika
import aiormq

from shared.bus import ERROR_HEADER
from shared.redact import redact_url
from shared.settings import Settings
from shared.topology import CONSUMER_QUEUES


async def main(settings: Settings, queue: str, *, replay: bool, limit: int) -> int:
    name = settings.queue(queue) if not queue.startswith(settings.queue_prefix) else queue
    url = settings.amqp_urls[0]
    try:
        connection = await aio_pika.connect(url, timeout=10)
    except (OSError, TimeoutError, aiormq.exceptions.AMQPError) as exc:
        print(f"huiying dlq: RabbitMQ does not answer at {redact_url(url)} ({type(exc).__name__})", file=sys.stderr)
        return 1
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        try:
            dlq = await channel.declare_queue(f"{name}.dlq", passive=True)
        except aiormq.exceptions.ChannelNotFoundEntity:
            known = ", ".join(q.name for q in CONSUMER_QUEUES)
            print(f"huiying dlq: there is no queue {name}.dlq; the consumer queues are {known}", file=sys.stderr)
            return 2
        print(f"{name}.dlq holds {dlq.declaration_result.message_count} message(s)")
        moved = 0
        for _ in range(limit):
            message = await dlq.get(no_ack=False, fail=False)
            if message is None:
                break
            headers = dict(message.headers or {})
            print(f"- {message.type} {message.message_id}: {headers.get(ERROR_HEADER, '(no reason recorded)')!s}")
            if replay:
                for key in list(headers):
                    if key.startswith("x-huiying-") or key == "x-death":
                        headers.pop(key)
                await channel.default_exchange.publish(
                    aio_pika.Message(
                        message.body,
                        headers=headers,
                        message_id=message.message_id,
                        type=message.type,
                        content_type=message.content_type,
                        correlation_id=message.correlation_id,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key=name,
                )
                await message.ack()
                moved += 1
            # Without --replay nothing is acked: closing the channel returns every message to the DLQ.
        if replay:
            print(f"moved {moved} message(s) back to {name}")
    return 0
