"""An independent witness of what reaches the exchange: a private queue bound to some routing keys."""

from __future__ import annotations

import json
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from shared.events import Envelope


class Observer:
    def __init__(self, amqp_url: str, exchange: str, keys: list[str]) -> None:
        self.amqp_url, self.exchange, self.keys = amqp_url, exchange, keys
        self.messages: list[AbstractIncomingMessage] = []
        self._connection: aio_pika.abc.AbstractConnection | None = None

    async def __aenter__(self) -> Observer:
        self._connection = await aio_pika.connect(self.amqp_url)
        channel = await self._connection.channel()
        exchange = await channel.declare_exchange(self.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue("", exclusive=True, auto_delete=True)
        for key in self.keys:
            await queue.bind(exchange, key)

        async def on_message(message: AbstractIncomingMessage) -> None:
            self.messages.append(message)
            await message.ack()

        await queue.consume(on_message)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._connection is not None:
            await self._connection.close()

    @property
    def events(self) -> list[Envelope]:
        """Every event seen, decoded, in arrival order."""
        return [Envelope.from_bytes(m.body) for m in self.messages]

    def of(self, event_type: str, request_id: str | None = None) -> list[Envelope]:
        return [e for e in self.events if e.type == event_type and request_id in (None, e.correlation_id)]

    def for_request(self, request_id: str, producer: str = "routing") -> list[Envelope]:
        return [e for e in self.events if e.correlation_id == request_id and e.producer == producer]

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        return [json.loads(m.body) for m in self.messages if m.type == event_type]

    def event_ids(self, event_type: str) -> list[str]:
        return [e["event_id"] for e in self.of_type(event_type)]


def listening(amqp_url: str, exchange: str) -> Observer:
    """`async with listening(url, exchange) as heard:` — every event published on the exchange."""
    return Observer(amqp_url, exchange, ["#"])
