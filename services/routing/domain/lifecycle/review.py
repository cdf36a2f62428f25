"""Reply review (审核): a member's reply waits for a team lead before the resident hears it. Pure.

    in_progress/claimed --resolve (a member, review on)--> awaiting_review --approve-reply--> resolved
                                                                 '--send-back (with a note)--> in_progress

Which work needs review is configuration (deploy/teams.yaml: a team's `review: true` or `review_kinds`,
or the top-level `review_kinds`; `Directory.needs_review`). Only a member's reply is reviewed: a lead's
own `resolve` goes through directly, and supervisors do not resolve.

Submitting and sending back publish nothing: to the resident the task is simply still being handled, so
intake's status view and notify see no event (an event published while the task awaits review, e.g. a
reminder, carries `in_progress`: change.py). Approval resolves the task through resolution.py, the
same write and the same `task.resolved` a direct resolve makes, so notify, call-backs (回访) and the
ledgers behave as if the task was resolved at approval.

SLA: the handling clock keeps running while the reply waits (the 12345 practice: the reply time counts
when the resident is answered), so reminders and 催办/督办 still fire, and `resolved_on_time` is judged
at approval.
"""

from __future__ import annotations

from datetime import datetime

from services.routing.domain.errors import Forbidden
from services.routing.domain.lifecycle import commands as cmd
from services.routing.domain.lifecycle.change import Change
from services.routing.domain.lifecycle.resolution import resolve
from services.routing.domain.model import Actor, Review
from services.routing.domain.queue import QueueQuery, queue_query
from services.routing.domain.teams import Directory


def required(c: Change) -> bool:
    """Whether this `resolve` goes to review: a member's, on work the configuration says is reviewed."""
    return c.actor.role == "member" and c.ctx.directory.needs_review(c.task.team_id, c.task.service_code)


def submit(c: Change, p: cmd.Resolve) -> None:
    """The member's reply waits for a lead: nothing is published, the resident is not told yet."""
    t = c.task
    rounds = t.review.rounds + 1 if t.review is not None else 1
    t.status = "awaiting_review"
    t.review = Review(
        status="pending", reply=p.reply, note=p.note, submitted_by=c.actor.username, submitted_at=c.now, rounds=rounds
    )
    details = {"round": rounds} | ({"internal_note": p.note} if p.note else {})
    c.record("submit-review", with_event=False, note=p.reply, visibility="internal", details=details)


def approve(c: Change, p: cmd.ApproveReply) -> None:
    """The lead approves (their edit of) the reply: the task is resolved now, as a direct resolve would."""
    t = c.task
    assert t.review is not None
    reply = p.reply or t.review.reply
    edited = reply != t.review.reply
    t.review = t.review.model_copy(
        update={"status": "approved", "decided_by": c.actor.username, "decided_at": c.now, "decision_note": p.note}
    )
    details: dict[str, object] = {"proposed_by": t.review.submitted_by, "round": t.review.rounds, "edited": edited}
    if p.note:
        details["internal_note"] = p.note
    resolve(c, reply, action="approve-reply", details=details)


def send_back(c: Change, p: cmd.SendBack) -> None:
    """Back to the member with the lead's note; in progress again, nothing published."""
    t = c.task
    assert t.review is not None
    t.status = "in_progress"
    t.review = t.review.model_copy(
        update={"status": "sent_back", "decided_by": c.actor.username, "decided_at": c.now, "decision_note": p.note}
    )
    c.record(
        "send-back",
        with_event=False,
        note=p.note,
        visibility="internal",
        details={"proposed_by": t.review.submitted_by, "round": t.review.rounds},
    )


REVIEWERS = ("lead", "supervisor", "admin")


def review_queue(actor: Actor, directory: Directory, now: datetime, team: str | None = None) -> QueueQuery:
    """The replies waiting for the caller's decision: a lead's own team's; supervisors' every team's (or one)."""
    if actor.role not in REVIEWERS:
        raise Forbidden(
            "only a team lead or a supervisor reviews replies; your own submitted replies are in your queue"
        )
    return queue_query(actor, directory, now, status="awaiting_review", team=team)
