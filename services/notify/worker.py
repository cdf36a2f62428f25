"""The delivery worker: runs in every replica and sends what the service recorded.

The event handler only writes delivery records (idempotent) and acks; nothing is sent on the AMQP ack
path. Here, each replica repeatedly leases one request document with a due record (a conditional update
on the indexed `due_at`; a document no live lease holds), sends its due records, and settles all their
outcomes in one write, only if it still holds the lease. All state is in the database: a replica can die
at any point and another one finishes its work after the lease. Quiet hours are checked again at send
time, so a retry that falls in the night waits for the morning too.

The claiming runs on `shared.loop.PeriodicLoop`: a pass waits for a free send slot (`concurrency`
documents in flight), leases one document and starts sending its records; a pass that claimed something
runs again at once, one that found nothing waits for the poll interval or a `wake()` from the service.
On `stop()` the claiming ends first, then the sends in flight finish and are recorded (within the grace
period).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog

from services.notify.channels import Senders, SendFailed
from services.notify.domain.deliveries import RetryPolicy, defer_update, failure_update, sent_update
from services.notify.domain.quiet_hours import QuietHours, held_until
from services.notify.domain.record import due_deliveries
from services.notify.metrics import DELIVERY_ATTEMPTS
from services.notify.store import DeliveryQueue
from shared.loop import PeriodicLoop

log = structlog.get_logger("huiying.notify.worker")

Document = dict[str, Any]


class DeliveryWorker:
    def __init__(
        self,
        store: DeliveryQueue,
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
        self.lease_s = lease_s
        self.rng = rng
        self._slots = asyncio.Semaphore(concurrency)
        self._inflight: set[asyncio.Task[None]] = set()
        self.loop = PeriodicLoop("notify-delivery-worker", self._claim_next, poll_interval_s)

    def start(self) -> None:
        self.loop.start()

    def wake(self) -> None:
        """New records were written: look now rather than at the next poll (latency only, not state)."""
        self.loop.wake()

    async def stop(self, grace_s: float = 10.0) -> None:
        """Stop claiming, let sends in flight finish (their outcome is recorded), then return."""
        # A pass still waiting for a free slot after the grace is cancelled: it has claimed nothing yet.
        await self.loop.stop(grace_s)
        if self._inflight:
            await asyncio.wait(self._inflight, timeout=grace_s)
        for task in list(self._inflight):
            task.cancel()  # past the grace: the lease expires and another replica sends it

    async def _claim_next(self) -> bool:
        """One pass: wait for a send slot, claim the most overdue record and start sending it. True when a
        record was claimed (there may be more: pass again at once)."""
        await self._slots.acquire()
        if self.loop.stopping:
            self._slots.release()
            return False
        try:
            claimed = await self.store.claim_due(self.owner, self.clock(), self.lease_s)
        except BaseException:
            self._slots.release()  # the loop logs and counts the failure, then waits for the next poll
            raise
        if claimed is None:
            self._slots.release()
            return False
        task = asyncio.create_task(self._process(claimed), name=f"notify-send-{claimed['_id']}")
        self._inflight.add(task)
        task.add_done_callback(self._done)
        return True

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._slots.release()

    async def _process(self, claimed: Document) -> None:
        """Send every due record of a leased request document, then settle them all in one write."""
        try:
            await self._attempt_all(claimed)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Could not record the outcome (database down): the lease expires and the records are tried again.
            log.exception("delivery attempts not settled; retried after the lease", request_id=claimed["_id"])
            for delivery in due_deliveries(claimed, self.clock()):
                DELIVERY_ATTEMPTS.labels(channel=delivery["channel"], outcome="unsettled").inc()

    async def _attempt_all(self, claimed: Document) -> None:
        now = self.clock()
        # Leases taken with no outcome recorded: the replicas before us died mid-send.
        abandoned = int(claimed.get("claims") or 1) - 1
        due = due_deliveries(claimed, now)
        # The channels at once, each channel's messages one after another in the order they were made: a
        # resident reads "passed to a team" before "a staff member has taken it on" (the lease has to outlast
        # one channel's sends).
        by_channel: dict[str, list[Document]] = {}
        for delivery in due:
            by_channel.setdefault(delivery["channel"], []).append(delivery)

        async def in_order(deliveries: list[Document]) -> list[tuple[Document, tuple[str, Document]]]:
            return [(d, await self._attempt(d, abandoned, now)) for d in deliveries]

        sent = [pair for channel in await asyncio.gather(*map(in_order, by_channel.values())) for pair in channel]
        results = {d["_id"]: (d, outcome, update) for d, (outcome, update) in sent}
        if not await self.store.settle(claimed, self.owner, {did: update for did, (_, _, update) in results.items()}):
            log.warning(
                "lost the lease before settling; another replica has these deliveries", request_id=claimed["_id"]
            )
            return
        for did, (delivery, outcome, update) in results.items():
            self._report(did, delivery, outcome, update)

    async def _attempt(self, delivery: Document, abandoned: int, now: datetime) -> tuple[str, Document]:
        channel = delivery["channel"]
        attempts = int(delivery.get("attempts") or 0) + abandoned + 1  # this one included
        until = held_until(channel, bool(delivery.get("urgent")), self.quiet, now, self.tz)
        if until is not None:
            return "deferred", defer_update(until, now)
        outcome, update = await self._send(delivery, attempts, now)
        update["$set"].setdefault("attempts", attempts)
        return outcome, update

    def _report(self, did: str, delivery: Document, outcome: str, update: Document) -> None:
        channel = delivery["channel"]
        DELIVERY_ATTEMPTS.labels(channel=channel, outcome=outcome).inc()
        attempts = update["$set"].get("attempts")
        if outcome == "deferred":
            until = update["$set"]["next_attempt_at"]
            log.info("SMS deferred to the end of the quiet hours", delivery=did, until=until.isoformat())
        elif outcome == "sent":
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

    async def _send(self, delivery: Document, attempts: int, now: datetime) -> tuple[str, Document]:
        """Send through the channel's adapter; (outcome, update) to settle the record with."""
        channel = delivery["channel"]
        sender = self.senders.get(channel)
        if attempts > self.policy.max_attempts:
            # Leased again and again without an outcome (the replica died mid-send each time): stop here.
            reason = "no outcome recorded (a replica stopped mid-send)"
            outcome, update = failure_update(attempts - 1, reason, permanent=False, now=now, policy=self.policy)
            update["$set"]["attempts"] = attempts - 1
            return outcome, update
        if sender is None:
            reason = f"{channel} is not configured on this replica"
            return failure_update(attempts, reason, permanent=True, now=now, policy=self.policy)
        try:
            provider_id = await sender.send(delivery)
        except SendFailed as exc:
            return failure_update(
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
            log.exception("unexpected error while sending", delivery=delivery["_id"], channel=channel)
            reason = f"{type(exc).__name__}: {exc}"
            return failure_update(attempts, reason, permanent=False, now=self.clock(), policy=self.policy, rng=self.rng)
        return "sent", sent_update(self.clock(), provider_id)
