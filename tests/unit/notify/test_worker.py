"""The delivery worker against the in-memory store and fake channels: outcomes, retries, quiet hours, and its
loop (concurrency, graceful stop)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from services.notify.channels import Senders, SendFailed
from services.notify.domain.deliveries import FAILED, PENDING, SENT, RetryPolicy, new_delivery
from services.notify.domain.quiet_hours import QuietHours
from services.notify.worker import DeliveryWorker
from tests.support import eventually
from tests.unit.fakes import FakeClock as Clock
from tests.unit.notify.fakes import MemoryNotifyStore as MemoryStore

DAY = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 Shanghai
EVENING = datetime(2026, 3, 2, 13, 59, 59, tzinfo=UTC)  # 21:59:59 Shanghai
MORNING = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)  # 07:00 next day Shanghai


class ScriptedSender:
    def __init__(self, *outcomes: Exception | None) -> None:
        self.outcomes = list(outcomes)
        self.sent: list[str] = []

    async def send(self, delivery: dict[str, Any]) -> str | None:
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome
        self.sent.append(delivery["_id"])
        return "provider-1"


def sms(now: datetime, urgent: bool = False, event_id: str = "e1", request_id: str = "r1") -> dict[str, Any]:
    event = {"event_id": event_id, "event_type": "task.dispatched", "request_id": request_id, "tracking_code": "HY1"}
    return new_delivery(
        event=event,
        channel="sms",
        recipient="resident",
        address="13800138000",
        language="zh-CN",
        urgent=urgent,
        message={"text": "hi"},
        now=now,
    )


def worker(
    store: MemoryStore,
    sender: Any,
    clock: Clock,
    max_attempts: int = 3,
    *,
    concurrency: int = 1,
    poll_interval_s: float = 1,
) -> DeliveryWorker:
    return DeliveryWorker(
        store,
        Senders({"sms": sender}),
        clock,
        owner="replica-a",
        policy=RetryPolicy(max_attempts=max_attempts, base_s=10, max_s=100),
        quiet=QuietHours.parse("22:00-07:00"),
        tz="Asia/Shanghai",
        lease_s=60,
        poll_interval_s=poll_interval_s,
        concurrency=concurrency,
        rng=lambda: 0.0,
    )


async def step(w: DeliveryWorker, store: MemoryStore, clock: Clock) -> bool:
    claimed = await store.claim_due("replica-a", clock(), 60)
    if claimed is None:
        return False
    await w._process(claimed)
    return True


async def test_transient_failures_back_off_then_succeed() -> None:
    clock = Clock(DAY)
    store, sender = MemoryStore(sms(DAY)), ScriptedSender(SendFailed("503", permanent=False), None)
    w = worker(store, sender, clock)
    assert await step(w, store, clock)
    doc = store.deliveries["e1:sms:resident"]
    assert doc["status"] == PENDING and doc["attempts"] == 1 and doc["next_attempt_at"] == DAY + timedelta(seconds=5)
    assert not await step(w, store, clock)  # not due yet
    clock.now = DAY + timedelta(seconds=5)
    assert await step(w, store, clock)
    assert doc["status"] == SENT and doc["attempts"] == 2 and doc["provider_id"] == "provider-1"
    assert doc["last_error"] == "503" and "lease_owner" not in doc


async def test_attempts_are_bounded() -> None:
    clock = Clock(DAY)
    store = MemoryStore(sms(DAY))
    w = worker(store, ScriptedSender(*[SendFailed("timeout", permanent=False)] * 5), clock, max_attempts=2)
    while await step(w, store, clock) or store.deliveries["e1:sms:resident"]["status"] == PENDING:
        clock.now += timedelta(minutes=5)
    doc = store.deliveries["e1:sms:resident"]
    assert doc["status"] == FAILED and doc["attempts"] == 2 and doc["last_error"] == "gave up after 2 attempts: timeout"


async def test_a_permanent_failure_stops_at_once() -> None:
    clock = Clock(DAY)
    store = MemoryStore(sms(DAY))
    await step(worker(store, ScriptedSender(SendFailed("HTTP 400", permanent=True)), clock), store, clock)
    doc = store.deliveries["e1:sms:resident"]
    assert doc["status"] == FAILED and doc["attempts"] == 1 and doc["next_attempt_at"] is None


async def test_a_retry_that_falls_in_the_quiet_hours_waits_for_the_morning_uncounted() -> None:
    clock = Clock(EVENING)
    store, sender = MemoryStore(sms(EVENING)), ScriptedSender(SendFailed("503", permanent=False))
    w = worker(store, sender, clock)
    await step(w, store, clock)  # 21:59:59: fails, retry due at 22:00:04
    clock.now = EVENING + timedelta(seconds=5)
    await step(w, store, clock)  # now quiet: deferred, not sent, the attempt not counted
    doc = store.deliveries["e1:sms:resident"]
    assert doc["status"] == PENDING and doc["next_attempt_at"] == MORNING and doc["attempts"] == 1
    assert sender.sent == []
    clock.now = MORNING
    await step(w, store, clock)
    assert doc["status"] == SENT and doc["attempts"] == 2 and sender.sent == ["e1:sms:resident"]


async def test_urgent_sms_ignores_the_quiet_hours() -> None:
    night = MORNING - timedelta(hours=2)
    clock = Clock(night)
    store, sender = MemoryStore(sms(night, urgent=True)), ScriptedSender()
    await step(worker(store, sender, clock), store, clock)
    assert store.deliveries["e1:sms:resident"]["status"] == SENT


async def test_an_outcome_after_the_lease_was_lost_is_not_recorded() -> None:
    clock = Clock(DAY)
    store, sender = MemoryStore(sms(DAY)), ScriptedSender()
    w = worker(store, sender, clock)
    claimed = await store.claim_due("replica-a", clock(), 60)
    assert claimed is not None
    # The lease expired and replica b took the request over (e.g. replica a was paused for minutes).
    store.requests[claimed["_id"]]["lease_owner"] = "replica-b"
    await w._process(claimed)
    assert sender.sent == ["e1:sms:resident"]  # sent (at least once) ...
    doc = store.deliveries["e1:sms:resident"]
    assert doc["status"] == PENDING and doc["attempts"] == 0  # ... but replica b records its own outcome


async def test_a_delivery_whose_senders_keep_dying_is_given_up() -> None:
    clock = Clock(DAY)
    store, sender = MemoryStore(sms(DAY)), ScriptedSender()
    w = worker(store, sender, clock, max_attempts=2)
    for _ in range(2):  # two replicas claimed it and died before recording anything
        await store.claim_due("dead", clock(), 60)
        clock.now += timedelta(seconds=61)
    await step(w, store, clock)
    doc = store.deliveries["e1:sms:resident"]
    assert doc["status"] == FAILED and "stopped mid-send" in doc["last_error"] and sender.sent == []


# --- the loop: claiming on shared.loop.PeriodicLoop ----------------------------------------------------


class GatedSender:
    """Every send waits until the test opens the gate: what is in flight stays visible."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.started: list[str] = []
        self.sent: list[str] = []

    async def send(self, delivery: dict[str, Any]) -> str | None:
        self.started.append(delivery["_id"])
        await self.gate.wait()
        self.sent.append(delivery["_id"])
        return None


