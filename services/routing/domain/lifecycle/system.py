"""What the system does to tasks, not staff: a new request becomes a task, the front door's 不受理 becomes a
record, the resident's cancellation and rating change it, and the SLA sweeper's steps (reminders, 催办, 督办,
auto-close) land on it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from services.routing.domain.errors import IllegalTransition
from services.routing.domain.lifecycle.assignment import choose_assignee
from services.routing.domain.lifecycle.callbacks import no_rating_step, on_rating
from services.routing.domain.lifecycle.change import Change, Outcome
from services.routing.domain.lifecycle.clocks import running_clock, start_claim_clock
from services.routing.domain.lifecycle.permissions import SYSTEM_ACTIONS
from services.routing.domain.model import SYSTEM, Context, Decision, Feedback, HistoryEntry, StaffInfo, Task
from services.routing.domain.rules import RoutingDecision
from services.routing.domain.sla import due_steps
from shared.events import RequestNotAccepted, RequestSubmitted
from shared.events.tasks import (
    StaffRecipient,
    TaskCancelled,
    TaskClosed,
    TaskDispatched,
    TaskEscalated,
    TaskReminder,
    TaskReopened,
)


def open_task(
    submitted: RequestSubmitted,
    decision: RoutingDecision,
    grid: str | None,
    building: str | None,
    ctx: Context,
    now: datetime,
    causation_id: str | None,
) -> Outcome:
    """`request.submitted` becomes a task dispatched to the team the rules chose."""
    assignee, assignee_rule = choose_assignee(decision.team_id, ctx)
    task = Task(
        id=submitted.request_id,
        tracking_code=submitted.tracking_code,
        service_code=submitted.service_code,
        service_name=submitted.service_name,
        description=submitted.description,
        address=submitted.location.address,
        building=building,
        unit=submitted.location.unit,
        grid=grid,
        channel=submitted.channel,
        channel_kind=submitted.channel_kind,
        on_behalf=submitted.on_behalf,
        filed_by=submitted.filed_by,
        vulnerability=list(submitted.resident.vulnerability),
        attributes=dict(submitted.attributes),
        answer_labels={code: label.model_dump() for code, label in submitted.answer_labels.items()},
        language=submitted.resident.language,
        resident=submitted.resident.model_dump(include={"name", "phone", "email", "language", "preferred_channel"}),
        status="dispatched",
        team_id=decision.team_id,
        assignee=assignee,
        priority=decision.priority,
        decision=Decision(
            team_rule=decision.team_rule,
            priority_rules=list(decision.priority_rules),
            assignee_rule=assignee_rule,
            version=decision.version,
        ),
        submitted_at=submitted.submitted_at,
        photos=[p.model_dump() for p in submitted.photos],
    )
    change = Change(task, ctx, SYSTEM, now, causation_id)
    start_claim_clock(change.task, ctx, now)
    change.event(TaskDispatched, rule=decision.team_rule, priority_rules=list(decision.priority_rules))
    change.record(
        "dispatch",
        details={
            "rule": decision.team_rule,
            "priority_rules": list(decision.priority_rules),
            "assignee_rule": assignee_rule,
            **({"filed_by": submitted.filed_by} if submitted.filed_by else {}),
        },
    )
    return change.seal()


def not_accepted_record(data: RequestNotAccepted, occurred_at: datetime, ctx: Context) -> Task:
    """不受理 at the front door: a task without a team, so the ledgers count it. Nothing is published
    (intake answered the resident and notify tells them)."""
    task = Task(
        id=data.request_id,
        tracking_code=data.tracking_code,
        service_code=data.service_code,
        channel=data.channel,
        on_behalf=data.on_behalf,
        filed_by=data.filed_by,
        language=data.resident.language,
        vulnerability=list(data.resident.vulnerability),
        status="not_accepted",
        reason_code=data.reason_code,
        submitted_at=occurred_at,
        closed_at=occurred_at,
        rev=1,
    )
    task.history = [
        HistoryEntry(
            at=occurred_at,
            action="not-accept",
            actor="intake",
            status="not_accepted",
            reason_code=data.reason_code,
            details={"referral": data.referral, "at_front_door": True}
            | ({"filed_by": data.filed_by} if data.filed_by else {}),
        )
    ]
    return task


def _system_check(task: Task, action: str) -> None:
    if task.status not in SYSTEM_ACTIONS[action]:
        raise IllegalTransition(action, task.status, sorted(SYSTEM_ACTIONS[action]), [])


def cancel(task: Task, reason: str | None, ctx: Context, now: datetime, causation_id: str | None) -> Outcome:
    _system_check(task, "cancel")
    c = Change(task, ctx, SYSTEM, now, causation_id)
    c.task.status = "cancelled"
    c.task.closed_at = now
    c.task.closed_reason = "cancelled"
    c.event(TaskCancelled)
    c.record("cancel", details={"reason": reason} if reason else {})
    return c.seal()


def feedback(task: Task, fb: Feedback, ctx: Context, now: datetime, causation_id: str | None) -> Outcome:
    """The resident's rating: closes a resolved task (satisfied / fairly satisfied) or reopens it (重办).
    On a task no longer `resolved` it is only recorded (it still counts for the satisfaction rate)."""
    c = Change(task, ctx, SYSTEM, now, causation_id)
    apply_feedback(c, fb)
    on_rating(c, fb)  # call-backs (回访): a dissatisfied rating opens one, a rating closes a waiting one
    return c.seal()


def apply_feedback(c: Change, fb: Feedback) -> None:
    """A rating, the resident's own or given on a call-back (domain/lifecycle/calls.py): the same effect."""
    t = c.task
    applies = t.status == "resolved"
    t.feedback = [*t.feedback, fb.model_copy(update={"applied": applies})]
    t.rating = fb.rating
    details: dict[str, str | None] = (
        {"rating": fb.rating, "comment": fb.comment} if fb.comment else {"rating": fb.rating}
    )
    if fb.via != "resident":
        details["via"] = fb.via
    if not applies:
        c.record("feedback", with_event=False, details=details)
    elif fb.rating == "dissatisfied":
        t.status = "reopened"
        t.counts.reopens += 1
        t.resolved_at = None
        start_claim_clock(t, c.ctx, c.now)
        c.event(TaskReopened)
        c.record("reopen", details=details)
    else:
        t.status = "closed"
        t.closed_at = c.now
        t.closed_reason = fb.rating
        c.event(TaskClosed, reason=fb.rating)
        c.record("close", details=details)


