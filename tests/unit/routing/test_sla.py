"""SLA limits, reminders, 催办 (lead) and 督办 (supervisor) escalation, and auto-close: each once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from services.routing.domain import lifecycle as lc
from services.routing.domain.lifecycle import commands as cmd
from services.routing.domain.model import Feedback, Task
from services.routing.domain.sla import ClockState, Duration, SlaPolicy, due_steps, next_check
from tests.unit.routing.factories import CALENDAR, POLICY, context, lead, local, member, new_task, submitted

T0 = local(2026, 11, 24, 9)  # Tuesday
CTX = context()
TEAM = "property_maintenance"


def limits(category: str, priority: str = "normal", text: str = "", **attrs: object) -> tuple[str, str, str]:
    applied = POLICY.limits_for(category, priority, text, attrs)
    return applied.rule, applied.claim.describe(), applied.handle.describe()


def test_limits_per_category_and_priority() -> None:
    assert limits("property_repair", "urgent") == ("urgent", "30 working minutes", "same working day")
    assert limits("enquiry_complaint", text="请问社保卡在哪里办") == ("enquiry", "4 working hours", "3 working days")
    assert limits("enquiry_complaint", text="我要投诉物业")[2] == "13 working days"
    assert limits("enquiry_complaint", kind="complaint")[2] == "13 working days"
    assert limits("property_repair") == ("default", "4 working hours", "5 working days")


def test_durations_refuse_nonsense() -> None:
    with pytest.raises(ValidationError):
        Duration()
    with pytest.raises(ValidationError):
        Duration.model_validate({"same_day": True, "working_days": 1})
    with pytest.raises(ValidationError):
        Duration.model_validate({"working_weeks": 1})
    with pytest.raises(ValidationError, match="clocks"):
        SlaPolicy.model_validate({**POLICY.model_dump(), "clocks": {"claim": POLICY.clocks["claim"].model_dump()}})


def test_the_schedule_of_a_clock() -> None:
    clock = ClockState("handle", T0, local(2026, 11, 27, 10))
    # 4 working hours before Friday 10:00: 1.5 h on Friday morning, 2.5 h on Thursday afternoon.
    assert next_check(clock, POLICY, CALENDAR) == local(2026, 11, 26, 15)
    assert due_steps(clock, POLICY, CALENDAR, local(2026, 11, 26, 14, 59)) == []
    assert due_steps(clock, POLICY, CALENDAR, local(2026, 11, 26, 15)) == ["remind"]
    assert due_steps(clock, POLICY, CALENDAR, local(2026, 11, 27, 5)) == ["remind"]
    assert due_steps(clock, POLICY, CALENDAR, local(2026, 11, 27, 10)) == ["lead"]
    # 督办 one working day after the due time
    assert due_steps(clock, POLICY, CALENDAR, local(2026, 11, 30, 9, 59)) == ["lead"]
    assert due_steps(clock, POLICY, CALENDAR, local(2026, 11, 30, 10)) == ["lead", "supervisor"]
    done = ClockState("handle", T0, clock.due_at, reminded=True, lead=True, supervisor=True)
    assert (
        due_steps(done, POLICY, CALENDAR, local(2026, 12, 30, 10)) == [] and next_check(done, POLICY, CALENDAR) is None
    )


def sweep(task: Task, at: datetime) -> tuple[Task, list[str]]:
    outcome = lc.sla_step(task, CTX, at)
    if outcome is None:
        return task, []
    kinds = [f"{e.type}:{e.data.get('level') or e.data.get('clock') or e.data.get('reason')}" for e in outcome.events]
    return outcome.task, kinds


def test_claim_clock_reminds_then_escalates_to_the_lead_then_the_supervisors_each_once() -> None:
    task = new_task(submitted(at=T0))  # claim due 13:00 (team hours 08:00-12:00, 13:00-18:00)
    assert task.claim_due_at == local(2026, 11, 24, 14)
    task, kinds = sweep(task, local(2026, 11, 24, 13, 0))
    assert kinds == []
    task, kinds = sweep(task, local(2026, 11, 24, 13, 30))
    assert kinds == ["task.reminder:claim"]
    reminder = task.history[-1]
    assert reminder.action == "remind" and reminder.details["to"] == [f"{TEAM}.member"]
    assert sweep(task, local(2026, 11, 24, 13, 45))[1] == []  # not twice
    task, kinds = sweep(task, local(2026, 11, 24, 14))
    assert kinds == ["task.escalated:lead"]
    assert sweep(task, local(2026, 11, 24, 15))[1] == []
    task, kinds = sweep(task, local(2026, 11, 24, 16))  # 2 working hours late
    assert kinds == ["task.escalated:supervisor"]
    assert sweep(task, local(2026, 11, 30, 9))[1] == [] and task.next_check_at is None
    assert task.counts.reminders == 1 and task.counts.escalations == 2


def test_escalation_events_are_addressed_to_the_right_staff() -> None:
    task = new_task(submitted(at=T0))
    lead_step = lc.sla_step(task, CTX, local(2026, 11, 24, 14))
    assert lead_step is not None
    (event,) = lead_step.events
    assert event.type == "task.escalated" and event.data["level"] == "lead" and event.data["clock"] == "claim"
    assert {r["username"] for r in event.data["recipients"]} == {f"{TEAM}.lead", f"{TEAM}.member"}
    lead_rec = next(r for r in event.data["recipients"] if r["role"] == "lead")
    assert lead_rec["phone"] == "+8613800000000" and lead_rec["team_id"] == TEAM
    sup_step = lc.sla_step(lead_step.task, CTX, local(2026, 11, 24, 16))
    assert sup_step is not None
    assert {r["username"] for r in sup_step.events[0].data["recipients"]} == {"supervisor", f"{TEAM}.lead"}
    assert sup_step.events[0].data["overdue_since"].startswith("2026-11-24T06:00")


def test_a_reminder_for_an_unassigned_task_goes_to_the_whole_team() -> None:
    task = new_task(submitted("legal_aid", "合同", at=T0))
    assert task.assignee is None and task.claim_due_at is not None
    outcome = lc.sla_step(task, CTX, task.claim_due_at - timedelta(minutes=10))
    assert outcome is not None
    assert {r["username"] for r in outcome.events[0].data["recipients"]} == {
        "legal_aid.member",
        "legal_aid.member2",
        "legal_aid.lead",
    }


def test_after_downtime_a_late_reminder_is_skipped_and_both_escalations_happen_in_one_write() -> None:
    task = new_task(submitted(at=T0))
    task, kinds = sweep(task, local(2026, 11, 26, 9))
    assert kinds == ["task.escalated:lead", "task.escalated:supervisor"]


def test_the_handling_clock_starts_at_the_claim() -> None:
    task = lc.act(new_task(submitted(at=T0)), cmd.Claim(), member(TEAM), CTX, T0).task
    assert task.handle_due_at == local(2026, 12, 1, 9)
    assert sweep(task, local(2026, 11, 24, 14))[1] == []  # the claim clock no longer runs
    task, kinds = sweep(task, local(2026, 12, 1, 9))
    assert kinds == ["task.escalated:lead"]


def test_an_approved_extension_gives_a_new_reminder_and_escalation() -> None:
    task = lc.act(new_task(submitted(at=T0)), cmd.Claim(), member(TEAM), CTX, T0).task
    task, kinds = sweep(task, local(2026, 12, 1, 9))
    assert kinds == ["task.escalated:lead"]
    task = lc.act(task, cmd.Extend(reason="r", working_days=3), member(TEAM), CTX, local(2026, 12, 1, 10)).task
    task = lc.act(task, cmd.ApproveExtension(), lead(TEAM), CTX, local(2026, 12, 1, 10)).task
    assert task.handle_due_at == local(2026, 12, 4, 9)
    assert sweep(task, local(2026, 12, 2, 9))[1] == []
    assert sweep(task, local(2026, 12, 4, 9))[1] == ["task.escalated:lead"]


def test_no_clock_runs_on_hold_or_after_resolution_until_auto_close() -> None:
    claimed = lc.act(new_task(submitted(at=T0)), cmd.Claim(), member(TEAM), CTX, T0).task
    held = lc.act(claimed, cmd.Hold(reason="r"), member(TEAM), CTX, T0).task
    assert held.next_check_at is None and sweep(held, local(2026, 12, 20, 9))[1] == []
    resolved = lc.act(claimed, cmd.Resolve(reply="ok"), member(TEAM), CTX, T0).task
    # 回访 first: no rating in 3 days puts a call-back in the desk's queue (deploy/routing/followup.yaml)
    assert resolved.next_check_at == T0 + timedelta(days=3)
    assert sweep(resolved, T0 + timedelta(days=2, hours=23))[1] == []
    resolved, kinds = sweep(resolved, T0 + timedelta(days=3))
    assert kinds == ["task.followup_opened:no_rating"] and resolved.next_check_at == T0 + timedelta(days=7)
    assert sweep(resolved, T0 + timedelta(days=6, hours=23))[1] == []
    closed, kinds = sweep(resolved, T0 + timedelta(days=7))
    assert kinds == ["task.closed:no_feedback"] and closed.closed_reason == "no_feedback"
    assert sweep(closed, T0 + timedelta(days=30))[1] == []


def test_feedback_before_auto_close_wins() -> None:
    claimed = lc.act(new_task(submitted(at=T0)), cmd.Claim(), member(TEAM), CTX, T0).task
    resolved = lc.act(claimed, cmd.Resolve(reply="ok"), member(TEAM), CTX, T0).task
    closed = lc.feedback(resolved, Feedback(event_id="e", rating="satisfied", at=T0), CTX, T0, None).task
    assert closed.next_check_at is None and sweep(closed, T0 + timedelta(days=8))[1] == []
