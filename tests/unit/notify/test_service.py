"""NotifyService against the in-memory store: an event in -> recipient and team recorded, the plan written
once (inbox + delivery log), the worker woken; and the inbox and delivery-log reads. Milliseconds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from services.notify.config import NotifySettings, load_config
from services.notify.domain.access import Viewer
from services.notify.domain.messages import Links
from services.notify.domain.planning import Policy
from services.notify.domain.quiet_hours import QuietHours
from services.notify.domain.templates import Templates
from services.notify.handlers import NotifyHandler
from services.notify.metrics import MISSING_TRANSLATIONS
from services.notify.service import NotFound, NotifyService, RecipientNotKnownYet, Recorded, TemplateFailed
from shared.bus import Poison, RetryLater
from shared.events import Envelope
from tests.unit.fakes import FakeClock
from tests.unit.notify.events import T0, dispatched, submitted, task_event
from tests.unit.notify.fakes import MemoryNotifyStore

TEMPLATES = load_config(NotifySettings()).templates
NIGHT = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
MORNING = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)  # 07:00 the next day in Shanghai
OTHER_TEAM = {"id": "mediation", "name": {"zh-CN": "调解组", "en": "Mediation"}}


class Wakes:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def service(
    store: MemoryNotifyStore, clock: FakeClock, wakes: Wakes | None = None, templates: Templates = TEMPLATES
) -> NotifyService:
    policy = Policy(
        links=Links(intake="https://portal.example", routing="https://staff.example"),
        quiet=QuietHours.parse("22:00-07:00"),
        enabled=frozenset({"inbox", "email", "sms", "webhook"}),
    )
    return NotifyService(store, templates, policy, clock, on_pending=wakes or Wakes())


async def record(svc: NotifyService, envelope: Envelope) -> Recorded:
    return await svc.record_event(envelope, envelope.payload())


def channels(store: MemoryNotifyStore, event: Envelope) -> dict[str, dict[str, Any]]:
    return {d["channel"]: d for d in store.deliveries.values() if d["event_id"] == str(event.event_id)}


# --- an event in -------------------------------------------------------------------------------------


async def test_request_submitted_records_the_resident_and_plans_the_receipt() -> None:
    store, wakes = MemoryNotifyStore(), Wakes()
    svc = service(store, FakeClock(T0), wakes)
    receipt = submitted("r1", "HY0000000001", language="en", email="li@example.com")
    recorded = await record(svc, receipt)
    assert recorded == Recorded(inbox=True, deliveries=2, pending=1)
    assert store.recipients["r1"]["tracking_code"] == "HY0000000001" and store.recipients["r1"]["language"] == "en"
    (message,) = store.inbox.values()
    assert message["_id"] == str(receipt.event_id) and "HY0000000001" in message["subject"]
    got = channels(store, receipt)
    assert got["inbox"]["status"] == "sent" and got["email"]["status"] == "pending"
    assert got["email"]["address"] == "li@example.com" and got["email"]["created_at"] == T0
    assert wakes.count == 1  # the worker looks now, not at its next poll


async def test_a_redelivered_event_records_nothing_twice() -> None:
    store, wakes = MemoryNotifyStore(), Wakes()
    svc = service(store, FakeClock(T0), wakes)
    receipt = submitted("r1", "HY0000000001", preferred="sms", email="li@example.com")
    dispatch = dispatched("r1", "HY0000000001", seq=1)
    await record(svc, receipt)
    await record(svc, dispatch)
    writes, deliveries = store.writes, dict(store.deliveries)
    # The broker redelivers both, and a second replica handles them at the same time.
    twin = service(store, FakeClock(T0), wakes)
    again = await asyncio.gather(*(record(s, e) for s in (svc, twin) for e in (receipt, dispatch)))
    assert again == [Recorded()] * 4
    assert store.writes == writes and store.deliveries == deliveries and len(store.inbox) == 2
    assert wakes.count == 2  # only the first copies had anything to send


async def test_the_first_recipient_wins() -> None:
    store = MemoryNotifyStore()
    svc = service(store, FakeClock(T0))
    await record(svc, submitted("r1", "HY0000000001", phone="13800138000"))
    # A later copy of the request's first event with other details changes nothing.
    await record(svc, submitted("r1", "HY0000000001", phone="13900000000", seq=2))
    assert store.recipients["r1"]["phone"] == "13800138000"


async def test_a_task_event_before_its_resident_is_known_asks_for_a_retry() -> None:
    store = MemoryNotifyStore()
    svc = service(store, FakeClock(T0))
    early = dispatched("r1", "HY0000000001", seq=1)
    with pytest.raises(RecipientNotKnownYet, match="r1"):
        await record(svc, early)
    assert store.writes == 0
    with pytest.raises(RetryLater, match="not known yet"):  # the consumer requeues it with a delay
        await NotifyHandler(svc)(early, early.payload())
    await record(svc, submitted("r1", "HY0000000001"))
    assert (await record(svc, early)).inbox  # once the resident is known, the retry is told


async def test_the_team_follows_the_newest_task_event() -> None:
    store = MemoryNotifyStore()
    svc = service(store, FakeClock(T0))
    await record(svc, submitted("r1", "HY0000000001"))
    await record(svc, dispatched("r1", "HY0000000001", seq=3, team=OTHER_TEAM))
    await record(svc, dispatched("r1", "HY0000000001", seq=2))  # older: arrived late
    assert store.recipients["r1"]["team_id"] == "mediation"


async def test_staff_events_reach_the_addressed_staff_without_a_resident() -> None:
    store, wakes = MemoryNotifyStore(), Wakes()
    svc = service(store, FakeClock(NIGHT), wakes)
    escalated = task_event(
        "task.escalated",
        "r1",
        "HY0000000001",
        seq=9,
        level="lead",
        clock="handle",
        overdue_since=T0,
        recipients=[{"username": "lead", "role": "lead", "email": "lead@example.com", "phone": "13900000000"}],
    )
    recorded = await record(svc, escalated)
    assert recorded == Recorded(inbox=False, deliveries=2, pending=2) and not store.inbox
    got = channels(store, escalated)
    assert {d["recipient"] for d in got.values()} == {"staff:lead"}
    assert got["sms"]["next_attempt_at"] == NIGHT  # escalations are urgent: no quiet hours
    assert wakes.count == 1


async def test_quiet_hours_hold_non_urgent_sms_until_the_morning_and_urgent_goes_now() -> None:
    store = MemoryNotifyStore()
    svc = service(store, FakeClock(NIGHT))
    await record(svc, submitted("r1", "HY0000000001", preferred="sms", at=NIGHT))
    normal = dispatched("r1", "HY0000000001", seq=1)
    urgent = dispatched("r1", "HY0000000001", seq=2, priority="urgent")
    await record(svc, normal)
    await record(svc, urgent)
    held, now = channels(store, normal)["sms"], channels(store, urgent)["sms"]
    assert held["status"] == "pending" and held["next_attempt_at"] == MORNING == held["deferred_until"]
    assert now["next_attempt_at"] == NIGHT and now["deferred_until"] is None and now["urgent"]


async def test_a_template_that_fails_when_rendered_parks_the_event() -> None:
    broken = Templates({"request.submitted": {"zh-CN": {"subject": "{{ ''.__class__.__mro__ }}", "body": "b"}}})
    store = MemoryNotifyStore()
    svc = service(store, FakeClock(T0), templates=broken)
    receipt = submitted("r1", "HY0000000001")
    with pytest.raises(TemplateFailed, match=r"request\.submitted"):
        await record(svc, receipt)
    with pytest.raises(Poison, match="SecurityError"):  # to the DLQ; `huiying dlq` replays it once fixed
        await NotifyHandler(svc)(receipt, receipt.payload())
    assert not store.inbox and not store.deliveries


async def test_a_missing_translation_is_told_in_zh_cn_and_counted() -> None:
    only_zh = Templates({"request.submitted": {"zh-CN": {"subject": "已受理 {{ tracking_code }}", "body": "正文"}}})
    store = MemoryNotifyStore()
    svc = service(store, FakeClock(T0), templates=only_zh)
    counter = MISSING_TRANSLATIONS.labels(event_type="request.submitted", language="en")
    before = counter._value.get()
    await record(svc, submitted("r1", "HY0000000001", language="en"))
    (message,) = store.inbox.values()
    assert message["language"] == "zh-CN" and message["subject"] == "已受理 HY0000000001"
    assert counter._value.get() == before + 1


# --- the reads -----------------------------------------------------------------------------------------


async def test_the_inbox_answers_by_tracking_code_in_the_order_told() -> None:
    store = MemoryNotifyStore()
    svc = service(store, FakeClock(T0))
    await record(svc, submitted("r1", "HY0000000001"))
    await record(svc, dispatched("r1", "HY0000000001", seq=1))
    inbox = await svc.inbox("hy-0000000001")  # typed the way people type it
    assert inbox.tracking_code == "HY0000000001"
    assert [m["event_type"] for m in inbox.messages] == ["request.submitted", "task.dispatched"]
    with pytest.raises(NotFound, match="check the code on your receipt"):
        await svc.inbox("HY0000000002")
    assert (await svc.inbox("HY0000000002", allow_empty=True)).messages == []
    with pytest.raises(NotFound):  # not a tracking code at all: not even an empty inbox
        await svc.inbox("nonsense", allow_empty=True)


async def test_the_delivery_log_is_for_the_requests_team_and_supervisors() -> None:
    store = MemoryNotifyStore()
    svc = service(store, FakeClock(T0))
    await record(svc, submitted("r1", "HY0000000001", email="li@example.com"))
    await record(svc, dispatched("r1", "HY0000000001", seq=1))
    log = await svc.delivery_log("r1", Viewer(team="legal_aid"))
    assert log.team_id == "legal_aid" and log.tracking_code == "HY0000000001"
    assert sorted((d["event_type"], d["channel"]) for d in log.deliveries) == [
        ("request.submitted", "email"),
        ("request.submitted", "inbox"),
        ("task.dispatched", "email"),
        ("task.dispatched", "inbox"),
    ]
    assert (await svc.delivery_log("r1", Viewer(team=None, sees_everything=True))).deliveries == log.deliveries
    for outsider in (Viewer(team="mediation"), Viewer(team=None)):
        with pytest.raises(NotFound, match="among your team's requests"):
            await svc.delivery_log("r1", outsider)
    with pytest.raises(NotFound):
        await svc.delivery_log("r404", Viewer(team=None, sees_everything=True))