async def test_at_most_concurrency_sends_are_in_flight_and_a_stop_records_them() -> None:
    clock = Clock(DAY)
    store, sender = MemoryStore(*[sms(DAY, event_id=f"e{i}", request_id=f"r{i}") for i in range(5)]), GatedSender()
    w = worker(store, sender, clock, concurrency=2, poll_interval_s=60)
    w.start()
    await eventually(lambda: len(sender.started) == 2, timeout=5, what="two sends in flight")
    await eventually(lambda: w.loop.passes == 2, timeout=5, what="two claims")  # the third waits for a slot
    assert len(sender.started) == 2
    stopping = asyncio.create_task(w.stop(grace_s=5))
    await eventually(lambda: w.loop.stopping, timeout=5, what="the stop requested")
    sender.gate.set()  # the sends in flight finish after the stop was asked for
    await stopping
    statuses = sorted(d["status"] for d in store.deliveries.values())
    assert statuses == [PENDING, PENDING, PENDING, SENT, SENT]  # both recorded; nothing new claimed
    assert sorted(sender.sent) == sorted(sender.started)


async def test_a_wake_up_sends_new_records_without_waiting_for_the_poll() -> None:
    clock = Clock(DAY)
    store, sender = MemoryStore(), ScriptedSender()
    w = worker(store, sender, clock, poll_interval_s=60)
    w.start()
    await eventually(lambda: w.loop.passes >= 1, timeout=5, what="a first, empty pass")
    store.add(sms(DAY))
    w.wake()
    await eventually(lambda: sender.sent == ["e1:sms:resident"], timeout=5, what="the woken send")
    await w.stop()
    assert store.deliveries["e1:sms:resident"]["status"] == SENT


class FlakyStore(MemoryStore):
    def __init__(self, *docs: dict[str, Any]) -> None:
        super().__init__(*docs)
        self.failures = 1

    async def claim_due(self, owner: str, now: datetime, lease_s: float) -> dict[str, Any] | None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database unavailable")
        return await super().claim_due(owner, now, lease_s)


async def test_a_failed_claim_frees_its_slot_and_the_loop_goes_on() -> None:
    clock = Clock(DAY)
    store, sender = FlakyStore(sms(DAY)), ScriptedSender()
    w = worker(store, sender, clock, concurrency=1, poll_interval_s=60)
    w.start()
    await eventually(lambda: store.failures == 0 and w.loop.passes >= 1, timeout=5, what="the failed claim")
    w.wake()  # with its one slot still taken, the loop could never claim again
    await eventually(lambda: sender.sent == ["e1:sms:resident"], timeout=5, what="the send after the failure")
    await w.stop()


class CountingStore(MemoryStore):
    def __init__(self, *docs: dict[str, Any]) -> None:
        super().__init__(*docs)
        self.settles = 0

    async def settle(self, claimed: dict[str, Any], owner: str, outcomes: dict[str, Any]) -> bool:
        self.settles += 1
        return await super().settle(claimed, owner, outcomes)


async def test_the_due_records_of_one_request_go_out_under_one_lease_and_one_settle() -> None:
    clock = Clock(DAY)
    later = DAY + timedelta(minutes=5)
    store = CountingStore(sms(DAY, event_id="e1"), sms(DAY, event_id="e2"), sms(later, event_id="e3"))
    sender = ScriptedSender()
    w = worker(store, sender, clock)
    assert await step(w, store, clock)
    assert sorted(sender.sent) == ["e1:sms:resident", "e2:sms:resident"] and store.settles == 1
    assert store.requests["r1"]["due_at"] == later  # the third waits for its time
    assert not await step(w, store, clock)
    clock.now = later
    assert await step(w, store, clock)
    assert sender.sent[-1] == "e3:sms:resident" and "due_at" not in store.requests["r1"]
