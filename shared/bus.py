"""The event bus on RabbitMQ (aio-pika): confirmed publishing and safe consuming.

Topology for a consumer queue Q (all quorum queues, all durable):

    huiying.events (topic) --binding keys--> Q  --(rejected / delivery limit)--> <exchange>.dlx --> Q.dlq
                                             ^                                                   ^
                      after a delay (TTL) ---|-- Q.retry <-- transient or failing handler ---------|
                                                                 (after too many tries) ----------'

- Publishing: persistent messages, publisher confirms with a timeout, `message_id` = `event_id`.
- Consuming: manual ack *after* the handler returns (its database write is done), bounded prefetch.
- A message that cannot be decoded, or whose handler raises `Poison`, goes straight to Q.dlq.
- A transient failure (database unreachable, `RetryLater`) is parked in Q.retry and comes back after
  `retry_delay_ms`; after `transient_retry_limit` tries it is dead-lettered, never dropped or spun.
- Any other handler exception is retried the same way up to `delivery_limit` tries, then dead-lettered.
- A consumer that dies before acking gets the message redelivered; the quorum queue's own
  `x-delivery-limit` dead-letters a message that keeps killing its consumers.
- `connect_robust` reconnects after a broker restart and re-declares queues and consumers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aio_pika
import aiormq
import structlog
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustChannel, AbstractRobustConnection
from pydantic import ValidationError
from pymongo.errors import ConnectionFailure, ExecutionTimeout, WTimeoutError

from shared.events import Envelope, EventData, UnknownEvent
from shared.metrics import EVENT_HANDLE_SECONDS, EVENTS_HANDLED, EVENTS_PUBLISHED
from shared.redact import redact_url
from shared.settings import Settings

log = structlog.get_logger("huiying.bus")

Handler = Callable[[Envelope, EventData], Awaitable[None]]

RETRIES_HEADER = "x-huiying-retries"
FAILURES_HEADER = "x-huiying-failures"
ERROR_HEADER = "x-huiying-error"


class Poison(Exception):
    """The message can never be handled: dead-letter it now."""


class RetryLater(Exception):
    """Not handleable yet (a dependency is down, or an earlier event has not arrived): retry later."""


TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    RetryLater,
    ConnectionFailure,  # includes AutoReconnect, NetworkTimeout, ServerSelectionTimeoutError
    ExecutionTimeout,
    WTimeoutError,
    TimeoutError,
)


class BrokerUnavailable(RuntimeError):
    """Raised with a one-line message an operator can act on."""


class TopologyMismatch(RuntimeError):
    pass


def topic_matches(pattern: str, key: str) -> bool:
    """AMQP topic matching: `*` is one word, `#` is zero or more words."""
    p, k = pattern.split("."), key.split(".")

    def match(i: int, j: int) -> bool:
        if i == len(p):
            return j == len(k)
        if p[i] == "#":
            return any(match(i + 1, jj) for jj in range(j, len(k) + 1))
        if j == len(k):
            return False
        return (p[i] == "*" or p[i] == k[j]) and match(i + 1, j + 1)

    return match(0, 0)


@dataclass
class Subscription:
    queue: str
    handlers: Mapping[str, Handler]  # binding key (may contain * and #) -> handler

    def handler_for(self, event_type: str) -> Handler | None:
        if event_type in self.handlers:
            return self.handlers[event_type]
        for pattern, handler in self.handlers.items():
            if topic_matches(pattern, event_type):
                return handler
        return None


def quorum_args(
    *, dead_letter_exchange: str, dead_letter_key: str, delivery_limit: int | None = None
) -> dict[str, Any]:
    args: dict[str, Any] = {
        "x-queue-type": "quorum",
        "x-dead-letter-exchange": dead_letter_exchange,
        "x-dead-letter-routing-key": dead_letter_key,
        # at-least-once dead-lettering: nothing is lost between a queue and its DLQ.
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }
    if delivery_limit is not None:
        args["x-delivery-limit"] = delivery_limit
    return args


class Bus:
    def __init__(self, settings: Settings, producer: str) -> None:
        self.settings = settings
        self.producer = producer
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractRobustChannel | None = None
        self._consume_channel: AbstractRobustChannel | None = None
        self._events: aio_pika.abc.AbstractExchange | None = None
        self._dlx_name = f"{settings.events_exchange}.dlx"
        self._consumer_tags: list[tuple[aio_pika.abc.AbstractQueue, str]] = []
        self._inflight: set[asyncio.Task[None]] = set()

    # -- lifecycle ---------------------------------------------------------------------------------

    async def connect(self) -> None:
        url = self.settings.amqp_url
        try:
            self._connection = await aio_pika.connect_robust(
                url,
                timeout=10,
                client_properties={"connection_name": f"huiying-{self.producer}"},
            )
        except (TimeoutError, OSError, aiormq.exceptions.AMQPError) as exc:
            raise BrokerUnavailable(
                f"RabbitMQ is not reachable at {redact_url(url)} ({type(exc).__name__}: {exc}); "
                "start it with `rabbitmq-server -detached` or set HUIYING_AMQP_URL"
            ) from exc
        # on_return_raises: a mandatory publish nobody can route (a missing work queue) raises instead of
        # being confirmed and silently dropped (aio-pika's default).
        self._publish_channel = await self._connection.channel(  # type: ignore[assignment]
            publisher_confirms=True, on_return_raises=True
        )
        self._consume_channel = await self._connection.channel(publisher_confirms=True)  # type: ignore[assignment]
        assert self._consume_channel is not None and self._publish_channel is not None
        await self._consume_channel.set_qos(prefetch_count=self.settings.prefetch)
        self._events = await self._publish_channel.declare_exchange(
            self.settings.events_exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        await self._publish_channel.declare_exchange(self._dlx_name, aio_pika.ExchangeType.DIRECT, durable=True)

    @property
    def is_connected(self) -> bool:
        return (
            self._connection is not None
            and not self._connection.is_closed
            and self._publish_channel is not None
            and not self._publish_channel.is_closed
        )

    async def close(self) -> None:
        for queue, tag in self._consumer_tags:
            try:
                await queue.cancel(tag)
            except Exception:
                pass
        self._consumer_tags.clear()
        if self._inflight:
            # Let handlers that are mid-write finish and ack, so a clean stop redelivers nothing.
            await asyncio.wait(self._inflight, timeout=10)
        if self._connection is not None:
            await self._connection.close()
        self._connection = None

    @property
    def channel(self) -> AbstractRobustChannel:
        if self._publish_channel is None:
            raise RuntimeError("bus is not connected")
        return self._publish_channel

    # -- publishing --------------------------------------------------------------------------------

    async def publish(self, envelope: Envelope) -> None:
        """Publish one event, persistent and confirmed; raises on nack or timeout."""
        if self._events is None:
            raise RuntimeError("bus is not connected")
        message = aio_pika.Message(
            envelope.to_bytes(),
            message_id=str(envelope.event_id),
            correlation_id=envelope.correlation_id,
            type=envelope.type,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            timestamp=envelope.occurred_at,
            app_id=envelope.producer,
        )
        if not self.is_connected:
            raise BrokerUnavailable("not connected to RabbitMQ (reconnecting)")
        # The outer bound also covers a robust channel that waits for a reconnection.
        await asyncio.wait_for(
            self._events.publish(
                message, routing_key=envelope.type, mandatory=False, timeout=self.settings.publish_timeout_s
            ),
            self.settings.publish_timeout_s,
        )
        EVENTS_PUBLISHED.labels(producer=envelope.producer, type=envelope.type).inc()

    async def publish_raw(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        *,
        message_id: str,
        headers: dict[str, Any] | None = None,
        mandatory: bool = False,
    ) -> None:
        """Confirmed, persistent publish to any exchange ("" is the default exchange)."""
        channel = self.channel
        target = channel.default_exchange if exchange == "" else await channel.get_exchange(exchange)
        # With mandatory=True an unroutable message raises aiormq's PublishError.
        await target.publish(
            aio_pika.Message(
                body,
                message_id=message_id,
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                headers=headers or {},
            ),
            routing_key=routing_key,
            mandatory=mandatory,
            timeout=self.settings.publish_timeout_s,
        )

    # -- team work queues ---------------------------------------------------------------------------

    def work_queue_name(self, team_id: str) -> str:
        return self.settings.queue(f"work.{team_id}")

    async def declare_work_queue(self, team_id: str) -> str:
        """`work.<team_id>`: a durable quorum queue on the direct exchange `huiying.work` (key = team id),
        with its own `.dlq`, so a team's own system can consume it as a competing consumer."""
        channel = self.channel
        work = await channel.declare_exchange(self.settings.work_exchange, aio_pika.ExchangeType.DIRECT, durable=True)
        dlx = await channel.declare_exchange(
            f"{self.settings.work_exchange}.dlx", aio_pika.ExchangeType.DIRECT, durable=True
        )
        name = self.work_queue_name(team_id)
        dlq = await channel.declare_queue(f"{name}.dlq", durable=True, arguments={"x-queue-type": "quorum"})
        await dlq.bind(dlx, routing_key=team_id)
        try:
            queue = await channel.declare_queue(
                name,
                durable=True,
                arguments=quorum_args(
                    dead_letter_exchange=dlx.name, dead_letter_key=team_id, delivery_limit=self.settings.delivery_limit
                ),
            )
        except aiormq.exceptions.ChannelPreconditionFailed as exc:
            raise TopologyMismatch(f"queue {name!r} exists with other arguments ({exc})") from exc
        await queue.bind(work, routing_key=team_id)
        return name

    async def publish_work_item(self, team_id: str, body: bytes, *, message_id: str) -> None:
        """Confirmed and mandatory: an item for a team without a queue is an error, not a silent drop."""
        await self.publish_raw(self.settings.work_exchange, team_id, body, message_id=message_id, mandatory=True)

    # -- consuming ---------------------------------------------------------------------------------

    async def declare_consumer_queue(self, queue: str, binding_keys: list[str]) -> aio_pika.abc.AbstractQueue:
        """Declare Q, Q.retry and Q.dlq and bind Q to the events exchange."""
        channel = self._consume_channel
        assert channel is not None
        try:
            dlq = await channel.declare_queue(f"{queue}.dlq", durable=True, arguments={"x-queue-type": "quorum"})
            await dlq.bind(self._dlx_name, routing_key=queue)
            await channel.declare_queue(
                f"{queue}.retry",
                durable=True,
                # Expired retries go back to Q through the default exchange.
                arguments=quorum_args(dead_letter_exchange="", dead_letter_key=queue),
            )
            main = await channel.declare_queue(
                queue,
                durable=True,
                arguments=quorum_args(
                    dead_letter_exchange=self._dlx_name,
                    dead_letter_key=queue,
                    delivery_limit=self.settings.delivery_limit,
                ),
            )
        except aiormq.exceptions.ChannelPreconditionFailed as exc:
            raise TopologyMismatch(
                f"queue {queue!r} already exists with other arguments ({exc}); delete it with "
                f"`rabbitmqctl delete_queue {queue}` (after draining it) or restore the old settings"
            ) from exc
        for key in binding_keys:
            await main.bind(self.settings.events_exchange, routing_key=key)
        return main

    async def subscribe(self, queue: str, handlers: Mapping[str, Handler]) -> None:
        subscription = Subscription(queue, handlers)
        main = await self.declare_consumer_queue(queue, list(handlers))

        async def on_message(message: AbstractIncomingMessage) -> None:
            task = asyncio.current_task()
            if task is not None:
                self._inflight.add(task)
            try:
                await self._handle(subscription, message)
            finally:
                if task is not None:
                    self._inflight.discard(task)

        tag = await main.consume(on_message, no_ack=False)
        self._consumer_tags.append((main, tag))

    async def _handle(self, sub: Subscription, message: AbstractIncomingMessage) -> None:
        started = time.perf_counter()
        try:
            envelope = Envelope.from_bytes(message.body)
            data = envelope.payload()
        except (ValidationError, UnknownEvent, ValueError) as exc:
            await self._dead_letter(sub.queue, message, f"undecodable: {exc}")
            EVENTS_HANDLED.labels(queue=sub.queue, type=message.type or "?", outcome="dead_lettered").inc()
            return
        handler = sub.handler_for(envelope.type)
        structlog.contextvars.bind_contextvars(
            correlation_id=envelope.correlation_id, event_id=str(envelope.event_id), event_type=envelope.type
        )
        try:
            if handler is None:
                outcome = "ignored"
            else:
                await handler(envelope, data)
                outcome = "ok"
            await message.ack()
        except Poison as exc:
            outcome = "dead_lettered"
            log.warning("poison message dead-lettered", queue=sub.queue, error=str(exc))
            await self._dead_letter(sub.queue, message, f"poison: {exc}")
        except TRANSIENT_ERRORS as exc:
            outcome = await self._retry_or_dead_letter(
                sub.queue, message, exc, RETRIES_HEADER, self.settings.transient_retry_limit
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("handler failed", queue=sub.queue)
            outcome = await self._retry_or_dead_letter(
                sub.queue, message, exc, FAILURES_HEADER, self.settings.delivery_limit
            )
        finally:
            structlog.contextvars.unbind_contextvars("correlation_id", "event_id", "event_type")
        EVENTS_HANDLED.labels(queue=sub.queue, type=envelope.type, outcome=outcome).inc()
        EVENT_HANDLE_SECONDS.labels(queue=sub.queue, type=envelope.type).observe(time.perf_counter() - started)

    async def _retry_or_dead_letter(
        self, queue: str, message: AbstractIncomingMessage, exc: BaseException, header: str, limit: int
    ) -> str:
        tries = int(str((message.headers or {}).get(header, 0) or 0)) + 1
        reason = f"{type(exc).__name__}: {exc}"[:500]
        if tries >= limit:
            log.error("giving up after %d tries; dead-lettered", tries, queue=queue, error=reason)
            await self._dead_letter(queue, message, f"after {tries} tries: {reason}")
            return "dead_lettered"
        headers = dict(message.headers or {})
        headers[header] = tries
        headers[ERROR_HEADER] = reason
        log.warning("handling failed; retrying later", queue=queue, tries=tries, error=reason)
        try:
            await self.channel.default_exchange.publish(
                self._copy(message, headers, expiration=self.settings.retry_delay_ms / 1000),
                routing_key=f"{queue}.retry",
                mandatory=True,
                timeout=self.settings.publish_timeout_s,
            )
        except Exception:
            # Could not park it: give it back to the queue. The quorum queue's delivery limit bounds this.
            log.exception("could not park message for retry; returning it to the queue", queue=queue)
            await message.nack(requeue=True)
            return "requeued"
        await message.ack()
        return "retry"

    async def _dead_letter(self, queue: str, message: AbstractIncomingMessage, reason: str) -> None:
        headers = dict(message.headers or {})
        headers[ERROR_HEADER] = reason[:1000]
        try:
            dlx = await self.channel.get_exchange(self._dlx_name)
            await dlx.publish(
                self._copy(message, headers),
                routing_key=queue,
                mandatory=True,
                timeout=self.settings.publish_timeout_s,
            )
        except Exception:
            # Fall back to the queue's own dead-lettering (loses our reason header, keeps the message).
            log.exception("could not publish to the DLQ; rejecting into the queue's dead-letter exchange")
            await message.reject(requeue=False)
            return
        await message.ack()

    @staticmethod
    def _copy(
        message: AbstractIncomingMessage, headers: dict[str, Any], expiration: float | None = None
    ) -> aio_pika.Message:
        return aio_pika.Message(
            message.body,
            headers=headers,
            content_type=message.content_type,
            correlation_id=message.correlation_id,
            message_id=message.message_id,
            type=message.type,
            app_id=message.app_id,
            timestamp=message.timestamp,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            expiration=expiration,
        )
