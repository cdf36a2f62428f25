"""notify and service-day sign-ups: `signup.made` introduces the resident like a request; the reminder and
the cancellation are told in the resident's language with the day's words; the sign-up code reads the
inbox; a redelivered reminder is told once."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.notify.domain.servicedays import day_words
from shared.events import Envelope, Resident, new_event
from shared.events.servicedays import DayProgramme, OfferedService, SignupCancelled, SignupMade, SignupReminder
from tests.unit.fakes import FakeClock
from tests.unit.notify.fakes import MemoryNotifyStore
from tests.unit.notify.test_service import channels, record, service

T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, the day before
CODE = "HY7K3M9QX2RT"
DAY = DayProgramme(
    day_id="SD1",
    title={"zh-CN": "二·八便民服务日", "en": "Service day"},
    date=date(2026, 12, 8),
    starts="08:30",
    ends="11:30",
    place={"zh-CN": "社区广场", "en": "the community square"},
    services=[OfferedService(code="haircut", name={"zh-CN": "理发", "en": "Haircut"}, places=5)],
)
COMMON = {"request_id": f"signup:{CODE}", "tracking_code": CODE, "signup_id": "s1", "day": DAY, "services": ["haircut"]}


def made(language: str = "zh-CN", channel: str = "inbox") -> Envelope:
    resident = Resident(name="王秀兰", phone="+8613800138000", language=language, preferred_channel=channel)  # type: ignore[arg-type]
    data = SignupMade(**COMMON, resident=resident, phone_masked="138****8000", channel="portal", made_at=T0)
    return new_event(data, producer="intake", seq=1, occurred_at=T0)


def reminder() -> Envelope:
    return new_event(SignupReminder(**COMMON, reminded_at=T0), producer="intake", seq=2, occurred_at=T0)


async def test_a_sign_up_is_confirmed_and_reminded_once_in_the_residents_language() -> None:
    store = MemoryNotifyStore()
    svc = service(store, FakeClock(T0))
    await record(svc, made("en", "sms"))
    event = reminder()
    await record(svc, event)
    await record(svc, event)  # redelivered: nothing twice
    inbox = await svc.inbox(CODE)
    assert [m["event_type"] for m in inbox.messages] == ["signup.made", "signup.reminder"]
    body = inbox.messages[1]["body"]
    assert "tomorrow" in body and "Tue 8 Dec" in body and "08:30–11:30" in body and "Haircut" in body
    assert f"https://portal.example/servicedays/signup/{CODE}" in body
    sms = channels(store, event)["sms"]
    assert sms["address"] == "+8613800138000" and CODE in sms["message"]["text"]


async def test_a_called_off_day_is_told_in_plain_chinese() -> None:
    store = MemoryNotifyStore()
    svc = service(store, FakeClock(T0))
    await record(svc, made())
    data = SignupCancelled(**COMMON, reason="day_cancelled", cancelled_at=T0)
    await record(svc, new_event(data, producer="intake", seq=2, occurred_at=T0))
    message = (await svc.inbox(CODE)).messages[1]
    assert message["subject"].startswith("活动取消了") and "12月8日（周二）" in message["body"]


def test_day_words() -> None:
    assert day_words(date(2026, 12, 8), "zh-CN") == "12月8日（周二）"
    assert day_words(date(2026, 12, 8), "en") == "Tue 8 Dec"