def _recipients(people: list[StaffInfo]) -> list[StaffRecipient]:
    seen: dict[str, StaffRecipient] = {}
    for person in people:
        seen.setdefault(person.username, person.recipient())
    return list(seen.values())


def sla_step(task: Task, ctx: Context, now: datetime) -> Outcome | None:
    """What the sweeper does to one task at `now`: reminders, 催办, 督办, auto-close. None: nothing due."""
    if task.status == "resolved" and task.resolved_at is not None:
        if now < task.resolved_at + ctx.policy.auto_close_after:
            return no_rating_step(task, ctx, now)  # call-backs (回访): no rating in N days
        c = Change(task, ctx, SYSTEM, now, None)
        c.task.status = "closed"
        c.task.closed_at = now
        c.task.closed_reason = "no_feedback"
        c.event(TaskClosed, reason="no_feedback")
        c.record("close", details={"reason": "no_feedback", "days": ctx.policy.auto_close_after_days})
        return c.seal()
    clock = running_clock(task)
    if clock is None:
        return None
    calendar = ctx.calendar_for(task.team_id)
    steps = due_steps(clock, ctx.policy, calendar, now)
    if not steps:
        return None
    c = Change(task, ctx, SYSTEM, now, None)
    marks = c.task.sla.claim if clock.name == "claim" else c.task.sla.handle
    assignee = ctx.person(task.assignee)
    leads = ctx.members(task.team_id, ("lead",))
    for step in steps:
        if step == "remind":
            marks.reminded_at = now
            c.task.counts.reminders += 1
            to = [assignee] if assignee is not None else ctx.members(task.team_id)
            c.event(TaskReminder, clock=clock.name, recipients=_recipients(to))
            c.record(
                "remind",
                details={"clock": clock.name, "due_at": clock.due_at.isoformat(), "to": [p.username for p in to]},
            )
        else:
            level: Literal["lead", "supervisor"] = "lead" if step == "lead" else "supervisor"
            if level == "lead":
                marks.lead_at = now
                to = leads + ([assignee] if assignee is not None else [])
            else:
                marks.supervisor_at = now
                to = ctx.by_role("supervisor") + leads
            c.task.counts.escalations += 1
            c.event(
                TaskEscalated, level=level, clock=clock.name, overdue_since=clock.due_at, recipients=_recipients(to)
            )
            c.record(
                "escalate",
                details={
                    "level": level,
                    "clock": clock.name,
                    "due_at": clock.due_at.isoformat(),
                    "to": [p.username for p in to],
                },
            )
    return c.seal()
