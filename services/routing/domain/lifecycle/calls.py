"""Recording a call-back (回访): who called, when, what came of it, and the rating the resident gave on the
phone. The rating goes through the same `apply_feedback` as one given online: it closes or reopens a resolved
task, and counts in the ledger like the resident's own (marked `via: callback`). Pure."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.routing.domain.errors import Forbidden, IllegalTransition, Invalid, NotVisible
from services.routing.domain.followup import FollowUpPolicy, RecordCall
from services.routing.domain.lifecycle.callbacks import close_followup
from services.routing.domain.lifecycle.change import Change, Outcome
from services.routing.domain.lifecycle.followup_clock import is_open
from services.routing.domain.lifecycle.system import apply_feedback
from services.routing.domain.model import Actor, CallRecord, Context, Feedback, FollowUp, Task
from shared.events.tasks import TaskCallbackRecorded

# A call-back may be recorded without an open one in these statuses (the task has been answered).
CALLABLE_STATUSES = ("resolved", "closed")
CLOCK_SKEW = timedelta(minutes=5)


def may_call(actor: Actor, policy: FollowUpPolicy) -> bool:
    """The desk's members and leads, supervisors and admins record call-backs."""
    return actor.sees_everything or (actor.team == policy.desk_team and actor.role in ("member", "lead"))


def can_see(task: Task, actor: Actor, policy: FollowUpPolicy) -> bool:
    """Who reads a task's call-back view: whoever may call (while one is open or it is answered), or its team."""
    if actor.sees_everything or (actor.team is not None and actor.team == task.team_id):
        return True
    return may_call(actor, policy) and (is_open(task) or task.followup is not None or task.status in CALLABLE_STATUSES)


def callable_now(task: Task) -> bool:
    return is_open(task) or task.status in CALLABLE_STATUSES


def record_call(task: Task, call: RecordCall, actor: Actor, ctx: Context, now: datetime) -> Outcome:
    policy = ctx.followup
    if not can_see(task, actor, policy):
        raise NotVisible(task.id)
    if not may_call(actor, policy):
        raise Forbidden("only the desk's staff, a supervisor or an admin may record a call-back")
    if not callable_now(task):
        raise IllegalTransition("callback", task.status, list(CALLABLE_STATUSES), [])
    called_at = call.called_at or now
    if called_at > now + CLOCK_SKEW:
        raise Invalid("called_at", "the call cannot be in the future; give the time it was made")
    if task.first_resolved_at is not None and called_at < task.first_resolved_at - CLOCK_SKEW:
        raise Invalid("called_at", "the call must come after the resolution it is about")
    c = Change(task, ctx, actor, now, None)
    t = c.task
    if not is_open(t):
        # A call the desk made of its own accord: recorded as a call-back of its own.
        t.followup = FollowUp(reason="no_rating", team_id=policy.desk_team, opened_at=now)
        t.counts.followups += 1
    followup = t.followup
    assert followup is not None
    record = CallRecord(
        called_at=called_at,
        caller=actor.username,
        outcome=call.outcome,
        rating=call.rating,
        comment=call.comment,
        recorded_by=actor.username,
        recorded_at=now,
    )
    followup.calls = [*followup.calls, record]
    t.counts.callbacks += 1
    unanswered = sum(1 for r in followup.calls if r.outcome == "no_answer")
    done = call.outcome != "no_answer" or unanswered >= policy.max_attempts
    if done:
        if call.outcome == "reached":
            close_followup(t, now, "called")
        elif call.outcome in ("declined", "wrong_number"):
            close_followup(t, now, "declined" if call.outcome == "declined" else "wrong_number")
        else:
            close_followup(t, now, "unreachable")
    else:
        t.followup_team = policy.desk_team
    details: dict[str, object] = {"outcome": call.outcome, "called_at": called_at.isoformat(), "caller": actor.username}
    if call.rating:
        details["rating"] = call.rating
    c.event(
        TaskCallbackRecorded,
        outcome=call.outcome,
        rating=call.rating,
        called_at=called_at,
        caller=actor.username,
        followup_done=done,
    )
    c.record("callback", note=call.comment, visibility="internal" if call.comment else None, details=details)
    if call.rating is not None:
        t.rating_source = "callback"
        fb = Feedback(
            event_id=f"callback:{t.id}:{t.counts.callbacks}",
            rating=call.rating,
            comment=call.comment,
            at=called_at,
            via="callback",
            by=actor.username,
        )
        apply_feedback(c, fb)
    return c.seal()
