"""What every service opens at start-up and closes at shutdown: MongoDB, the bus, the outbox relay.

One `AsyncMongoClient` and one AMQP connection per process, opened in the FastAPI lifespan; nothing
at import time. Start-up failures caused by the operator raise with a one-line message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared.bus import Bus
from shared.loop import PeriodicLoop
from shared.metrics import UNROUTABLE_MESSAGES
from shared.mongo import CommandCounter, make_client, ping, wait_for_database
from shared.outbox import OutboxRelay, OutboxWriter, new_owner_id, utcnow
from shared.settings import Settings

Document = dict[str, Any]
UNROUTABLE_WATCH_S = 15.0  # how often the gauge huiying_unroutable_messages is refreshed


@dataclass
class Infrastructure:
    settings: Settings
    service: str
    client: AsyncMongoClient[Document]
    db: AsyncDatabase[Document]
    bus: Bus
    writer: OutboxWriter
    commands: CommandCounter  # counts this process's database commands; knows their recent latency
    relays: list[OutboxRelay] = field(default_factory=list)
    watch: PeriodicLoop = field(init=False)  # refreshes the gauge huiying_unroutable_messages

    @classmethod
    async def open(
        cls, settings: Settings, service: str, *, clock: Any = utcnow, teams: tuple[str, ...] | list[str] = ()
    ) -> Infrastructure:
        """Open the database and the broker, and declare the whole event topology (shared/topology.py; the
        work queues of `teams` too) before anything can be published."""
        uri = settings.mongodb_uri(service)
        commands = CommandCounter(service)
        client = make_client(uri, service=service, timeout_ms=settings.mongodb_timeout_ms, counter=commands)
        bus = Bus(settings, producer=service)
        try:
            await wait_for_database(client, service=service, uri=uri or "", deadline_s=30)
            await bus.connect()
            await bus.declare_topology(teams)
        except BaseException:
            await bus.close()
            await client.close()
            raise
        writer = OutboxWriter(new_owner_id(service), settings.outbox_lease_s, clock=clock)
        infra = cls(settings, service, client, client[settings.mongodb_db(service)], bus, writer, commands)
        infra.watch.start()
        return infra

    def __post_init__(self) -> None:
        self.watch = PeriodicLoop("unroutable-watch", self._count_unroutable, UNROUTABLE_WATCH_S)

    async def _count_unroutable(self) -> None:
        UNROUTABLE_MESSAGES.set(await self.bus.unroutable_count())

    def relay(self, collections: list[Any], *, clock: Any = utcnow) -> OutboxRelay:
        relay = OutboxRelay(
            self.bus, self.writer, collections, sweep_interval_s=self.settings.outbox_sweep_interval_s, clock=clock
        )
        self.relays.append(relay)
        return relay

    async def readiness(self) -> dict[str, bool]:
        return {"database": await ping(self.client), "broker": self.bus.is_connected}

    async def close(self) -> None:
        await self.watch.stop()
        for relay in self.relays:
            await relay.stop()
        await self.bus.close()
        await self.client.close()
