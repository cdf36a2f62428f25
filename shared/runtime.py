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
from shared.mongo import CommandCounter, make_client, ping, wait_for_database
from shared.outbox import OutboxRelay, OutboxWriter, new_owner_id, utcnow
from shared.settings import Settings

Document = dict[str, Any]


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

    @classmethod
    async def open(cls, settings: Settings, service: str, *, clock: Any = utcnow) -> Infrastructure:
        uri = settings.mongodb_uri(service)
        commands = CommandCounter(service)
        client = make_client(uri, service=service, timeout_ms=settings.mongodb_timeout_ms, counter=commands)
        try:
            await wait_for_database(client, service=service, uri=uri or "", deadline_s=30)
            bus = Bus(settings, producer=service)
            await bus.connect()
        except BaseException:
            await client.close()
            raise
        writer = OutboxWriter(new_owner_id(service), settings.outbox_lease_s, clock=clock)
        return cls(settings, service, client, client[settings.mongodb_db(service)], bus, writer, commands)

    def relay(self, collections: list[Any], *, clock: Any = utcnow) -> OutboxRelay:
        relay = OutboxRelay(
            self.bus, self.writer, collections, sweep_interval_s=self.settings.outbox_sweep_interval_s, clock=clock
        )
        self.relays.append(relay)
        return relay

    async def readiness(self) -> dict[str, bool]:
        return {"database": await ping(self.client), "broker": self.bus.is_connected}

    async def close(self) -> None:
        for relay in self.relays:
            await relay.stop()
        await self.bus.close()
        await self.client.close()
