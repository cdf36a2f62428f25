"""The delivery worker against an in-memory store and fake channels: outcomes, retries, quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.notify.channels import Senders, SendFailed
from services.notify.deliveries import (
    FAILED,
    PENDING,
    SENT,
    RetryPolicy,
    claim_filter,
    claim_update,
    new_delivery,
)
from services.notify.quiet_hours import QuietHours
from services.notify.worker import DeliveryWorker

DAY = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 Shanghai
EVENING = datetime(2026, 3, 2, 13, 59, 59, tzinfo=UTC)  # 21:59:59 Shanghai
MORNING = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)  # 07:00 next day Shanghai


def apply(doc: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.get("$set", {}).items():
        doc[key] = value
    for key in update.get("$unset", {}):
        doc.pop(key, None)
    for key, value in update.get("$inc", {}).items():
        doc[key] = doc.get(key, 0) + value


def matches(doc: dict[str, Any], query: dict[str, Any]) -> bool:
    def one(q: dict[str, Any]) -> bool:
        for key, cond in q.items():
            if isinstance(cond, dict):
                if doc.get(key) is None or not doc[key] <= cond["$lte"]:
                    return False
            elif doc.get(key) != cond:
                return False
        return True

    return any(one(q) for q in query["$or"])


class MemoryStore:
    def __init__(self, *docs: dict[str, Any]) -> None:
        self.docs = {d["_id"]: d for d in docs}

    async def claim_due(self, owner: str, now: datetime, lease_s: float) -> dict[str, Any] | None:
        due = sorted(
            (d for d in self.docs.values() if matches(d, claim_filter(now))), key=lambda d: d["next_attempt_at"]
        )
        if not due:
            return None
        apply(due[0], claim_update(owner, now, lease_s))
        return dict(due[0])

    async def settle(self, delivery_id: str, owner: str, update: dict[str, Any]) -> bool:
        doc = self.docs[delivery_id]
        if doc.get("status") != "sending" or doc.get("lease_owner") != owner:
            return False
        apply(doc, update)
        return True


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


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def sms(now: datetime, urgent: bool = False) -> dict[str, Any]:
    event = {"event_id": "e1", "event_type": "task.dispatched", "request_id": "r1", "tracking_code": "HY1"}
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


def worker(store: MemoryStore, sender: ScriptedSender, clock: Clock, max_attempts: int = 3) -> DeliveryWorker:
    return DeliveryWorker(
        store,  # type: ignore[arg-type]
        Senders({"sms": sender}),
        clock,
        owner="replica-a",
        policy=RetryPolicy(max_attempts=max_attempts, base_s=10, max_s=100),
        quiet=QuietHours.parse("22:00-07:00"),
        tz="Asia/Shanghai",
        lease_s=60,
        poll_interval_s=1,
        concurrency=1,
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
    doc = store.docs["e1:sms:resident"]
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
    while await step(w, store, clock) or store.docs["e1:sms:resident"]["status"] == PENDING:
        clock.now += timedelta(minutes=5)
    doc = store.docs["e1:sms:resident"]
    assert doc["status"] == FAILED and doc["attempts"] == 2 and doc["last_error"] == "gave up after 2 attempts: timeout"


async def test_a_permanent_failure_stops_at_once() -> None:
    clock = Clock(DAY)
    store = MemoryStore(sms(DAY))
    await step(worker(store, ScriptedSender(SendFailed("HTTP 400", permanent=True)), clock), store, clock)
    doc = store.docs["e1:sms:resident"]
    assert doc["status"] == FAILED and doc["attempts"] == 1 and doc["next_attempt_at"] is None


async def test_a_retry_that_falls_in_the_quiet_hours_waits_for_the_morning_uncounted() -> None:
    clock = Clock(EVENING)
    store, sender = MemoryStore(sms(EVENING)), ScriptedSender(SendFailed("503", permanent=False))
    w = worker(store, sender, clock)
    await step(w, store, clock)  # 21:59:59: fails, retry due at 22:00:04
    clock.now = EVENING + timedelta(seconds=5)
    await step(w, store, clock)  # now quiet: deferred, not sent, the attempt not counted
    doc = store.docs["e1:sms:resident"]
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
    assert store.docs["e1:sms:resident"]["status"] == SENT


async def test_an_outcome_after_the_lease_was_lost_is_not_recorded() -> None:
    clock = Clock(DAY)
    store, sender = MemoryStore(sms(DAY)), ScriptedSender()
    w = worker(store, sender, clock)
    claimed = await store.claim_due("replica-a", clock(), 60)
    assert claimed is not None
    # The lease expired and replica b took the delivery over (e.g. replica a was paused for minutes).
    store.docs[claimed["_id"]]["lease_owner"] = "replica-b"
    await w._process(claimed)
    assert store.docs[claimed["_id"]]["status"] == "sending"  # replica b records its own outcome


async def test_a_delivery_whose_senders_keep_dying_is_given_up() -> None:
    clock = Clock(DAY)
    store, sender = MemoryStore(sms(DAY)), ScriptedSender()
    w = worker(store, sender, clock, max_attempts=2)
    for _ in range(2):  # two replicas claimed it and died before recording anything
        await store.claim_due("dead", clock(), 60)
        clock.now += timedelta(seconds=61)
    await step(w, store, clock)
    doc = store.docs["e1:sms:resident"]
    assert doc["status"] == FAILED and "stopped mid-send" in doc["last_error"] and sender.sent == []
