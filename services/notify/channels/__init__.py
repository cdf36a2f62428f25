"""Channel adapters: each sends one delivery record, or raises `SendFailed` saying whether to retry.

The inbox is not here: it is written by the event handler itself (a database write, idempotent by
event id). Email, SMS and webhooks leave the process, so the delivery worker sends them with retries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import httpx

from services.notify.channels.base import SendFailed, classify_http, http_failure
from services.notify.channels.email import EmailSender
from services.notify.channels.sms import SmsSender
from services.notify.channels.webhook import WebhookSender
from services.notify.config import NotifySettings
from services.notify.deliveries import EMAIL, INBOX, SMS, WEBHOOK

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

    @classmethod
    def from_settings(cls, settings: NotifySettings, clock: Callable[[], datetime]) -> Senders:
        # Redirects are not followed: a webhook or gateway URL must be the final one (no surprises).
        http = httpx.AsyncClient(follow_redirects=False, headers={"User-Agent": "Huiying-Notify/1"})
        by_channel: dict[str, Sender] = {
            WEBHOOK: WebhookSender(
                http, secret=settings.webhook_secret, timeout_s=settings.notify_webhook_timeout_s, clock=clock
            )
        }
        if settings.notify_smtp_url:
            by_channel[EMAIL] = EmailSender.from_url(
                settings.notify_smtp_url, sender=settings.notify_email_from, timeout_s=settings.notify_smtp_timeout_s
            )
        if settings.notify_sms_url:
            by_channel[SMS] = SmsSender(
                http,
                url=settings.notify_sms_url,
                api_key=settings.notify_sms_api_key,
                timeout_s=settings.notify_sms_timeout_s,
                region=settings.notify_sms_default_region,
            )
        return cls(by_channel, http)

    async def close(self) -> None:
        if self.http is not None:
            await self.http.aclose()


__all__ = ["SendFailed", "Sender", "Senders", "classify_http", "http_failure"]
