"""Renewing the bus's publishing channel after the broker refused a publish (a negative confirm).

Seen on a three-node RabbitMQ 3.10 cluster (`huiying chaos --nodes 3`, faults node-killed and
leader-killed): a channel opened while a quorum queue's leader had just died kept refusing (basic.nack)
every later publish routed to that queue, for minutes, while a new channel's publishes to the same queue
were confirmed at once. The channel keeps its own view of the queue's leader; a new channel asks again.
Intake's `request.submitted` events then waited in the outbox, and routing's work items went round their
retries until they were dead-lettered.

So a refusal renews the channel. A return is not a refusal (it means no queue is bound to the key; a
new channel would change nothing). The refused publish itself still fails, and its sender retries it on
the new channel (the outbox's sweeper, a handler's RetryLater). Many publishes in flight on one stale
channel are refused together: it is renewed once, and not more than once a second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiormq
import structlog

from shared.metrics import PUBLISH_CHANNEL_RENEWALS

log = structlog.get_logger("huiying.bus")


def refused(exc: BaseException) -> bool:
    """A negative confirm (the broker did not take the message), not a return (nothing was bound)."""
    return isinstance(exc, aiormq.exceptions.DeliveryError) and not isinstance(exc, aiormq.exceptions.PublishError)


class ChannelRenewal:
    def __init__(self, min_interval_s: float = 1.0) -> None:
        self.min_interval_s = min_interval_s
        self._lock = asyncio.Lock()
        self._renewed_at = float("-inf")

    async def renew(self, stale: Any, current: Callable[[], Any], reopen: Callable[[], Awaitable[None]]) -> bool:
        """Reopen the publishing channel if `stale` (the channel that refused) is still `current()`; close
        `stale`. Returns whether it renewed."""
        async with self._lock:
            if stale is None or current() is not stale or time.monotonic() - self._renewed_at < self.min_interval_s:
                return False
            try:
                await reopen()
            except Exception as exc:  # the connection itself is going: its reconnection makes new channels
                log.warning("could not renew the publishing channel", error=f"{type(exc).__name__}: {exc}")
                return False
            self._renewed_at = time.monotonic()
        PUBLISH_CHANNEL_RENEWALS.inc()
        log.warning("the broker refused a publish; publishing on a new channel")
        try:
            await stale.close()
        except Exception:
            pass  # already closed with its connection
        return True
