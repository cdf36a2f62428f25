"""The two SLA clocks on a task: the claim clock (dispatch to 签收) and the handling clock (签收 to 办结).

Starting a clock sets its due time from the SLA policy and the team's calendar; `next_check` tells the
sweeper when to look at the task again, `is_overdue` whether the running clock is past its due time.
"""

from __future__ import annotations

from datetime import datetime

from services.routing.domain import sla
from services.routing.domain.lifecycle.followup_clock import no_rating_due_at
from services.routing.domain.model import Context, Marks, SlaMarks, Task


def _limits(task: Task, ctx: Context) -> sla.AppliedLimits:
    return ctx.policy.limits_for(task.service_code, task.priority, task.description, task.attributes)


def start_claim_clock(task: Task, ctx: Context, now: datetime) -> None:
    """A new dispatch (first, transfer, re-dispatch, reopen): claim by `claim_due_at`. The resident is told
    `due_at` = the handling limit counted from that claim deadline: claiming earlier only brings it forward."""
    calendar = ctx.calendar_for(task.team_id)
    limits = _limits(task, ctx)
    task.dispatched_at = now
    task.first_dispatched_at = task.first_dispatched_at or now
    task.claim_due_at = limits.claim.after(now, calendar)
    task.handle_due_at = None
    task.due_at = limits.handle.after(task.claim_due_at, calendar)
    task.claimed_at = task.started_at = None
    task.hold = None
    task.extension = None
    task.sla = SlaMarks(limits_rule=limits.rule)


def start_handle_clock(task: Task, ctx: Context, now: datetime) -> None:
    limits = _limits(task, ctx)
    task.claimed_at = now
    task.first_claimed_at = task.first_claimed_at or now
    task.handle_due_at = limits.handle.after(now, ctx.calendar_for(task.team_id))
    task.due_at = task.handle_due_at
    task.sla.handle = Marks()
    task.sla.limits_rule = limits.rule


def running_clock(task: Task) -> sla.ClockState | None:
    """The clock running in the task's status, with the steps already taken (None: no clock runs)."""
    if task.status in ("dispatched", "reopened") and task.claim_due_at and task.dispatched_at:
        m = task.sla.claim
        return sla.ClockState(
            "claim", task.dispatched_at, task.claim_due_at, bool(m.reminded_at), bool(m.lead_at), bool(m.supervisor_at)
        )
    # The handling clock runs on while a reply awaits review (审核): it stops when the resident is answered.
    if task.status in ("claimed", "in_progress", "awaiting_review") and task.handle_due_at and task.claimed_at:
        m = task.sla.handle
        return sla.ClockState(
            "handle", task.claimed_at, task.handle_due_at, bool(m.reminded_at), bool(m.lead_at), bool(m.supervisor_at)
        )
    return None


def next_check(task: Task, ctx: Context) -> datetime | None:
    """When the SLA sweeper must look at this task next (None: never, as things stand)."""
    if task.status == "resolved" and task.resolved_at is not None:
        auto_close = task.resolved_at + ctx.policy.auto_close_after
        callback = no_rating_due_at(task, ctx.followup)  # 回访: no rating in N days
        return min(auto_close, callback) if callback is not None else auto_close
    clock = running_clock(task)
    if clock is None:
        return None
    return sla.next_check(clock, ctx.policy, ctx.calendar_for(task.team_id))


def is_overdue(task: Task, now: datetime) -> bool:
    clock = running_clock(task)
    if clock is None:
        return (
            task.status == "on_hold"
            and task.handle_due_at is not None
            and task.hold is not None
            and (task.hold.since >= task.handle_due_at)
        )
    return now >= clock.due_at
