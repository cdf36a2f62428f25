"""Channel adapters: each sends one delivery record, or raises `SendFailed` saying whether to retry.

The inbox is not here: it is written by the service itself (a database write, idempotent by event id).
Email, SMS and webhooks leave the process, so the delivery worker sends them with retries. The adapters
this deployment uses are built once, from the settings, by bootstrap.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from services.notify.channels.base import SendFailed, classify_http, http_failure
from services.notify.domain.deliveries import INBOX

Document = dict[str, Any]


class Sender(Protocol):
    async def send(self, delivery: Document) -> str | None:
        """Send one delivery; return the provider's message id if it gave one. Raises `SendFailed`."""
        ...


@dataclass
class Senders:
    """The adapters this deployment can use; a channel without one is disabled."""

    by_channel: dict[str, Sender] = field(default_factory=dict)
    http: httpx.AsyncClient | None = None

    @property
    def enabled(self) -> frozenset[str]:
        return frozenset({INBOX, *self.by_channel})

    def get(self, channel: str) -> Sender | None:
        return self.by_channel.get(channel)

    async def close(self) -> None:
        if self.http is not None:
            await self.http.aclose()


__all__ = ["SendFailed", "Sender", "Senders", "classify_http", "http_failure"]
