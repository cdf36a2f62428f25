"""Reply review (审核): a member's reply waits for a lead; approval resolves, send-back returns it. Pure."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.routing.domain import lifecycle as lc
from services.routing.domain.errors import Forbidden, IllegalTransition, NotVisible
from services.routing.domain.lifecycle import commands as cmd
from services.routing.domain.lifecycle.review import review_queue
from services.routing.domain.model import Actor, Context, Task
from services.routing.domain.teams import Directory
from services.routing.domain.views import queue_item
from tests.unit.routing.factories import DIRECTORY, SUPERVISOR, context, lead, local, member, new_task, submitted

T0 = local(2026, 11, 24, 9)  # a Tuesday morning
TEAM = "property_maintenance"
MEMBER = member(TEAM)


def with_review(**team_settings: object) -> Directory:
    """deploy/teams.yaml with the repair team's review settings changed."""
    teams = tuple(t.model_copy(update=team_settings) if t.id == TEAM else t for t in DIRECTORY.teams)
    return DIRECTORY.model_copy(update={"teams": teams})


REVIEWED = context(directory=with_review(review=True))


def act(task: Task, command: cmd.StaffCommand, actor: Actor, ctx: Context = REVIEWED, minutes: int = 0) -> lc.Outcome:
    return lc.act(task, command, actor, ctx, T0 + timedelta(minutes=minutes))


def in_progress(ctx: Context = REVIEWED) -> Task:
    t = new_task(submitted(at=T0))
    t = act(t, cmd.Claim(), MEMBER, ctx).task
    return act(t, cmd.Start(), MEMBER, ctx).task


def submitted_reply(ctx: Context = REVIEWED) -> Task:
    return act(in_progress(ctx), cmd.Resolve(reply="已更换门锁", note="换了新锁芯"), MEMBER, ctx, 10).task


def test_review_is_off_by_default() -> None:
    assert not DIRECTORY.review_kinds
    assert not any(t.review or t.review_kinds for t in DIRECTORY.teams)
    outcome = act(in_progress(context()), cmd.Resolve(reply="已更换门锁"), MEMBER, context())
    assert outcome.task.status == "resolved"
    assert [e.type for e in outcome.events] == ["task.resolved"]


@pytest.mark.parametrize(
    ("directory", "reviewed"),
    [
        (with_review(review=True), True),
        (with_review(review_kinds=frozenset({"property_repair"})), True),
        (with_review(review_kinds=frozenset({"legal_aid"})), False),
        (DIRECTORY.model_copy(update={"review_kinds": frozenset({"property_repair"})}), True),
        (DIRECTORY.model_copy(update={"review_kinds": frozenset({"enquiry_complaint"})}), False),
    ],
)
def test_review_is_configured_per_team_or_kind(directory: Directory, reviewed: bool) -> None:
    assert directory.needs_review(TEAM, "property_repair") is reviewed
    ctx = context(directory=directory)
    after = act(in_progress(ctx), cmd.Resolve(reply="已更换门锁"), MEMBER, ctx).task
    assert after.status == ("awaiting_review" if reviewed else "resolved")


def test_a_members_resolution_waits_for_review_and_publishes_nothing() -> None:
    before = in_progress()
    outcome = act(before, cmd.Resolve(reply="已更换门锁", note="换了新锁芯"), MEMBER, minutes=10)
    t = outcome.task
    assert t.status == "awaiting_review"
    assert outcome.events == []  # the resident is not told yet: no task.resolved, nothing for intake or notify
    assert t.seq == before.seq and t.rev == before.rev + 1
    assert t.reply is None and t.resolved_at is None and t.first_resolved_at is None
    assert t.review is not None
    assert (t.review.status, t.review.reply, t.review.note, t.review.submitted_by, t.review.rounds) == (
        "pending",
        "已更换门锁",
        "换了新锁芯",
        MEMBER.username,
        1,
    )
    entry = outcome.history[-1]
    assert (entry.action, entry.visibility, entry.event_id, entry.from_status) == (
        "submit-review",
        "internal",
        None,
        "in_progress",
    )
    # The member can do nothing more to it but add a note; the lead can approve or send back.
    assert lc.allowed_actions(t, MEMBER) == ["note"]
    assert set(lc.allowed_actions(t, lead(TEAM))) == {"note", "approve-reply", "send-back"}


def test_a_leads_own_resolution_goes_through() -> None:
    t = new_task(submitted(at=T0))
    t = act(t, cmd.Claim(), lead(TEAM)).task
    outcome = act(t, cmd.Resolve(reply="已处理"), lead(TEAM))
    assert outcome.task.status == "resolved"
    assert [e.type for e in outcome.events] == ["task.resolved"]


def test_approval_resolves_as_a_direct_resolve_would() -> None:
    pending = submitted_reply()
    outcome = act(pending, cmd.ApproveReply(note="可以"), lead(TEAM), minutes=30)
    t = outcome.task
    assert t.status == "resolved"
    assert [e.type for e in outcome.events] == ["task.resolved"]
    event = outcome.events[0]
    assert event.data["reply"] == "已更换门锁" and event.data["status"] == "resolved"
    assert event.data["actor"] == lead(TEAM).username
    assert t.reply == t.public_note == "已更换门锁"
    assert t.resolved_at == t.first_resolved_at == T0 + timedelta(minutes=30)  # the clock stops at approval
    assert t.review is not None and (t.review.status, t.review.decided_by) == ("approved", lead(TEAM).username)
    entry = outcome.history[-1]
    assert (entry.action, entry.visibility, entry.event_type) == ("approve-reply", "public", "task.resolved")
    assert entry.details == {"proposed_by": MEMBER.username, "round": 1, "edited": False, "internal_note": "可以"}


