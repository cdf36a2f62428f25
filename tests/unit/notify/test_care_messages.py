"""Staff hear of care visits (routing's care register): a visit due and a missed one, in their language, with
no resident's name or contact (the events carry none)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.notify.domain.access import Viewer
from services.notify.domain.planning import plan_for_staff
from services.notify.service import NotFound
from shared.events import TeamRef, new_event
from shared.events.care import CareVisitDue, CareVisitEscalated, care_aggregate_id
from shared.events.tasks import StaffRecipient
from tests.unit.fakes import FakeClock
from tests.unit.notify.fakes import MemoryNotifyStore
from tests.unit.notify.test_domain import NIGHT, TEMPLATES, policy
from tests.unit.notify.test_service import service

DUE = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
TEAM = TeamRef(id="community_work_group", name={"zh-CN": "社区工作组", "en": "Community work group"})
WORKER = StaffRecipient(username="grid.worker", role="member", phone="13900000000", language="zh-CN")
SUP = StaffRecipient(username="supervisor", role="supervisor", email="sup@example.com", language="en")


def test_a_visit_due_reaches_the_grid_worker_with_the_building_and_the_due_time() -> None:
    data = CareVisitDue(request_id=care_aggregate_id("hh-1"), household_id="hh-1", team=TEAM, building="5",
                        grid="grid-1", due_at=DUE, recipients=[WORKER])  # fmt: skip
    e = new_event(data, producer="routing", seq=1)
    (sms,) = plan_for_staff(e, e.payload(), None, TEMPLATES, policy(), NIGHT).deliveries
    assert sms["recipient"] == "staff:grid.worker" and sms["channel"] == "sms"
    text = sms["message"]["text"]
    assert "5栋" in text and "2026年03月03日 09:00" in text
    assert sms["next_attempt_at"] > NIGHT  # not urgent: after the quiet hours


def test_a_missed_visit_is_escalated_to_the_supervisors_at_once() -> None:
    data = CareVisitEscalated(request_id=care_aggregate_id("hh-1"), household_id="hh-1", team=TEAM, building="5",
                              due_at=DUE, level="supervisor", overdue_since=DUE, recipients=[SUP])  # fmt: skip
    e = new_event(data, producer="routing", seq=3)
    (email,) = plan_for_staff(e, e.payload(), None, TEMPLATES, policy(), NIGHT).deliveries
    assert email["message"]["subject"] == "[Escalation to supervisor] A visit was missed"
    assert "building 5" in email["message"]["text"] and "/console/care/hh-1" in email["message"]["text"]
    assert email["next_attempt_at"] == NIGHT  # escalations go at once


async def test_a_care_household_has_a_delivery_log_for_supervisors_only() -> None:
    store = MemoryNotifyStore()
    svc = service(store, FakeClock(NIGHT))
    data = CareVisitDue(request_id=care_aggregate_id("hh-1"), household_id="hh-1", team=TEAM, building="5",
                        due_at=DUE, recipients=[WORKER, SUP])  # fmt: skip
    envelope = new_event(data, producer="routing", seq=1)
    await svc.record_event(envelope, envelope.payload())
    await svc.record_event(envelope, envelope.payload())  # a redelivery changes nothing
    log = await svc.delivery_log("care:hh-1", Viewer(team=None, sees_everything=True))
    assert sorted((d["recipient"], d["channel"]) for d in log.deliveries) == [
        ("staff:grid.worker", "sms"),
        ("staff:supervisor", "email"),
    ]
    with pytest.raises(NotFound):  # no team on a household's log: team staff read the household in routing
        await svc.delivery_log("care:hh-1", Viewer(team="community_work_group"))
