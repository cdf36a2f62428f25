"""The staff actions: what each one changes on the task, the events it publishes, the history it adds.

    dispatched --claim--> claimed --start--> in_progress --resolve--> resolved --(feedback ok / N days)--> closed
        |  ^                 |  \\--hold--> on_hold --resume--> in_progress        \\--(dissatisfied)--> reopened
        |  '--dispatch--- returned <--return-- (dispatched, claimed, in_progress, reopened)
        |   resolve (a member, review on) --> awaiting_review --approve-reply--> resolved (review.py)
        '--transfer--> dispatched (another team)      reopened --claim--> claimed
    not-accept / duplicate / cancel end the task from the open statuses.

`act` checks the caller (permissions.py), runs the command's transition and seals the outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from services.routing.domain.errors import Invalid
from services.routing.domain.lifecycle import commands as cmd
from services.routing.domain.lifecycle import review
from services.routing.domain.lifecycle.assignment import choose_assignee, known_team, team_member
from services.routing.domain.lifecycle.change import Change, Outcome
from services.routing.domain.lifecycle.clocks import start_claim_clock, start_handle_clock
from services.routing.domain.lifecycle.permissions import check, visible
from services.routing.domain.lifecycle.resolution import resolve
from services.routing.domain.model import Actor, Context, Decision, Extension, Hold, Marks, Task
from shared.events.tasks import (
    TaskClaimed,
    TaskDispatched,
    TaskDuplicate,
    TaskExtensionApproved,
    TaskExtensionDenied,
    TaskExtensionRequested,
    TaskHeld,
    TaskNotAccepted,
    TaskNoted,
    TaskResumed,
    TaskReturned,
    TaskStarted,
    TaskTransferred,
)


def _claim(c: Change, p: cmd.Claim) -> None:
    c.task.status = "claimed"
    c.task.assignee = c.actor.username
    start_handle_clock(c.task, c.ctx, c.now)
    c.event(TaskClaimed)
    c.record("claim", note=p.note, visibility="internal" if p.note else None)


def _start(c: Change, p: cmd.Start) -> None:
    c.task.status = "in_progress"
    c.task.started_at = c.task.started_at or c.now
    _public(c, p.public_note)
    c.event(TaskStarted)
    c.record("start", note=p.note, visibility="internal" if p.note else None)


def _hold(c: Change, p: cmd.Hold) -> None:
    c.task.status = "on_hold"
    c.task.hold = Hold(since=c.now, reason=p.reason, by=c.actor.username)
    _public(c, p.public_note)
    c.event(TaskHeld)
    c.record("hold", note=p.note, visibility="internal" if p.note else None, details={"reason": p.reason})


def _resume(c: Change, p: cmd.Resume) -> None:
    t = c.task
    held_from = t.hold.since if t.hold else c.now
    if t.handle_due_at is not None and held_from < t.handle_due_at:
        # The clock stopped while on hold: what was left of it runs from now.
        calendar = c.ctx.calendar_for(t.team_id)
        remaining = calendar.between(held_from, t.handle_due_at)
        t.handle_due_at = calendar.add(calendar.next_working_instant(c.now), remaining)
        t.due_at = t.handle_due_at
        t.sla.handle = Marks()
    t.status = "in_progress"
    t.hold = None
    _public(c, p.public_note)
    c.event(TaskResumed)
    c.record(
        "resume", note=p.note, visibility="internal" if p.note else None, details={"held_since": held_from.isoformat()}
    )


def _note(c: Change, p: cmd.Note) -> None:
    if p.visibility == "public":
        c.task.public_note = p.text
        c.event(TaskNoted)
        c.record("note", note=p.text, visibility="public")
    else:
        c.record("note", note=p.text, visibility="internal", with_event=False)


def _resolve(c: Change, p: cmd.Resolve) -> None:
    if review.required(c):  # 审核: a member's reply waits for a lead
        review.submit(c, p)
        return
    resolve(c, p.reply, details={"internal_note": p.note} if p.note else {})


def _return(c: Change, p: cmd.Return) -> None:
    t = c.task
    from_team = t.team_id
    t.status = "returned"
    t.team_id = None
    t.assignee = None
    t.reason_code = p.reason_code
    t.claim_due_at = t.handle_due_at = None
    t.hold = None
    t.extension = None
    t.counts.returns += 1
    _public(c, p.public_note)
    c.event(TaskReturned, reason_code=p.reason_code, returned_by_team=c.ctx.team_ref(from_team))
    c.record(
        "return",
        reason_code=p.reason_code,
        note=p.note,
        visibility="internal" if p.note else None,
        details={"from_team": from_team},
    )


def _redirect(c: Change, team_id: str, assignee: str | None) -> str:
    """Send the task to `team_id` (transfer, dispatch): new claim clock, assignee chosen or given."""
    t = c.task
    t.team_id = team_id
    if assignee is not None:
        team_member(c.ctx, team_id, assignee, "assignee")
        t.assignee, rule = assignee, f"manual:{c.actor.username}"
    else:
        t.assignee, rule = choose_assignee(team_id, c.ctx)
    t.status = "dispatched"
    start_claim_clock(t, c.ctx, c.now)
    return rule


def _transfer(c: Change, p: cmd.Transfer) -> None:
    known_team(c.ctx, p.team_id)
    if p.team_id == c.task.team_id:
        raise Invalid("team_id", "the task is already with this team; choose another team")
    from_team = c.task.team_id
    assignee_rule = _redirect(c, p.team_id, p.assignee)
    c.task.counts.transfers += 1
    c.task.decision = Decision(
        team_rule=f"transfer:{c.actor.username}",
        priority_rules=c.before.decision.priority_rules if c.before.decision else [],
        assignee_rule=assignee_rule,
        by=c.actor.username,
    )
    _public(c, p.public_note)
    c.event(TaskTransferred, from_team=c.ctx.team_ref(from_team))
    c.record(
        "transfer",
        note=p.note,
        details={"from_team": from_team, "to_team": p.team_id, "reason": p.reason, "assignee_rule": assignee_rule},
    )


def _extend(c: Change, p: cmd.Extend) -> None:
    t = c.task
    current = t.handle_due_at or t.due_at or c.now
    calendar = c.ctx.calendar_for(t.team_id)
    if p.working_days is not None:
        requested = calendar.add(current, calendar.day_length * p.working_days)
    else:
        assert p.requested_due_at is not None
        requested = p.requested_due_at
        if requested <= current or requested <= c.now:
            raise Invalid("requested_due_at", f"must be later than the current due time {current.isoformat()}")
        if requested > c.now + timedelta(days=366):
            raise Invalid("requested_due_at", "must be within a year; ask again later for more")
    t.extension = Extension(
        status="requested",
        requested_due_at=requested,
        reason=p.reason,
        requested_by=c.actor.username,
        requested_at=c.now,
    )
    t.counts.extensions += 1
    c.event(TaskExtensionRequested, requested_due_at=requested)
    c.record(
        "extend",
        note=p.note,
        visibility="internal" if p.note else None,
        details={"requested_due_at": requested.isoformat(), "reason": p.reason},
    )


def _decide_extension(c: Change, p: cmd.ApproveExtension | cmd.DenyExtension) -> None:
    approve = isinstance(p, cmd.ApproveExtension)
    t = c.task
    assert t.extension is not None
    t.extension = t.extension.model_copy(
        update={
            "status": "approved" if approve else "denied",
            "decided_by": c.actor.username,
            "decided_at": c.now,
            "decision_note": p.note,
        }
    )
    if approve:
        t.handle_due_at = t.due_at = t.extension.requested_due_at
        t.sla.handle = Marks()
        c.event(TaskExtensionApproved, extension_reason=t.extension.reason)
    else:
        c.event(TaskExtensionDenied)
    c.record(
        p.action,
        note=p.note,
        visibility="internal" if p.note else None,
        details={"requested_due_at": t.extension.requested_due_at.isoformat()},
    )


def _dispatch(c: Change, p: cmd.Dispatch) -> None:
    known_team(c.ctx, p.team_id)
    if c.task.status != "returned" and p.team_id == c.task.team_id and p.priority in (None, c.task.priority):
        raise Invalid("team_id", "the task is already with this team; choose another team (or use assign)")
    if p.priority is not None:
        c.task.priority = p.priority
    assignee_rule = _redirect(c, p.team_id, p.assignee)
    rule = f"manual:{c.actor.username}"
    c.task.decision = Decision(
        team_rule=rule,
        priority_rules=[f"manual:{c.actor.username}"]
        if p.priority
        else (c.before.decision.priority_rules if c.before.decision else []),
        assignee_rule=assignee_rule,
        by=c.actor.username,
    )
    c.event(TaskDispatched, rule=rule, redispatch=True, priority_rules=c.task.decision.priority_rules)
    c.record(
        "dispatch",
        note=p.note,
        visibility="internal" if p.note else None,
        details={"rule": rule, "assignee_rule": assignee_rule, "from_status": c.before.status},
    )


def _assign(c: Change, p: cmd.Assign) -> None:
    assert c.task.team_id is not None
    team_member(c.ctx, c.task.team_id, p.assignee, "assignee")
    c.task.assignee = p.assignee
    if c.task.decision is not None:
        c.task.decision.assignee_rule = f"manual:{c.actor.username}"
    c.record(
        "assign",
        with_event=False,
        note=p.note,
        visibility="internal" if p.note else None,
        details={"assignee": p.assignee},
    )


def _duplicate(c: Change, p: cmd.Duplicate) -> None:
    original = c.ctx.original
    if original is None or not visible(original, c.actor):
        # One answer whether the request does not exist or is another team's: nothing about it leaks.
        raise Invalid("original", f"no task you can see has the request id or tracking code {p.original!r}")
    if original.id == c.task.id:
        raise Invalid("original", "a task cannot duplicate itself")
    c.task.status = "duplicate"
    c.task.duplicate_of = original.id
    c.task.closed_at = c.now
    _public(c, p.public_note)
    # The original's tracking code is its resident's key (cancel, inbox): it stays out of the event (the
    # duplicate's resident is told their request was merged, never the other code) and out of the history.
    c.event(TaskDuplicate, original_request_id=original.id)
    c.record(
        "duplicate",
        note=p.note,
        visibility="internal" if p.note else None,
        details={"original_request_id": original.id},
    )


def _not_accept(c: Change, p: cmd.NotAccept) -> None:
    c.task.status = "not_accepted"
    c.task.reason_code = p.reason_code
    c.task.closed_at = c.now
    c.task.public_note = p.public_note
    c.event(TaskNotAccepted, reason_code=p.reason_code)
    c.record("not-accept", reason_code=p.reason_code, note=p.public_note, visibility="public")


def _public(c: Change, text: str | None) -> None:
    if text:
        c.task.public_note = text


Transition = Callable[[Change, Any], None]
TRANSITIONS: dict[type[cmd.StaffCommand], Transition] = {
    cmd.Claim: _claim,
    cmd.Start: _start,
    cmd.Hold: _hold,
    cmd.Resume: _resume,
    cmd.Note: _note,
    cmd.Resolve: _resolve,
    cmd.Return: _return,
    cmd.Transfer: _transfer,
    cmd.Extend: _extend,
    cmd.ApproveExtension: _decide_extension,
    cmd.DenyExtension: _decide_extension,
    cmd.Dispatch: _dispatch,
    cmd.Assign: _assign,
    cmd.Duplicate: _duplicate,
    cmd.NotAccept: _not_accept,
    cmd.ApproveReply: review.approve,
    cmd.SendBack: review.send_back,
}


def act(task: Task, command: cmd.StaffCommand, actor: Actor, ctx: Context, now: datetime) -> Outcome:
    """A staff action: checked (404/403/409), applied, sealed. What `command.needs()` asked for is in `ctx`."""
    check(task, actor, command.action)
    change = Change(task, ctx, actor, now, None)
    TRANSITIONS[type(command)](change, command)
    return change.seal()
