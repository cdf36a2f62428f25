"""Events produced by routing (`task.*`). Routing owns the work order.

Every task event carries the task's state after the change (status, team, assignee, due time and the
latest public note), so a read model can apply any of them the same way, guarded by `seq`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.events.envelope import EventData, register

Priority = Literal["low", "normal", "high", "urgent"]


class TeamRef(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    id: str
    name: dict[str, str]  # language -> display name


class StaffRecipient(BaseModel):
    """Someone on the staff side who must hear of an event (reminders, escalations)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    username: str
    role: str
    team_id: str | None = None
    display_name: str | None = None
    email: str | None = None
    phone: str | None = None
    language: str = "zh-CN"


class TaskEvent(EventData):
    # Not published any more: the tracking code is the resident's proof (cancel, rate, read the inbox), and no
    # consumer needs it here (intake keys its view by request_id, notify takes it from request.submitted).
    # Kept optional so that events already queued still parse.
    tracking_code: str | None = None
    status: str
    team: TeamRef | None = None
    assignee: str | None = None
    priority: Priority = "normal"
    due_at: datetime | None = None
    # Text the resident may see (a public note, the resolution reply, a return or referral reason).
    public_note: str | None = None
    actor: str | None = None  # staff username or "system"


@register
class TaskDispatched(TaskEvent):
    TYPE = "task.dispatched"
    rule: str  # which rule (id@version) made the decision
    redispatch: bool = False
    priority_rules: list[str] = []  # which rules (id@version) set the priority


@register
class TaskClaimed(TaskEvent):
    TYPE = "task.claimed"


@register
class TaskStarted(TaskEvent):
    TYPE = "task.started"


@register
class TaskHeld(TaskEvent):
    TYPE = "task.held"


@register
class TaskResumed(TaskEvent):
    TYPE = "task.resumed"


@register
class TaskNoted(TaskEvent):
    """Only public notes are published; internal notes stay in routing."""

    TYPE = "task.noted"


@register
class TaskExtensionRequested(TaskEvent):
    TYPE = "task.extension_requested"
    requested_due_at: datetime


@register
class TaskExtensionApproved(TaskEvent):
    TYPE = "task.extension_approved"
    # Why more time is needed (the reason given with the request): the resident's message and timeline say
    # this, not whatever public note happened to be the latest.
    extension_reason: str | None = None


@register
class TaskExtensionDenied(TaskEvent):
    TYPE = "task.extension_denied"


@register
class TaskReturned(TaskEvent):
    TYPE = "task.returned"
    reason_code: str
    returned_by_team: TeamRef | None = None  # the team that sent it back (`team` is now None)


@register
class TaskTransferred(TaskEvent):
    TYPE = "task.transferred"
    from_team: TeamRef


@register
class TaskResolved(TaskEvent):
    TYPE = "task.resolved"
    reply: str


@register
class TaskReopened(TaskEvent):
    TYPE = "task.reopened"


@register
class TaskClosed(TaskEvent):
    TYPE = "task.closed"
    reason: Literal["satisfied", "fairly_satisfied", "no_feedback", "cancelled", "duplicate", "other"]


@register
class TaskNotAccepted(TaskEvent):
    TYPE = "task.not_accepted"
    reason_code: str


@register
class TaskDuplicate(TaskEvent):
    TYPE = "task.duplicate"
    original_request_id: str
    # No longer sent: the original's code is another resident's key. Kept so older events still parse.
    original_tracking_code: str | None = None


@register
class TaskCancelled(TaskEvent):
    TYPE = "task.cancelled"


@register
class TaskReminder(TaskEvent):
    """The due time is near. Addressed to the assignee, or the team if nobody has claimed it."""

    TYPE = "task.reminder"
    clock: Literal["claim", "handle"]
    recipients: list[StaffRecipient] = []


@register
class TaskEscalated(TaskEvent):
    """催办 (level "lead") at the due time, 督办 (level "supervisor") when still late."""

    TYPE = "task.escalated"
    level: Literal["lead", "supervisor"]
    clock: Literal["claim", "handle"]
    overdue_since: datetime
    recipients: list[StaffRecipient] = []


# -- call-backs (回访) ---------------------------------------------------------------------------------------


@register
class TaskFollowUpOpened(TaskEvent):
    """A call-back lands in the desk's queue: the resolution got no rating in time, or a dissatisfied one."""

    TYPE = "task.followup_opened"
    reason: Literal["no_rating", "dissatisfied"]
    followup_team: TeamRef | None = None  # the desk that calls the resident


@register
class TaskCallbackRecorded(TaskEvent):
    """The desk called the resident. A rating given on the phone counts like one given online: the same
    write closes or reopens the task (`task.closed` / `task.reopened` follow this event)."""

    TYPE = "task.callback_recorded"
    outcome: Literal["reached", "no_answer", "declined", "wrong_number"]
    rating: Literal["satisfied", "fairly_satisfied", "dissatisfied"] | None = None
    called_at: datetime
    caller: str
    followup_done: bool = True  # False: nobody answered and the desk will try again


class WorkItem(BaseModel):
    """The message a team's own system receives on `work.<team_id>` (exchange `huiying.work`).

    Only what the team needs to do the work: no tracking code (the resident's proof), no name or e-mail; the
    phone masked (138****8000) unless the team's `work_item_phone` setting (deploy/teams.yaml) says otherwise."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    request_id: str
    team_id: str
    service_code: str
    priority: Priority
    description: str
    resident_phone: str | None = None
    address: str | None = None
    due_at: datetime | None = None
    dispatched_at: datetime
    kind: Literal["dispatched", "transferred_in", "redispatched", "reopened", "resident_added"] = "dispatched"