def test_a_lead_may_approve_an_edited_reply() -> None:
    outcome = act(submitted_reply(), cmd.ApproveReply(reply="已于今天上午更换门锁"), lead(TEAM))
    assert outcome.events[0].data["reply"] == "已于今天上午更换门锁"
    assert outcome.history[-1].details["edited"] is True


def test_send_back_returns_it_to_the_member_with_the_note() -> None:
    outcome = act(submitted_reply(), cmd.SendBack(note="请写明更换的时间"), lead(TEAM), minutes=20)
    t = outcome.task
    assert t.status == "in_progress" and outcome.events == []
    assert t.review is not None
    assert (t.review.status, t.review.decision_note, t.review.decided_by) == (
        "sent_back",
        "请写明更换的时间",
        lead(TEAM).username,
    )
    assert (outcome.history[-1].action, outcome.history[-1].note) == ("send-back", "请写明更换的时间")
    assert "resolve" in lc.allowed_actions(t, MEMBER)
    # The member answers again: a second round, then approved.
    again = act(t, cmd.Resolve(reply="已于11月24日更换门锁"), MEMBER, minutes=40).task
    assert again.status == "awaiting_review" and again.review is not None and again.review.rounds == 2
    done = act(again, cmd.ApproveReply(), lead(TEAM), minutes=50)
    assert done.events[0].data["reply"] == "已于11月24日更换门锁"


def test_only_a_lead_of_the_team_or_a_supervisor_decides() -> None:
    pending = submitted_reply()
    with pytest.raises(Forbidden, match="only a team lead"):
        act(pending, cmd.ApproveReply(), MEMBER)
    with pytest.raises(Forbidden):
        act(pending, cmd.SendBack(note="x"), member(TEAM, "member2"))
    with pytest.raises(NotVisible):  # another team's lead
        act(pending, cmd.ApproveReply(), lead("legal_aid"))
    assert act(pending, cmd.ApproveReply(), SUPERVISOR).task.status == "resolved"


def test_deciding_twice_is_a_conflict() -> None:
    approved = act(submitted_reply(), cmd.ApproveReply(), lead(TEAM)).task
    with pytest.raises(IllegalTransition, match="`approve-reply` is not possible while the task is `resolved`"):
        act(approved, cmd.ApproveReply(), lead(TEAM))
    with pytest.raises(IllegalTransition):
        act(approved, cmd.SendBack(note="x"), lead(TEAM))
    with pytest.raises(IllegalTransition):  # nothing to review on work in progress
        act(in_progress(), cmd.ApproveReply(), lead(TEAM))


def test_the_handling_clock_runs_on_while_the_reply_waits() -> None:
    pending = submitted_reply()
    assert pending.handle_due_at is not None
    assert pending.next_check_at is not None  # the sweeper still reminds and escalates
    assert lc.is_overdue(pending, pending.handle_due_at + timedelta(minutes=1))
    late = pending.handle_due_at + timedelta(hours=1)
    outcome = lc.sla_step(pending, REVIEWED, late)
    assert outcome is not None and outcome.events
    # Whatever is published while the reply waits tells the resident only that the work goes on.
    assert {e.data["status"] for e in outcome.events} == {"in_progress"}
    assert outcome.task.status == "awaiting_review"
    resolved = lc.act(outcome.task, cmd.ApproveReply(), lead(TEAM), REVIEWED, late).task
    assert resolved.resolved_on_time is False  # judged when the resident is answered


def test_a_public_note_while_waiting_shows_the_resident_in_progress() -> None:
    outcome = act(submitted_reply(), cmd.Note(text="师傅明天再来确认", visibility="public"), lead(TEAM))
    assert [e.data["status"] for e in outcome.events] == ["in_progress"]


def test_the_resident_may_cancel_while_the_reply_waits() -> None:
    assert lc.cancel(submitted_reply(), None, REVIEWED, T0, None).task.status == "cancelled"


def test_the_review_queue_is_for_leads_and_supervisors() -> None:
    query = review_queue(lead(TEAM), DIRECTORY, T0)
    assert query.statuses == ("awaiting_review",) and query.equal == {"team_id": TEAM}
    assert review_queue(SUPERVISOR, DIRECTORY, T0).equal == {}
    assert review_queue(SUPERVISOR, DIRECTORY, T0, "legal_aid").equal == {"team_id": "legal_aid"}
    with pytest.raises(Forbidden, match="only a team lead or a supervisor"):
        review_queue(MEMBER, DIRECTORY, T0)


def test_the_sent_back_mark_is_for_the_member_who_wrote_the_reply() -> None:
    back = act(submitted_reply(), cmd.SendBack(note="请写明更换的时间"), lead(TEAM)).task
    assert queue_item(back, MEMBER, DIRECTORY, T0)["review_sent_back"] is True
    assert queue_item(back, MEMBER, DIRECTORY, T0)["review_pending"] is False
    moved = act(back, cmd.Transfer(team_id="community_work_group", reason="需要社区协调"), lead(TEAM)).task
    assert queue_item(moved, SUPERVISOR, DIRECTORY, T0)["review_sent_back"] is False
    assert queue_item(submitted_reply(), lead(TEAM), DIRECTORY, T0)["review_pending"] is True
