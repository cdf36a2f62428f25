"""The care register's schedule rules (services/routing/domain/care.py): when the next visit is due, when it
opens, when it is overdue, what a new frequency does, and the sweeper's steps (open, remind, 催办, 督办)."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.routing.domain import care
from services.routing.domain.care import Consent, Household, RecordVisit
from services.routing.domain.model import Actor
from tests.unit.routing.factories import SUPERVISOR, context, lead, local, member

TEAM = "community_work_group"
LEAD = lead(TEAM)
START = local(2026, 11, 24, 9)  # a Tuesday 09:00


def household(frequency: int = 7, assignee: str | None = None, now: datetime = START) -> Household:
    draft = Household(
        _id="hh-1",
        name="王秀英",
        phone="+8613800138000",
        address="幸福路8号3号楼2单元501",
        building="3",
        grid="grid-1",
        kinds=["elderly_alone"],
        consent=Consent(given_by="王秀英", given_at=now, how="signed", recorded_by=LEAD.username),
        team_id=TEAM,
        assignee=assignee,
        frequency_days=frequency,
        registered_at=now,
        registered_by="x",
        next_due_at=now,
    )
    return care.register(draft, context(), LEAD, now).household


def types(outcome: care.CareOutcome | None) -> list[str]:
    return [f"{e.type}:{e.data.get('level', '-')}" for e in outcome.events] if outcome else []


def test_the_next_visit_is_due_one_period_after_the_last_or_the_registration() -> None:
    h = household(14)
    assert h.next_due_at == START + timedelta(days=14)
    assert care.next_due(START + timedelta(days=3), START, 30) == START + timedelta(days=33)
    assert h.audit[0].by == LEAD.username and h.audit[0].action == "register" and h.rev == 1


def test_a_visit_opens_two_days_ahead_or_half_the_period_for_short_ones() -> None:
    assert care.notice(7) == timedelta(days=2) and care.notice(30) == timedelta(days=2)
    assert care.notice(1) == timedelta(hours=12) and care.notice(3) == timedelta(days=1.5)
    h = household(7)
    assert care.opens_at(h) == START + timedelta(days=5)
    assert h.next_check_at == care.opens_at(h)


def test_overdue_is_past_the_due_time_without_a_visit() -> None:
    h = household(7)
    due = h.next_due_at
    assert not care.is_overdue(h, due - timedelta(seconds=1))
    assert care.is_overdue(h, due) and care.days_overdue(h, due + timedelta(days=3, hours=1)) == 3
    ended = care.end(h, "moved away", context(), LEAD, START).household
    assert not care.is_overdue(ended, due + timedelta(days=9)) and ended.next_check_at is None


def test_the_sweeper_opens_once_then_reminds_and_escalates_once_each() -> None:
    ctx = context()
    h = household(7, assignee=f"{TEAM}.member")
    assert care.sweep_step(h, ctx, care.opens_at(h) - timedelta(minutes=1)) is None
    opened = care.sweep_step(h, ctx, care.opens_at(h))
    assert types(opened) == ["care.visit_due:-"]
    assert opened is not None
    assert [r["username"] for r in opened.events[0].data["recipients"]] == [f"{TEAM}.member"]
    h = opened.household
    assert care.sweep_step(h, ctx, care.opens_at(h) + timedelta(hours=1)) is None  # nothing twice
    # The handling clock's schedule (deploy/routing/sla.yaml): a reminder 4 working hours before the due time
    # (Tuesday 09:00 -> Monday 14:00), 催办 at it, 督办 one working day later.
    reminded = care.sweep_step(h, ctx, local(2026, 11, 30, 14))
    assert types(reminded) == ["care.visit_reminder:-"]
    assert reminded is not None
    h = reminded.household
    late = care.sweep_step(h, ctx, h.next_due_at)
    assert types(late) == ["care.visit_escalated:lead"]
    assert late is not None
    h = late.household
    assert care.sweep_step(h, ctx, h.next_due_at + timedelta(hours=2)) is None
    sup = care.sweep_step(h, ctx, local(2026, 12, 2, 9))
    assert types(sup) == ["care.visit_escalated:supervisor"]
    assert sup is not None
    assert "supervisor" in {r["username"] for r in sup.events[0].data["recipients"]}
    assert sup.household.next_check_at is None and [e.seq for e in sup.events] == [4]


def test_after_downtime_a_late_visit_opens_and_escalates_in_one_write() -> None:
    h = household(7)
    outcome = care.sweep_step(h, context(), local(2026, 12, 3, 9))
    assert types(outcome) == ["care.visit_due:-", "care.visit_escalated:lead", "care.visit_escalated:supervisor"]
    # Nobody named: the whole team hears that the visit is due.
    assert outcome is not None
    assert {r["username"] for r in outcome.events[0].data["recipients"]} == {
        f"{TEAM}.member",
        f"{TEAM}.member2",
        f"{TEAM}.lead",
    }


def test_recording_a_visit_closes_it_and_schedules_the_next() -> None:
    ctx = context()
    h = care.sweep_step(household(7), ctx, local(2026, 12, 2, 9))
    assert h is not None
    visited = local(2026, 12, 2, 10)
    cmd = RecordVisit(visited_at=visited, visited_by="张网格员", found="身体还好", needs="水龙头漏水",
                      file_service="property_repair", file_description="卫生间水龙头漏水")  # fmt: skip
    out = care.record_visit(h.household, cmd, "v-1", ctx, member(TEAM), visited)
    after = out.household
    assert after.visit is None and after.last_visit_at == visited
    assert after.next_due_at == visited + timedelta(days=7) and after.next_check_at == care.opens_at(after)
    assert after.visits[-1].late is True and after.visits[-1].filing_id == "v-1" and after.visit_count == 1
    (event,) = out.events
    assert event.type == "care.visit_recorded" and event.data["needs_found"] is True
    filing = event.data["filing"]
    assert filing["filing_id"] == "v-1" and filing["filed_by"] == f"{TEAM}.member"
    assert filing["resident"]["vulnerability"] == ["elderly_alone"] and filing["resident"]["name"] == "王秀英"
    # An earlier visit recorded late does not pull the schedule back.
    older = RecordVisit(visited_at=visited - timedelta(days=1), visited_by="x", found="补记")
    again = care.record_visit(after, older, "v-2", ctx, member(TEAM), visited).household
    assert again.last_visit_at == visited and again.next_due_at == visited + timedelta(days=7)
    assert again.visits[-1].late is False and again.visits[-1].was_due_at is None


def test_a_new_frequency_counts_from_the_last_visit_and_moves_an_open_visit() -> None:
    ctx = context()
    h = household(30)
    longer = care.update(h, {"frequency_days": 60}, ctx, LEAD, START + timedelta(days=1)).household
    assert longer.next_due_at == START + timedelta(days=60)
    assert longer.audit[-1].fields == ["frequency_days"] and longer.audit[-1].by == LEAD.username
    opened = care.sweep_step(h, ctx, h.next_due_at - timedelta(days=1))
    assert opened is not None and opened.household.visit is not None
    # Shorter: the open visit takes the new (earlier) due time; its reminder and escalation start again.
    now = h.next_due_at - timedelta(days=1)
    shorter = care.update(opened.household, {"frequency_days": 7}, ctx, LEAD, now).household
    assert shorter.next_due_at == START + timedelta(days=7)
    assert shorter.visit is not None and shorter.visit.due_at == shorter.next_due_at
    assert care.is_overdue(shorter, now)
    # Longer again: the visit is further off than its notice, so it closes until it opens again.
    relaxed = care.update(shorter, {"frequency_days": 90}, ctx, LEAD, now).household
    assert relaxed.visit is None and relaxed.next_check_at == care.opens_at(relaxed)


def test_who_may_see_and_change_a_household() -> None:
    h = household()
    assert care.can_see(h, member(TEAM)) and care.can_see(h, SUPERVISOR)
    assert not care.can_see(h, member("property_maintenance")) and not care.can_see(None, SUPERVISOR)
    assert not care.can_see(h, Actor("someone", "member", None))
    assert care.can_edit(TEAM, LEAD) and care.can_edit(TEAM, SUPERVISOR)
    assert not care.can_edit(TEAM, member(TEAM)) and not care.can_edit(TEAM, lead("property_maintenance"))


def test_a_visit_before_registration_counts_and_may_make_the_first_visit_due_at_once() -> None:
    h = household(7)
    before = h.model_copy(update={"last_visit_at": START - timedelta(days=10)})
    registered = care.register(before, context(), LEAD, START).household
    assert registered.next_due_at == START - timedelta(days=3) and care.is_overdue(registered, START)
    assert registered.next_check_at is not None and registered.next_check_at <= START  # the next sweep opens it
