"""routing's service-day rules (services/routing/domain/servicedays.py): the programme's checks, who may plan
and see, attendance and the ledger's figures."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.routing.domain import servicedays as rules
from services.routing.domain.errors import Conflict, Forbidden, Invalid, NotVisible
from services.routing.domain.model import Actor

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=SH).astimezone(UTC)
LEAD = Actor("cwg.lead", "lead", "community_work_group")
MEMBER = Actor("cwg.member", "member", "community_work_group")
OTHER_LEAD = Actor("legal.lead", "lead", "legal_aid")
SUPERVISOR = Actor("sup", "supervisor")


def draft(**kw: Any) -> rules.DayDraft:
    base: dict[str, Any] = {
        "title": {"zh-CN": "二·八便民服务日"},
        "date": date(2026, 12, 8),
        "starts": "08:30",
        "ends": "11:30",
        "place": {"zh-CN": "社区广场"},
        "services": (rules.ServiceDraft("haircut", 20), rules.ServiceDraft("blood_pressure", 50)),
    }
    return rules.DayDraft(**(base | kw))


def created(actor: Actor = LEAD) -> dict[str, Any]:
    write = rules.create("SD1", draft(), actor, NOW, SH)
    assert write.document is not None
    return write.document


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"date": date(2026, 11, 30)}, "date"),
        ({"starts": "8:30"}, "starts"),
        ({"ends": "08:00"}, "ends"),
        ({"title": {"en": "Service day"}}, "title"),
        ({"services": ()}, "services"),
        ({"services": (rules.ServiceDraft("haircut", 0),)}, "services[0].places"),
        ({"services": (rules.ServiceDraft("haircut", 5), rules.ServiceDraft("haircut", 5))}, "services[1].code"),
        ({"services": (rules.ServiceDraft("massage", 5),)}, "services[0].name"),
    ],
)
def test_a_wrong_programme_names_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(Invalid) as refused:
        rules.create("SD1", draft(**change), LEAD, NOW, SH)
    assert refused.value.field == field


def test_known_services_get_their_names_and_others_need_one() -> None:
    doc = created()
    assert doc["services"][0]["name"] == {"zh-CN": "理发", "en": "Haircut"}
    custom = draft(services=(rules.ServiceDraft("massage", 5, {"zh-CN": "推拿"}),))
    assert rules.create("SD2", custom, LEAD, NOW, SH).document["services"][0]["name"] == {"zh-CN": "推拿"}  # type: ignore[index]


def test_leads_plan_their_own_team_members_do_not() -> None:
    doc = created()
    assert doc["team"] == "community_work_group" and doc["version"] == 1
    with pytest.raises(Forbidden):
        rules.create("SD2", draft(), MEMBER, NOW, SH)
    with pytest.raises(Forbidden):
        rules.create("SD2", draft(team="community_work_group"), OTHER_LEAD, NOW, SH)
    with pytest.raises(NotVisible):
        rules.edit(doc, draft(), OTHER_LEAD, NOW, SH)
    write = rules.edit(doc, draft(place={"zh-CN": "活动室"}), SUPERVISOR, NOW, SH)
    assert write.guard == {"_id": "SD1", "version": 1} and write.events[0].seq == 2


def signed(doc: dict[str, Any], code: str, services: list[str]) -> dict[str, Any]:
    entry = {"code": code, "name": "王", "phone_masked": "138****0000", "services": services, "status": "active"}
    return {**doc, "signups": [*doc["signups"], entry]}


def test_places_cannot_drop_below_the_sign_ups() -> None:
    doc = signed(signed(created(), "A", ["haircut"]), "B", ["haircut"])
    with pytest.raises(Invalid) as refused:
        rules.edit(
            doc,
            draft(services=(rules.ServiceDraft("haircut", 1), rules.ServiceDraft("blood_pressure", 5))),
            LEAD,
            NOW,
            SH,
        )
    assert refused.value.field == "services[0].places" and "2" in refused.value.message
    with pytest.raises(Invalid):
        rules.edit(doc, draft(services=(rules.ServiceDraft("blood_pressure", 5),)), LEAD, NOW, SH)


def test_attendance_on_the_day_and_the_figures() -> None:
    doc = signed(signed(signed(created(), "A", ["haircut"]), "B", ["haircut", "blood_pressure"]), "C", ["haircut"])
    doc["signups"][2]["status"] = "cancelled"
    write = rules.attendance(doc, "B", True, MEMBER, NOW)
    assert write is not None and write.update is not None
    assert write.update["$set"]["signups.1.attended"] is True and write.guard == {"_id": "SD1", "signups.1.code": "B"}
    doc["signups"][1]["attended"] = True
    assert rules.attendance(doc, "B", True, MEMBER, NOW) is None  # nothing changes twice
    with pytest.raises(Conflict):
        rules.attendance(doc, "C", True, MEMBER, NOW)
    with pytest.raises(NotVisible):
        rules.attendance(doc, "A", True, OTHER_LEAD, NOW)
    figures = rules.figures(doc)
    assert (figures["signups"], figures["cancelled"], figures["attended"]) == (2, 1, 1)
    assert figures["by_service"]["haircut"] == {"places": 20, "signups": 2, "attended": 1}
    ledger = rules.ledger([doc])
    assert ledger["totals"] == {"days": 1, "signups": 2, "attended": 1, "cancelled": 1}
    assert ledger["by_service"]["blood_pressure"]["attended"] == 1


def test_a_cancelled_or_finished_day_cannot_change() -> None:
    doc = created()
    after = {**doc, "status": "cancelled"}
    with pytest.raises(Conflict):
        rules.edit(after, draft(), LEAD, NOW, SH)
    later = datetime(2026, 12, 8, 12, 0, tzinfo=SH).astimezone(UTC)
    with pytest.raises(Conflict):
        rules.cancel(doc, LEAD, later, SH)
    write = rules.cancel(doc, LEAD, NOW, SH)
    assert write.events[0].data["status"] == "cancelled" and write.events[0].type == "serviceday.changed"
