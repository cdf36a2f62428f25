"""Notify's event consumers: one inbox message per event, in the resident's language."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from services.notify.domain import inbox_message, message_for, recipient_from
from services.notify.store import NotifyStore
from services.notify.templates import Templates
from shared.bus import RetryLater
from shared.events import Envelope, EventData, RequestSubmitted


class NotifyHandler:
    def __init__(
        self,
        store: NotifyStore,
        templates: Templates,
        clock: Callable[[], datetime],
        *,
        track_base_url: str,
        tz: str,
    ) -> None:
        self.store, self.templates, self.clock = store, templates, clock
        self.track_base_url, self.tz = track_base_url, tz

    async def __call__(self, envelope: Envelope, data: EventData) -> None:
        if isinstance(data, RequestSubmitted):
            recipient = recipient_from(data)
            await self.store.save_recipient(recipient)
        else:
            found = await self.store.recipient(data.request_id)
            if found is None:
                # The request.submitted event has not reached us yet (it is being retried): wait for it.
                raise RetryLater(f"recipient of {data.request_id} not known yet")
            recipient = found
        rendered = message_for(
            envelope, data, recipient, self.templates, track_base_url=self.track_base_url, tz=self.tz
        )
        if rendered is None:
            return
        await self.store.add_to_inbox(inbox_message(envelope, recipient, rendered, self.clock()))
