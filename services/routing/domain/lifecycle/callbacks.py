"""Opening and closing call-backs (回访), inside the write of what caused them. Pure.

- the SLA sweeper opens one when a resolution has had no rating for `no_rating_after_days` (`no_rating_step`);
- a resident's own dissatisfied rating opens one in the write that reopens the task; a rating given online
  while a no-rating call-back waits closes it: nobody needs to call any more (`on_rating`).

One call-back is open at a time; while it is, `task.followup_team` holds the desk's team (its queue).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from services.routing.domain.followup import FollowUpPolicy
from services.routing.domain.lifecycle.change import Change, Outcome
from services.routing.domain.lifecycle.followup_clock import is_open, no_rating_due_at
from services.routing.domain.model import SYSTEM, Context, Feedback, FollowUp, Task
from shared.events.tasks import TaskFollowUpOpened

ClosedReason = Literal["called", "rated_online", "unreachable", "declined", "wrong_number"]


def open_followup(change: Change, reason: Literal["no_rating", "dissatisfied"], policy: FollowUpPolicy) -> None:
    t = change.task
    if is_open(t):
        return  # the open call-back covers this too
    t.followup = FollowUp(reason=reason, team_id=policy.desk_team, opened_at=change.now)
    t.followup_team = policy.desk_team
    t.counts.followups += 1
    change.event(TaskFollowUpOpened, reason=reason, followup_team=change.ctx.team_ref(policy.desk_team))
    change.record("followup", details={"reason": reason, "team": policy.desk_team})


def close_followup(task: Task, now: datetime, reason: ClosedReason) -> None:
    assert task.followup is not None
    task.followup.status = "done"
    task.followup.closed_at = now
    task.followup.closed_reason = reason
    task.followup_team = None


def on_rating(change: Change, fb: Feedback) -> None:
    """A resident's own rating: closes a waiting no-rating call-back, opens one when dissatisfied."""
    if fb.via != "resident":
        return
    policy = change.ctx.followup
    t = change.task
    t.rating_source = "resident"
    waiting = t.followup if is_open(t) else None
    if waiting is not None and waiting.reason == "no_rating" and fb.rating != "dissatisfied":
        close_followup(t, change.now, "rated_online")
        change.record("followup-closed", with_event=False, details={"reason": "rated_online"})
    # On an answered task (reopened by this rating, or closed already): an open one has its team's attention.
    if fb.rating == "dissatisfied" and policy.on_dissatisfied and change.before.status in ("resolved", "closed"):
        open_followup(change, "dissatisfied", policy)


def no_rating_step(task: Task, ctx: Context, now: datetime) -> Outcome | None:
    """The sweeper's step: open the call-back of a resolution nobody rated in time (None: not due)."""
    due = no_rating_due_at(task, ctx.followup)
    if due is None or now < due:
        return None
    c = Change(task, ctx, SYSTEM, now, None)
    open_followup(c, "no_rating", ctx.followup)
    return c.seal()
