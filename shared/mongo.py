"""The one `pymongo.AsyncMongoClient` per process, and operator-friendly start-up checks."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from pymongo import AsyncMongoClient, monitoring
from pymongo.errors import ConfigurationError, InvalidURI, PyMongoError

from shared.metrics import DB_COMMANDS, DB_SLOW_SECONDS
from shared.redact import redact_url

Document = dict[str, Any]


class DatabaseUnavailable(RuntimeError):
    """Raised with a one-line message an operator can act on."""


def _hint(service: str) -> str:
    return (
        f"set HUIYING_{service.upper()}_MONGODB_URI to a reachable mongodb:// URI, "
        "or start the whole stack with `make run` (it starts an embedded MongoDB)"
    )


# The driver's own handshakes and health checks, not work a request asked for.
_HOUSEKEEPING = frozenset({"hello", "ismaster", "isMaster", "ping", "endSessions", "buildInfo", "saslStart"})


class CommandCounter(monitoring.CommandListener):
    """Counts the commands this process sends (`huiying_db_commands_total{service,command}`) and their latency,
    so `huiying bench` can report database commands per request from each service's /metrics.

    It also keeps a short moving view of the latency, which intake's admission control reads (a slow database
    refuses new writes at once instead of letting them queue)."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.recent_s = 0.0  # exponentially weighted latency of recent commands, in seconds

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name not in _HOUSEKEEPING:
            DB_COMMANDS.labels(service=self.service, command=event.command_name).inc()

    def _finished(self, command: str, seconds: float) -> None:
        if command in _HOUSEKEEPING:
            return
        DB_SLOW_SECONDS.labels(service=self.service).observe(seconds)
        self.recent_s = 0.8 * self.recent_s + 0.2 * seconds

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._finished(event.command_name, event.duration_micros / 1e6)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._finished(event.command_name, event.duration_micros / 1e6)


def make_client(
    uri: str | None, *, service: str, timeout_ms: int = 5000, counter: CommandCounter | None = None
) -> AsyncMongoClient[Document]:
    if not uri:
        raise DatabaseUnavailable(f"no MongoDB configured for {service}: {_hint(service)}")
    if not uri.startswith(("mongodb://", "mongodb+srv://")):
        raise DatabaseUnavailable(f"HUIYING_{service.upper()}_MONGODB_URI must start with mongodb://; {_hint(service)}")
    try:
        return AsyncMongoClient(
            uri,
            tz_aware=True,
            serverSelectionTimeoutMS=timeout_ms,
            connectTimeoutMS=timeout_ms,
            appname=f"huiying-{service}",
            event_listeners=[counter or CommandCounter(service)],
        )
    except (InvalidURI, ConfigurationError, ValueError) as exc:
        raise DatabaseUnavailable(
            f"HUIYING_{service.upper()}_MONGODB_URI is not a valid MongoDB URI ({exc}); {_hint(service)}"
        ) from exc


async def ping(client: AsyncMongoClient[Document], timeout_s: float = 2.0) -> bool:
    try:
        await asyncio.wait_for(client.admin.command("ping"), timeout_s)
        return True
    except (PyMongoError, TimeoutError, OSError):
        return False


async def wait_for_database(
    client: AsyncMongoClient[Document], *, service: str, uri: str, deadline_s: float = 30.0
) -> None:
    """The pre-start step: wait (bounded) for the database, then fail with one line."""
    end = time.monotonic() + deadline_s
    last: BaseException | None = None
    while time.monotonic() < end:
        try:
            await client.admin.command("ping")
            return
        except PyMongoError as exc:
            last = exc
            await asyncio.sleep(0.5)
    raise DatabaseUnavailable(
        f"MongoDB for {service} at {redact_url(uri)} did not answer within {deadline_s:.0f}s "
        f"({type(last).__name__}); {_hint(service)}"
    )
