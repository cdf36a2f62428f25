"""The event bus on RabbitMQ (aio-pika): the topology declared first, confirmed mandatory publishing,
safe consuming, fail-over between the nodes of a cluster.

The topology (exchanges, every consumer queue with its bindings, retry and dead-letter queues, the team
work queues, the alternate exchange) and the policies that hold the queues' settings are declared in ONE
place, shared/topology.py. For a consumer queue Q (all quorum queues, all durable):

    huiying.events (topic) --binding keys--> Q  --(rejected / delivery limit)--> <exchange>.dlx --> Q.dlq
          |                                  ^                                                   ^
          |           after a delay (TTL) ---|-- Q.retry <-- transient or failing handler ---------|
          |                                                      (after too many tries) ----------'
          '--(no queue bound to the key: alternate exchange)--> huiying.unroutable

- Start-up: `connect()` then `declare_topology()`, which declares the WHOLE topology (every service's
  queues, not only its own) and puts its policies in place, before the service publishes anything: an
  event published before its consumer runs waits in the consumer's queue.
- Queues are declared with `x-queue-type: quorum` only; dead-lettering, the delivery limit and the retry
  delay (the retry queue's message TTL) are RabbitMQ policies, changed on live queues without deleting them.
- Publishing: persistent messages, `mandatory`, publisher confirms with a timeout, `message_id` =
  `event_id`. A returned message raises `Unroutable` (the event stays in its outbox and is retried); a
  refused one (nack) `PublishRefused`, after renewing the publishing channel (shared/renewal.py);
  what the alternate exchange catches is counted by the gauge `huiying_unroutable_messages`.
- Consuming: manual ack *after* the handler returns (its database write is done), bounded prefetch.
- A message that cannot be decoded, or whose handler raises `Poison`, goes straight to Q.dlq.
- A transient failure (database unreachable, `RetryLater`) is parked in Q.retry and comes back after
  `retry_delay_ms`; after `transient_retry_limit` tries it is dead-lettered, never dropped or spun.
- Any other handler exception is retried the same way up to `delivery_limit` tries, then dead-lettered.
- A consumer that dies before acking gets the message redelivered; the quorum queue's delivery limit
  (its policy) dead-letters a message that keeps killing its consumers.
- HUIYING_AMQP_URL may list several nodes (comma-separated): the bus connects to the first that answers;
  on a lost connection the robust connection reconnects to the next node and re-declares its queues and
  consumers.
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
from aio_pika.robust_connection import RobustConnection
from pydantic import ValidationError
from pymongo.errors import ConnectionFailure, ExecutionTimeout, WTimeoutError
from yarl import URL

from shared.events import Envelope, EventData, UnknownEvent
from shared.metrics import EVENT_HANDLE_SECONDS, EVENTS_HANDLED, EVENTS_PUBLISHED, EVENTS_RETURNED
from shared.policies import apply_policies
from shared.redact import redact_url
from shared.renewal import ChannelRenewal, refused
from shared.settings import Settings
from shared.topology import QUEUE_TYPE, Exchange, Queue, Topology, topic_matches

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


class Unroutable(RuntimeError):
    """A mandatory publish came back: no queue is bound to its routing key (and no alternate exchange)."""


class PublishRefused(RuntimeError):
    """The broker nacked a publish (a queue it was routed to did not take it); the channel was renewed."""


class FailoverConnection(RobustConnection):
    """aio-pika's robust connection over a list of nodes: each connection attempt goes to the next node in
    turn, so the first start tries the first node first, and a lost connection is re-made on the next one.

    aio-pika reads `url` once per attempt (`Connection.connect`); the property hands out the nodes in turn.
    """

    def __init__(self, urls: list[str], **kwargs: Any) -> None:
        self._nodes = [URL(u) for u in urls]
        self._next = 0
        self.node = self._nodes[0]
        super().__init__(url=self._nodes[0], **kwargs)
        self._next = 0  # the base class read `url` once for its query parameters

    @property  # type: ignore[override]
    def url(self) -> URL:
        self.node = self._nodes[self._next % len(self._nodes)]
        self._next += 1
        return self.node

    @url.setter
    def url(self, value: URL) -> None:  # the base class assigns it; the node list is what counts
        pass

    def __str__(self) -> str:
        return redact_url(str(self.node))


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


class Bus:
    def __init__(self, settings: Settings, producer: str) -> None:
        self.settings = settings
        self.producer = producer
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractRobustChannel | None = None
        self._consume_channel: AbstractRobustChannel | None = None
        self._events: aio_pika.abc.AbstractExchange | None = None
        self.topology = Topology.of(settings)
        self._dlx_name = self.topology.dead_letter_exchange
        self._consumer_tags: list[tuple[aio_pika.abc.AbstractQueue, str]] = []
        self._inflight: set[asyncio.Task[None]] = set()
        self._renewal = ChannelRenewal()

    # -- lifecycle ---------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect to the first node of HUIYING_AMQP_URL that answers and open the channels. Nothing is
        declared yet: `declare_topology` does that, before anything is published."""
        urls = self.settings.amqp_urls
        shown = ", ".join(redact_url(u) for u in urls)
        connection = FailoverConnection(
            urls,
            timeout=10,
            # One node: fail at once with a clear line. Several: try each in turn until the deadline.
            fail_fast="1" if len(urls) == 1 else "0",
            reconnect_interval=self.settings.amqp_reconnect_interval_s,
            client_properties={"connection_name": f"huiying-{self.producer}"},
        )
        try:
            await asyncio.wait_for(connection.connect(timeout=10), timeout=10 + 12 * (len(urls) - 1))
        except (TimeoutError, OSError, aiormq.exceptions.AMQPError) as exc:
            await connection.close()
            raise BrokerUnavailable(
                f"RabbitMQ is not reachable at {shown} ({type(exc).__name__}: {exc}); "
                "start it with `rabbitmq-server -detached` or set HUIYING_AMQP_URL"
            ) from exc
        self._connection = connection
        log.info("connected to RabbitMQ", node=redact_url(str(connection.node)))
        await self._open_publishing()
        self._consume_channel = await self._connection.channel(publisher_confirms=True)  # type: ignore[assignment]
        assert self._consume_channel is not None
        await self._consume_channel.set_qos(prefetch_count=self.settings.prefetch)

    async def _open_publishing(self) -> None:
        """The publishing channel (at connect, and anew after a refused publish: shared/renewal.py).
        on_return_raises: a mandatory publish nobody can route raises instead of being silently dropped."""
        assert self._connection is not None
        channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await channel.declare_exchange(
            self.settings.events_exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        self._publish_channel, self._events = channel, exchange  # type: ignore[assignment]

    async def _confirmed(self, publishing: Awaitable[Any]) -> None:
        """Await a confirmed publish; a refusal (nack) renews the publishing channel, then raises."""
        channel = self._publish_channel
        try:
            await publishing
        except aiormq.exceptions.DeliveryError as exc:
            if refused(exc):
                await self._renewal.renew(channel, lambda: self._publish_channel, self._open_publishing)
            raise

    async def declare_topology(self, teams: tuple[str, ...] | list[str] = ()) -> Topology:
        """Declare the WHOLE topology (shared/topology.py) and put its policies in place: every exchange,
        every service's consumer queues with their bindings, retry and dead-letter queues, the work queues
        of `teams` and the alternate exchange. Every service calls it at start-up before it publishes, so
        no event finds its consumer's queue missing. Idempotent."""
        self.topology = self.topology.with_teams(teams)
        await self._declare(self.topology.exchanges(), self.topology.queues())
        return self.topology

    async def apply_policies(self, topology: Topology | None = None) -> None:
        if self.settings.broker_policies == "apply":
            await apply_policies(self.settings, (topology or self.topology).policies())

    async def _declare(self, exchanges: list[Exchange], queues: list[Queue], *, policies: bool = True) -> None:
        channel = self.channel
        for exchange in exchanges:
            await channel.declare_exchange(exchange.name, aio_pika.ExchangeType(exchange.type), durable=True)
        # Policies before queues: a queue is never without its dead-lettering, not even for a moment.
        if policies:
            await self.apply_policies()
        for queue in queues:
            declared = await self._declare_queue(queue.name)
            for binding in queue.bindings:
                await declared.bind(binding.exchange, routing_key=binding.key)

    async def _declare_queue(self, name: str) -> aio_pika.abc.AbstractQueue:
        try:
            return await self.channel.declare_queue(name, durable=True, arguments=dict(QUEUE_TYPE))
        except aiormq.exceptions.ChannelPreconditionFailed as exc:
            raise TopologyMismatch(
                f"queue {name!r} exists with other settings ({exc}); "
                "move it to the policy-based topology with `huiying topology migrate` (deploy/README.md)"
            ) from exc

    async def unroutable_count(self) -> int:
        """How many messages wait in the alternate exchange's queue (nobody was bound to their type)."""
        if self._connection is None:
            raise BrokerUnavailable("not connected to RabbitMQ")
        # A channel of its own: a passive declare of a missing queue closes the channel it runs on.
        async with self._connection.channel(publisher_confirms=False) as channel:
            queue = await channel.declare_queue(self.topology.unroutable, passive=True)
            return int(queue.declaration_result.message_count or 0)

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
        # Mandatory: a message no queue (nor the alternate exchange) takes comes back and raises, so the
        # event stays in its outbox and the sweeper publishes it again. The outer bound also covers a
        # robust channel that waits for a reconnection.
        try:
            await asyncio.wait_for(
                self._confirmed(
                    self._events.publish(
                        message, routing_key=envelope.type, mandatory=True, timeout=self.settings.publish_timeout_s
                    )
                ),
                self.settings.publish_timeout_s,
            )
        except aiormq.exceptions.DeliveryError as exc:
            if refused(exc):
                raise PublishRefused(f"{envelope.type} was refused by a queue; publishing on a new channel") from exc
            EVENTS_RETURNED.labels(producer=envelope.producer, type=envelope.type).inc()
            log.error("event returned unroutable; it stays in the outbox", event_type=envelope.type)
            raise Unroutable(f"{envelope.type} was returned unroutable by {self.settings.events_exchange}") from exc
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
        # With mandatory=True an unroutable message raises aiormq's PublishError (a DeliveryError).
        await self._confirmed(
            target.publish(
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
        )

    # -- team work queues ---------------------------------------------------------------------------

    def work_queue_name(self, team_id: str) -> str:
        return self.settings.queue(f"work.{team_id}")

    async def declare_work_queue(self, team_id: str, *, policies: bool = True) -> str:
        """`work.<team_id>` (shared/topology.py): a durable quorum queue on the direct exchange `huiying.work`
        (key = team id), with its own `.dlq`, so a team's own system can consume it as a competing consumer.
        `policies=False` declares the queues again without the management API: policies live on the broker
        by name, so they outlast a deleted queue and hold for it again once it is declared."""
        self.topology = self.topology.with_teams([team_id])
        await self._declare(self.topology.exchanges()[3:], self.topology.team_queues(team_id), policies=policies)
        return self.topology.work_queue(team_id)

    async def publish_work_item(self, team_id: str, body: bytes, *, message_id: str) -> None:
        """Confirmed and mandatory: an item for a team without a queue is an error, not a silent drop."""
        await self.publish_raw(self.settings.work_exchange, team_id, body, message_id=message_id, mandatory=True)

    # -- consuming ---------------------------------------------------------------------------------

    async def declare_consumer_queue(self, queue: str, binding_keys: list[str]) -> aio_pika.abc.AbstractQueue:
        """Declare Q, Q.retry and Q.dlq with their bindings and policies. A queue of the topology keeps its
        declared bindings; another (a test's own) joins this bus's topology with `binding_keys`."""
        self.topology = self.topology.with_consumer(queue, binding_keys)
        spec = self.topology.consumer(queue.removeprefix(self.topology.prefix))
        await self._declare(self.topology.exchanges()[:2], self.topology.consumer_queues(spec))
        channel = self._consume_channel
        assert channel is not None
        return await channel.declare_queue(queue, durable=True, arguments=dict(QUEUE_TYPE))

    async def subscribe(self, queue: str, handlers: Mapping[str, Handler]) -> None:
        subscription = Subscription(queue, handlers)
        main = await self.declare_consumer_queue(queue, list(handlers))
        keys = self.topology.consumer(queue.removeprefix(self.topology.prefix)).keys
        if missing := [k for k in handlers if k not in keys]:
            raise TopologyMismatch(f"{queue} has handlers for {missing}, which shared/topology.py does not bind")

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
            # The retry queue's policy (message-ttl) decides how long it waits there.
            await self._confirmed(
                self.channel.default_exchange.publish(
                    self._copy(message, headers),
                    routing_key=f"{queue}.retry",
                    mandatory=True,
                    timeout=self.settings.publish_timeout_s,
                )
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
            await self._confirmed(
                dlx.publish(
                    self._copy(message, headers),
                    routing_key=queue,
                    mandatory=True,
                    timeout=self.settings.publish_timeout_s,
                )
            )
        except Exception:
            # Fall back to the queue's own dead-lettering (loses our reason header, keeps the message).
            log.exception("could not publish to the DLQ; rejecting into the queue's dead-letter exchange")
            await message.reject(requeue=False)
            return
        await message.ack()

    @staticmethod
    def _copy(message: AbstractIncomingMessage, headers: dict[str, Any]) -> aio_pika.Message:
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
        )
