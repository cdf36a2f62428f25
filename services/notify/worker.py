"""The delivery worker: runs in every replica and sends what the event handler recorded.

The event handler only writes delivery records (idempotent) and acks; nothing is sent on the AMQP ack
path. Here, each replica repeatedly claims one due record with a conditional update (status pending and
due, or sending with an expired lease -> sending, leased to this replica), sends it, and settles the
outcome only if it still holds the lease. All state is in the database: a replica can die at any point
and another one finishes its work after the lease. Quiet hours are checked again at send time, so a retry
that falls in the night waits for the morning too.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog
from pymongo.errors import PyMongoError

from services.notify.channels import Senders, SendFailed
from services.notify.deliveries import SMS, RetryPolicy, defer_update, failure_update, sent_update
from services.notify.metrics import DELIVERY_ATTEMPTS
from services.notify.quiet_hours import QuietHours
from services.notify.store import NotifyStore

log = structlog.get_logger("huiying.notify.worker")

Document = dict[str, Any]


class DeliveryWorker:
    def __init__(
        self,
        store: NotifyStore,
        senders: Senders,
        clock: Callable[[], datetime],
        *,
        owner: str,
        policy: RetryPolicy,
        quiet: QuietHours | None,
        tz: str,
        lease_s: float,
        poll_interval_s: float,
        concurrency: int,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.store, self.senders, self.clock = store, senders, clock
        self.owner, self.policy, self.quiet, self.tz = owner, policy, quiet, tz
        self.lease_s, self.poll_interval_s = lease_s, poll_interval_s
        self.rng = rng
        self._slots = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._run(), name="notify-delivery-worker")

    def wake(self) -> None:
        """New records were written: look now rather than at the next poll (latency only, not state)."""
        self._wake.set()

    async def stop(self, grace_s: float = 10.0) -> None:
        """Stop claiming, let sends in flight finish (their outcome is recorded), then return."""
        self._stopping.set()
        self._wake.set()
        if self._loop_task is not None:
            done, _ = await asyncio.wait({self._loop_task}, timeout=grace_s)
            if not done:  # waiting for a free slot: nothing claimed yet, safe to cancel
                self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        if self._inflight:
            await asyncio.wait(self._inflight, timeout=grace_s)
        for task in list(self._inflight):
            task.cancel()  # past the grace: the lease expires and another replica sends it

    async def _run(self) -> None:
        while not self._stopping.is_set():
            await self._slots.acquire()
            if self._stopping.is_set():
                self._slots.release()
                break
            self._wake.clear()  # before the claim, so a wake-up during it is not lost
            try:
                claimed = await self.store.claim_due(self.owner, self.clock(), self.lease_s)
            except PyMongoError as exc:
                self._slots.release()
                log.warning("could not claim deliveries; database unavailable", error=f"{type(exc).__name__}: {exc}")
                await self._pause()
                continue
            except Exception:
                self._slots.release()
                log.exception("could not claim deliveries")
                await self._pause()
                continue
            if claimed is None:
                self._slots.release()
                await self._pause()
                continue
            task = asyncio.create_task(self._process(claimed))
            self._inflight.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._slots.release()

    async def _pause(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.poll_interval_s)

    async def _process(self, delivery: Document) -> None:
        channel = delivery["channel"]
        did = delivery["_id"]
        try:
            await self._attempt(delivery)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Could not record the outcome (database down): the lease expires and the record is tried again.
            log.exception("delivery attempt not settled; it will be retried after the lease", delivery=did)
            DELIVERY_ATTEMPTS.labels(channel=channel, outcome="unsettled").inc()

    async def _attempt(self, delivery: Document) -> None:
        channel, did, attempts = delivery["channel"], delivery["_id"], int(delivery.get("attempts") or 1)
        now = self.clock()
        if channel == SMS and not delivery.get("urgent") and self.quiet is not None:
            until = self.quiet.defer_until(now, self.tz)
            if until is not None:
                await self.store.settle(did, self.owner, defer_update(until, now))
                DELIVERY_ATTEMPTS.labels(channel=channel, outcome="deferred").inc()
                log.info("SMS deferred to the end of the quiet hours", delivery=did, until=until.isoformat())
                return
        sender = self.senders.get(channel)
        if attempts > self.policy.max_attempts:
            # Claimed again and again without an outcome (the replica died mid-send each time): stop here.
            outcome, update = failure_update(
                attempts - 1,
                "no outcome recorded (a replica stopped mid-send)",
                permanent=False,
                now=now,
                policy=self.policy,
            )
        elif sender is None:
            outcome, update = failure_update(
                attempts, f"{channel} is not configured on this replica", permanent=True, now=now, policy=self.policy
            )
        else:
            try:
                provider_id = await sender.send(delivery)
            except SendFailed as exc:
                outcome, update = failure_update(
                    attempts,
                    str(exc),
                    permanent=exc.permanent,
                    now=self.clock(),
                    policy=self.policy,
                    rng=self.rng,
                    retry_after_s=exc.retry_after_s,
                )
            except Exception as exc:
                # An adapter bug or an unforeseen error: count it and retry (bounded by max_attempts).
                log.exception("unexpected error while sending", delivery=did, channel=channel)
                outcome, update = failure_update(
                    attempts,
                    f"{type(exc).__name__}: {exc}",
                    permanent=False,
                    now=self.clock(),
                    policy=self.policy,
                    rng=self.rng,
                )
            else:
                outcome, update = "sent", sent_update(self.clock(), provider_id)
        if not await self.store.settle(did, self.owner, update):
            log.warning("lost the lease before settling; another replica has this delivery", delivery=did)
            return
        DELIVERY_ATTEMPTS.labels(channel=channel, outcome=outcome).inc()
        if outcome == "sent":
            log.info("delivery sent", delivery=did, channel=channel, attempts=attempts)
        else:
            log.warning(
                "delivery attempt failed",
                delivery=did,
                channel=channel,
                attempts=attempts,
                outcome=outcome,
                error=update["$set"].get("last_error"),
            )
