"""Counting the database commands a service sends: a PyMongo `CommandListener` on the service's own client.

`count_commands` (a fixture in tests/integration/conftest.py) swaps the client factory the services open
their database with (`shared.runtime.make_client`) for one whose client carries a `CommandCounter`, so the
counter sees every command of the service under test and nothing the test itself sends (its own probes
use another client). The budget tests (tests/integration/test_command_budgets.py) use it to hold the
commands per request to a number.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring

import shared.runtime

# The driver's own housekeeping, not work the service asked for.
HOUSEKEEPING = frozenset({"hello", "ismaster", "isMaster", "ping", "endSessions", "buildInfo", "killCursors"})
WRITES = frozenset({"insert", "update", "delete", "findAndModify"})


class CommandCounter(monitoring.CommandListener):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.commands: list[tuple[str, str]] = []  # (command name, collection)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in HOUSEKEEPING:
            return
        collection = event.command.get(event.command_name)
        with self._lock:
            self.commands.append((event.command_name, str(collection)))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def reset(self) -> None:
        with self._lock:
            self.commands.clear()

    @property
    def total(self) -> int:
        return len(self.commands)

    @property
    def writes(self) -> int:
        return sum(1 for name, _ in self.commands if name in WRITES)

    def summary(self) -> str:
        """`find tasks x1, insert tasks x1, ...`: what a failed budget shows."""
        counts = Counter(f"{name} {collection}" for name, collection in self.commands)
        return ", ".join(f"{what} x{n}" for what, n in counts.items()) or "none"


def counting_client_factory(test_counter: CommandCounter) -> Any:
    """A stand-in for `shared.mongo.make_client` whose clients also report to `test_counter`."""

    def make(
        uri: str | None, *, service: str, timeout_ms: int = 5000, counter: monitoring.CommandListener | None = None
    ) -> AsyncMongoClient[dict[str, Any]]:
        assert uri, "the test settings always name a MongoDB"
        return AsyncMongoClient(
            uri,
            tz_aware=True,
            serverSelectionTimeoutMS=timeout_ms,
            appname=f"huiying-{service}",
            event_listeners=[test_counter, *([counter] if counter else [])],
        )

    return make


@pytest.fixture
def count_commands(monkeypatch: pytest.MonkeyPatch) -> CommandCounter:
    """Every service started in this test (run_service, start_routing, ...) counts its commands here."""
    counter = CommandCounter()
    monkeypatch.setattr(shared.runtime, "make_client", counting_client_factory(counter))
    return counter
