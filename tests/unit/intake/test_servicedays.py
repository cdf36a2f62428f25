"""intake's service-day rules (services/intake/domain/servicedays.py): capacity, when sign-ups close, the
day-before reminder's timing and once-only guard, the programme read model."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.intake.domain import servicedays as rules
from shared.events.servicedays import DayProgramme, OfferedService, ServiceDayChanged

SH = ZoneInfo("Asia/Shanghai")
Document = dict[str, Any]


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=SH).astimezone(UTC)


def changed(status: str = "scheduled", places: int = 2, services: tuple[str, ...] = ("haircut",)) -> ServiceDayChanged:
    day = DayProgramme(
        day_id="SD1",
        title={"zh-CN": "二·八便民服务日"},
        date=date(2026, 12, 8),
        starts="08:30",
        ends="11:30",
        place={"zh-CN": "社区广场"},
        services=[OfferedService(code=c, name={"zh-CN": c}, places=places) for c in services],
    )
    change = "cancelled" if status == "cancelled" else "created"
    return ServiceDayChanged(request_id="serviceday:SD1", day=day, status=status, change=change, changed_at=at(1, 9))  # type: ignore[arg-type]


def apply(doc: Document, update: Document) -> Document:
    """A MongoDB update on a copy, for the paths these rules write (`a.b`, `signups.3.x`)."""
    doc = copy.deepcopy(doc)

    def parent(path: str) -> tuple[Any, str]:
        *head, last = path.split(".")
        node: Any = doc
        for part in head:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        return node, last

    for op, fields in update.items():
        for path, value in fields.items():
            node, key = parent(path)
            if isinstance(node, list):
                node, key = node, int(key)  # type: ignore[assignment]
            if op == "$set":
                node[key] = value
            elif op == "$inc":
                node[key] = node.get(key, 0) + value
            elif op == "$push":
                node.setdefault(key, []).append(value)
            elif op == "$pull":
                node[key] = [v for v in node.get(key, []) if v != value]
    return doc


def new_day(**kw: Any) -> Document:
    write = rules.apply_programme(None, 1, changed(**kw), at(1, 9))
    assert write is not None and write.document is not None
    return write.document


def draft(phone: str = "+8613800138000", services: tuple[str, ...] = ("haircut",)) -> rules.SignupDraft:
    return rules.SignupDraft(name="王秀兰", phone=phone, services=services)


def signed(doc: Document, phone: str, code: str, now: datetime | None = None) -> Document:
    write = rules.sign_up(doc, draft(phone), code, f"id-{code}", now or at(7, 9), SH)
    assert write.update is not None
    return apply(doc, write.update)


def test_a_sign_up_is_guarded_by_the_places_left_and_the_phone() -> None:
    doc = new_day(places=2)
    write = rules.sign_up(doc, draft(), "HY0000000001", "id1", at(7, 9), SH)
    assert write.guard is not None and write.update is not None
    assert write.guard["taken.haircut"] == {"$lt": 2}  # the capacity guard the database checks
    assert write.guard["active_phones"] == {"$ne": "+8613800138000"}
    assert write.guard["seq"] == 1 and write.guard["status"] == "scheduled"
    assert [e.type for e in write.events] == ["signup.made"]
    assert write.events[0].data["phone_masked"] == "138****8000"


def test_a_full_service_is_refused_by_name_and_another_still_taken() -> None:
    doc = new_day(places=2, services=("haircut", "blood_pressure"))
    doc = signed(doc, "+8613800000001", "HY0000000001")
    doc = signed(doc, "+8613800000002", "HY0000000002")
    assert rules.places_left(doc) == {"haircut": 0, "blood_pressure": 2}
    with pytest.raises(rules.SignupRefused) as refused:
        rules.sign_up(doc, draft("+8613800000003"), "HY0000000003", "id3", at(7, 9), SH)
    assert refused.value.reason == "full" and "haircut" in refused.value.message
    ok = rules.sign_up(doc, draft("+8613800000003", ("blood_pressure",)), "HY0000000003", "id3", at(7, 9), SH)
    assert ok.events


def test_the_same_phone_twice_and_unknown_services_are_refused() -> None:
    doc = signed(new_day(), "+8613800000001", "HY0000000001")
    with pytest.raises(rules.SignupRefused) as again:
        rules.sign_up(doc, draft("+8613800000001"), "HY0000000002", "id2", at(7, 9), SH)
    assert again.value.reason == "already" and again.value.field == "phone"
    with pytest.raises(rules.SignupRefused) as unknown:
        rules.sign_up(doc, draft("+8613800000002", ("massage",)), "HY0000000002", "id2", at(7, 9), SH)
    assert unknown.value.reason == "unknown_service" and "massage" in unknown.value.message


def test_sign_ups_close_when_the_day_starts_and_when_it_is_cancelled() -> None:
    doc = new_day()
    assert rules.is_open(doc, at(8, 8, 29), SH)
    assert not rules.is_open(doc, at(8, 8, 30), SH)
    with pytest.raises(rules.SignupRefused) as closed:
        rules.sign_up(doc, draft(), "HY0000000001", "id1", at(8, 9), SH)
    assert closed.value.reason == "closed"


def test_cancelling_frees_the_place_and_is_idempotent() -> None:
    doc = signed(new_day(places=1), "+8613800000001", "HY0000000001")
    write = rules.cancel(doc, "HY0000000001", at(7, 12), SH)
    assert write is not None and write.update is not None
    doc = apply(doc, write.update)
    assert rules.places_left(doc) == {"haircut": 1} and doc["active_phones"] == []
    assert [e.type for e in write.events] == ["signup.cancelled"] and write.events[0].seq == 2
    assert rules.cancel(doc, "HY0000000001", at(7, 13), SH) is None
    with pytest.raises(rules.SignupRefused):
        rules.cancel(doc, "HY9999999999", at(7, 13), SH)


@pytest.mark.parametrize(
    ("now", "due"),
    [
        (at(7, 9, 59), False),  # the day before, before the reminder hour
        (at(7, 10, 0), True),  # the day before at 10:00
        (at(7, 23, 0), True),
        (at(8, 8, 29), True),  # a sign-up made late is still reminded before the start
        (at(8, 8, 30), False),  # the day has started
        (at(6, 12, 0), False),  # two days before
    ],
)
def test_the_reminder_is_due_from_the_hour_the_day_before_until_the_start(now: datetime, due: bool) -> None:
    doc = signed(new_day(), "+8613800000001", "HY0000000001")
    write = rules.due_reminders(doc, now, SH, 10)
    assert (write is not None) is due


def test_the_reminder_is_written_once_with_its_guard() -> None:
    doc = signed(new_day(places=5), "+8613800000001", "HY0000000001")
    doc = signed(doc, "+8613800000002", "HY0000000002")
    doc = apply(doc, rules.cancel(doc, "HY0000000002", at(7, 9), SH).update)  # type: ignore[union-attr, arg-type]
    write = rules.due_reminders(doc, at(7, 10), SH, 10)
    assert write is not None and write.guard is not None
    assert [e.type for e in write.events] == ["signup.reminder"]  # not the cancelled one
    assert write.guard["signups.0.reminded_at"] is None  # a replica that lost the race matches nothing
    assert write.events[0].data["tracking_code"] == "HY0000000001" and write.events[0].seq == 2
    assert write.update is not None
    assert rules.due_reminders(apply(doc, write.update), at(7, 11), SH, 10) is None


def test_the_programme_applies_only_when_newer_and_a_cancelled_day_cancels_its_sign_ups() -> None:
    doc = signed(new_day(), "+8613800000001", "HY0000000001")
    assert rules.apply_programme(doc, 1, changed(places=9), at(1, 10)) is None  # not newer
    write = rules.apply_programme(doc, 2, changed("cancelled"), at(2, 9))
    assert write is not None and write.guard == {"_id": "SD1", "seq": 1, "n_signups": 1}
    assert [(e.type, e.data["reason"]) for e in write.events] == [("signup.cancelled", "day_cancelled")]
    assert write.update is not None
    after = apply(doc, write.update)
    assert after["status"] == "cancelled" and after["signups"][0]["status"] == "cancelled"
    assert not rules.is_open(after, at(7, 9), SH)
