"""The one `pymongo.AsyncMongoClient` per process, and operator-friendly start-up checks."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import ConfigurationError, InvalidURI, PyMongoError

from shared.redact import redact_url

Document = dict[str, Any]


class DatabaseUnavailable(RuntimeError):
    """Raised with a one-line message an operator can act on."""


def _hint(service: str) -> str:
    return (
        f"set HUIYING_{service.upper()}_MONGODB_URI to a reachable mongodb:// URI, "
        "or start the whole stack with `make run` (it starts an embedded MongoDB)"
    )


def make_client(uri: str | None, *, service: str, timeout_ms: int = 5000) -> AsyncMongoClient[Document]:
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
