"""When a resolution gets its call-back (回访): the no-rating timer the SLA sweeper runs (clocks.next_check
asks `no_rating_due_at`). Pure."""

from __future__ import annotations

from datetime import datetime

from services.routing.domain.followup import FollowUpPolicy
from services.routing.domain.model import Task


def rated_since(task: Task, since: datetime) -> bool:
    """A rating (online or on a call-back) given at or after `since`."""
    return any(f.at >= since for f in task.feedback)


def is_open(task: Task) -> bool:
    return task.followup is not None and task.followup.status == "open"


def no_rating_due_at(task: Task, policy: FollowUpPolicy) -> datetime | None:
    """When a resolved task without a rating gets its call-back (None: not this task, or done already)."""
    if task.status != "resolved" or task.resolved_at is None:
        return None
    if task.followup is not None and task.followup.opened_at >= task.resolved_at:
        return None  # this resolution has had its follow-up
    if rated_since(task, task.resolved_at):
        return None
    return task.resolved_at + policy.no_rating_after
