"""The work-order state machine: every legal and illegal transition, what each changes, who may act."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from services.routing.domain import lifecycle as lc
from services.routing.domain.errors import Conflict, Forbidden, IllegalTransition, Invalid, NotVisible
from services.routing.domain.lifecycle import commands as cmd
from services.routing.domain.model import STATUSES, SYSTEM, Actor, Context, Feedback, Task
from tests.unit.routing.factories import SUPERVISOR, context, lead, local, member, new_task, submitted

T0 = local(2026, 11, 24, 9)  # a Tuesday morning
CTX = context()
TEAM = "property_maintenance"
ASSIGNEE = member(TEAM)  # the load-based assignee of a new repair task (fewest open tasks, then by name)


def step(task: Task, action: str, actor: Actor, params: Any = None, *, ctx: Context = CTX, at: datetime = T0) -> Task:
    params = params if params is not None else PARAMS[action]
    return lc.act(task, params, actor, ctx, at).task


def fb(rating: str, n: int = 1) -> Feedback:
    return Feedback(event_id=f"e{n}-{rating}", rating=rating, at=T0)  # type: ignore[arg-type]


PARAMS: dict[str, Any] = {
    "claim": cmd.Claim(),
    "start": cmd.Start(),
    "hold": cmd.Hold(reason="waiting for a spare part"),
    "resume": cmd.Resume(),
    "note": cmd.Note(text="called the resident"),
    "resolve": cmd.Resolve(reply="已更换门锁"),
    "return": cmd.Return(reason_code="outside_remit"),
    "transfer": cmd.Transfer(team_id="community_work_group", reason="needs the community"),
    "extend": cmd.Extend(reason="parts on order", working_days=2),
    "approve-extension": cmd.ApproveExtension(),
    "deny-extension": cmd.DenyExtension(),
    "dispatch": cmd.Dispatch(team_id="legal_aid"),
    "assign": cmd.Assign(assignee=f"{TEAM}.member2"),
    "duplicate": cmd.Duplicate(original="the-original"),
    "not-accept": cmd.NotAccept(reason_code="in_litigation", public_note="已进入诉讼程序，请咨询法院"),
    "approve-reply": cmd.ApproveReply(),
    "send-back": cmd.SendBack(note="请写明更换的时间"),
}
# 审核 on for every repair (deploy/teams.yaml: the top-level `review_kinds`): tests/unit/routing/test_review.py.
REVIEW_CTX = context(directory=CTX.directory.model_copy(update={"review_kinds": frozenset({"property_repair"})}))


def task_in(status: str) -> Task:
    t = new_task(submitted(at=T0))
    if status == "dispatched":
        return t
    if status in ("not_accepted", "duplicate"):
        action = "not-accept" if status == "not_accepted" else "duplicate"
        return step(t, action, lead(TEAM), ctx=context(original=new_task()))
    if status == "cancelled":
        return lc.cancel(t, "no longer needed", CTX, T0, None).task
    if status == "returned":
        return step(t, "return", ASSIGNEE)
    t = step(t, "claim", ASSIGNEE)
    if status == "claimed":
        return t
    t = step(t, "start", ASSIGNEE)
    if status == "in_progress":
        return t
    if status == "on_hold":
        return step(t, "hold", ASSIGNEE)
    if status == "awaiting_review":
        return step(t, "resolve", ASSIGNEE, ctx=REVIEW_CTX)
    t = step(t, "resolve", ASSIGNEE)
    if status == "resolved":
        return t
    if status == "closed":
        return lc.feedback(t, fb("satisfied"), CTX, T0, None).task
    if status == "reopened":
        return lc.feedback(t, fb("dissatisfied"), CTX, T0, None).task
    raise AssertionError(status)


LEGAL: dict[str, set[str]] = {
    "dispatched": {"claim", "note", "return", "transfer", "dispatch", "assign", "duplicate", "not-accept"},
    "claimed": {"start", "hold", "note", "resolve", "return", "transfer", "extend", "duplicate", "not-accept"},
    "in_progress": {"hold", "note", "resolve", "return", "transfer", "extend", "duplicate"},
    "on_hold": {"resume", "note", "transfer", "extend", "duplicate"},
    "returned": {"note", "dispatch", "duplicate", "not-accept"},
    "reopened": {"claim", "note", "return", "transfer", "dispatch", "assign", "duplicate", "not-accept"},
    "awaiting_review": {"note", "approve-reply", "send-back"},
    "resolved": {"note"},
    "closed": {"note"},
    "not_accepted": {"note"},
    "duplicate": {"note"},
    "cancelled": {"note"},
}
# (from status, action) -> (status after, event type published or None)
RESULT: dict[str, tuple[str | None, str | None]] = {
    "claim": ("claimed", "task.claimed"),
    "start": ("in_progress", "task.started"),
    "hold": ("on_hold", "task.held"),
    "resume": ("in_progress", "task.resumed"),
    "note": (None, None),  # internal note: same status, nothing published
    "resolve": ("resolved", "task.resolved"),
    "return": ("returned", "task.returned"),
    "transfer": ("dispatched", "task.transferred"),
    "extend": (None, "task.extension_requested"),
    "dispatch": ("dispatched", "task.dispatched"),
    "assign": (None, None),
    "duplicate": ("duplicate", "task.duplicate"),
    "not-accept": ("not_accepted", "task.not_accepted"),
    "approve-reply": ("resolved", "task.resolved"),
    "send-back": ("in_progress", None),
}


def actor_for(task: Task, action: str) -> Actor:
    """Someone with the role and the scope for `action` on `task` (so only the status decides)."""
    spec = lc.SPECS[action]
    if task.team_id is None or not set(spec.roles) & {"member", "lead"}:
        return SUPERVISOR if "supervisor" in spec.roles else member(TEAM)
    if "member" in spec.roles:
        return Actor(task.assignee, "member", task.team_id) if task.assignee else member(task.team_id)
    return lead(task.team_id)


def test_the_legal_actions_of_every_status() -> None:
    assert set(LEGAL) == set(STATUSES)
    for status, legal in LEGAL.items():
        task = task_in(status)
        assert task.status == status
        assert set(lc.legal_actions(task)) == legal, status


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("action", [a for a in lc.SPECS if a not in ("approve-extension", "deny-extension")])
def test_every_action_in_every_status(status: str, action: str) -> None:
    task = task_in(status)
    ctx = context(original=new_task()) if action == "duplicate" else CTX
    actor = actor_for(task, action)
    if action in LEGAL[status]:
        outcome = lc.act(task, PARAMS[action], actor, ctx, T0 + timedelta(minutes=5))
        expected_status, expected_event = RESULT[action]
        assert outcome.task.status == (expected_status or status)
        assert [e.type for e in outcome.events] == ([expected_event] if expected_event else [])
        assert outcome.task.rev == task.rev + 1
        assert outcome.task.history[-1].action == action
    elif not lc.visible(task, actor):
        with pytest.raises(NotVisible):
            lc.act(task, PARAMS[action], actor, ctx, T0)
    else:
        with pytest.raises(IllegalTransition) as err:
            lc.act(task, PARAMS[action], actor, ctx, T0)
        assert set(err.value.allowed) == LEGAL[status]
        assert f"`{action}` is not possible while the task is `{status}`" in str(err.value)


@pytest.mark.parametrize("status", STATUSES)
def test_extension_decisions_need_a_pending_request(status: str) -> None:
    task = task_in(status)
    for action in ("approve-extension", "deny-extension"):
        if task.status in lc.SPECS[action].statuses:
            with pytest.raises(Conflict, match="no extension request"):
                lc.act(task, PARAMS[action], lead(TEAM), CTX, T0)
            pending = step(task, "extend", ASSIGNEE)
            after = step(pending, action, lead(TEAM))
            assert after.extension is not None
            assert after.extension.status == ("approved" if action == "approve-extension" else "denied")
        elif task.team_id is not None:
            with pytest.raises(IllegalTransition):
                lc.act(task, PARAMS[action], lead(TEAM), CTX, T0)


@pytest.mark.parametrize("status", STATUSES)
def test_system_transitions_in_every_status(status: str) -> None:
    task = task_in(status)
    open_ = status in ("dispatched", "claimed", "in_progress", "on_hold", "returned", "reopened", "awaiting_review")
    if open_:
        assert lc.cancel(task, None, CTX, T0, None).task.status == "cancelled"
    else:
        with pytest.raises(IllegalTransition):
            lc.cancel(task, None, CTX, T0, None)
    closed = lc.feedback(task, fb("fairly_satisfied"), CTX, T0, None)
    reopened = lc.feedback(task, fb("dissatisfied"), CTX, T0, None)
    if status == "resolved":
        assert (closed.task.status, closed.task.closed_reason, closed.events[0].type) == (
            "closed",
            "fairly_satisfied",
            "task.closed",
        )
        assert (reopened.task.status, reopened.events[0].type) == ("reopened", "task.reopened")
        # 回访: the dissatisfied resident gets a call-back from the desk, in the same write
        assert [e.type for e in reopened.events] == ["task.reopened", "task.followup_opened"]
        assert reopened.task.followup_team == "community_work_group"
    else:  # recorded for the ledgers, nothing changes, nothing is published
        for outcome in (closed, reopened):
            assert outcome.task.status == status
            assert outcome.task.feedback[-1].applied is False
        assert closed.events == []
        # ... except a call-back for a dissatisfied rating on a closed task (a late rating after the auto-close)
        assert [e.type for e in reopened.events] == (["task.followup_opened"] if status == "closed" else [])


# -- what the transitions change ----------------------------------------------------------------------------


def test_a_new_task_is_dispatched_with_its_rule_clock_and_first_event() -> None:
    task = new_task(submitted("property_repair", "厨房水管漏水", at=T0))
    assert (task.status, task.team_id, task.priority, task.priority_rank) == ("dispatched", TEAM, "urgent", 0)
    assert task.decision is not None and task.decision.team_rule == "repair@1"
    assert task.decision.priority_rules == ["urgent-words@1"]
    assert task.assignee == f"{TEAM}.member" and task.decision.assignee_rule == f"team:{TEAM}:load"
    assert task.seq == 1 and task.rev == 1
    assert task.history[0].action == "dispatch" and task.history[0].event_type == "task.dispatched"
    # urgent: claim within 30 working minutes, handle the same working day (team hours 08:00-18:00)
    assert task.claim_due_at == local(2026, 11, 24, 9, 30)
    assert task.due_at == local(2026, 11, 24, 18)


def test_events_carry_the_state_after_the_change_and_increasing_seq() -> None:
    task = new_task(submitted(at=T0))
    claimed = lc.act(task, cmd.Claim(), ASSIGNEE, CTX, T0)
    started = lc.act(claimed.task, cmd.Start(public_note="师傅下午上门"), ASSIGNEE, CTX, T0)
    (event,) = started.events
    data = event.data
    assert event.seq == 3 and event.type == "task.started" and event.correlation_id == task.id
    assert data["status"] == "in_progress" and data["team"]["id"] == TEAM and data["assignee"] == ASSIGNEE.username
    assert data["public_note"] == "师傅下午上门" and data["actor"] == ASSIGNEE.username
    assert data["due_at"] is not None and started.task.seq == 3


def test_claim_starts_the_handling_clock() -> None:
    task = new_task(submitted(at=T0))
    at = local(2026, 11, 24, 10)
    claimed = step(task, "claim", member(TEAM, "member2"), at=at)
    assert claimed.assignee == f"{TEAM}.member2" and claimed.claimed_at == at
    assert claimed.handle_due_at == local(2026, 12, 1, 10)  # 5 working days
    assert claimed.due_at == claimed.handle_due_at


def test_hold_stops_the_clock_and_resume_restarts_it_with_what_was_left() -> None:
    claimed = step(new_task(submitted(at=T0)), "claim", ASSIGNEE, at=T0)
    due = claimed.handle_due_at
    assert due is not None
    held = step(claimed, "hold", ASSIGNEE, at=local(2026, 11, 25, 9))
    resumed = step(held, "resume", ASSIGNEE, at=local(2026, 11, 27, 9))
    assert resumed.status == "in_progress" and resumed.hold is None
    assert resumed.handle_due_at == local(2026, 12, 3, 9)  # two working days later than planned


def test_an_approved_extension_moves_the_due_time_and_a_denied_one_does_not() -> None:
    claimed = step(new_task(submitted(at=T0)), "claim", ASSIGNEE)
    requested = step(claimed, "extend", ASSIGNEE, cmd.Extend(reason="parts", requested_due_at=local(2026, 12, 8, 17)))
    assert requested.extension is not None and requested.extension.status == "requested"
    with pytest.raises(Conflict, match="already waiting"):
        step(requested, "extend", ASSIGNEE)
    approved = step(requested, "approve-extension", lead(TEAM))
    assert approved.handle_due_at == approved.due_at == local(2026, 12, 8, 17)
    denied = step(requested, "deny-extension", lead(TEAM))
    assert denied.handle_due_at == claimed.handle_due_at
    with pytest.raises(Invalid, match="requested_due_at"):
        step(claimed, "extend", ASSIGNEE, cmd.Extend(reason="x", requested_due_at=T0))


def test_resolve_publishes_the_reply_as_the_public_note() -> None:
    claimed = step(new_task(submitted(at=T0)), "claim", ASSIGNEE)
    outcome = lc.act(claimed, cmd.Resolve(reply="已修好"), ASSIGNEE, CTX, T0)
    assert outcome.task.public_note == outcome.task.reply == "已修好"
    assert outcome.events[0].data["reply"] == outcome.events[0].data["public_note"] == "已修好"
    assert outcome.task.resolved_on_time is True
    late = lc.act(claimed, cmd.Resolve(reply="x"), ASSIGNEE, CTX, local(2026, 12, 20, 9))
    assert late.task.resolved_on_time is False


def test_return_sends_the_task_back_to_the_supervisors_without_a_team() -> None:
    outcome = lc.act(new_task(submitted(at=T0)), cmd.Return(reason_code="wrong_locality"), ASSIGNEE, CTX, T0)
    task = outcome.task
    assert (task.status, task.team_id, task.assignee, task.reason_code) == ("returned", None, None, "wrong_locality")
    assert outcome.events[0].data["returned_by_team"]["id"] == TEAM and outcome.events[0].data["team"] is None
    with pytest.raises(Exception, match="note"):
        cmd.Return(reason_code="other")
    with pytest.raises(Exception, match="reason_code"):
        cmd.Return(reason_code="bored")


def test_a_supervisor_redispatches_a_returned_task_with_a_new_claim_clock() -> None:
    returned = step(new_task(submitted(at=T0)), "return", ASSIGNEE)
    later = local(2026, 11, 25, 9)
    outcome = lc.act(returned, cmd.Dispatch(team_id="community_work_group"), SUPERVISOR, CTX, later)
    task = outcome.task
    assert (task.status, task.team_id, task.dispatched_at) == ("dispatched", "community_work_group", later)
    assert task.decision is not None and task.decision.team_rule == "manual:supervisor"
    assert outcome.events[0].data["redispatch"] is True and outcome.events[0].data["rule"] == "manual:supervisor"
    assert task.claim_due_at == local(2026, 11, 25, 14, 30)  # 4 working hours, lunch (12:00-13:30) skipped


def test_transfer_moves_the_task_to_another_team_and_restarts_the_claim_clock() -> None:
    claimed = step(new_task(submitted(at=T0)), "claim", ASSIGNEE)
    outcome = lc.act(claimed, PARAMS["transfer"], lead(TEAM), CTX, T0)
    task = outcome.task
    assert (task.status, task.team_id, task.assignee) == ("dispatched", "community_work_group", None)
    assert outcome.events[0].data["from_team"]["id"] == TEAM and task.counts.transfers == 1
    with pytest.raises(Invalid, match="already with this team"):
        step(claimed, "transfer", lead(TEAM), cmd.Transfer(team_id=TEAM, reason="x"))
    with pytest.raises(Invalid, match="unknown team"):
        step(claimed, "transfer", lead(TEAM), cmd.Transfer(team_id="nope", reason="x"))


def test_assignment_by_load_picks_the_least_busy_member_on_duty() -> None:
    ctx = context(loads={f"{TEAM}.member": 5, f"{TEAM}.member2": 1})
    assert new_task(ctx=ctx).assignee == f"{TEAM}.member2"
    staff = tuple(
        s if s.username != f"{TEAM}.member2" else type(s)(**{**s.__dict__, "on_duty": False}) for s in CTX.staff
    )
    assert new_task(ctx=context(staff=staff, loads=ctx.loads)).assignee == f"{TEAM}.member"
    # queue teams leave it to whoever claims it
    queued = new_task(submitted("legal_aid", "合同纠纷"))
    assert queued.assignee is None and queued.decision is not None
    assert queued.decision.assignee_rule == "team:legal_aid:queue"


def test_assign_and_dispatch_name_only_members_of_the_team() -> None:
    task = new_task()
    with pytest.raises(Invalid, match="not an active member"):
        step(task, "assign", lead(TEAM), cmd.Assign(assignee="legal_aid.member"))
    returned = step(task, "return", ASSIGNEE)
    with pytest.raises(Invalid, match="not an active member"):
        step(returned, "dispatch", SUPERVISOR, cmd.Dispatch(team_id="legal_aid", assignee=ASSIGNEE.username))


def test_duplicate_links_to_its_original() -> None:
    original = new_task()
    outcome = lc.act(
        new_task(),
        cmd.Duplicate(original=original.tracking_code),
        ASSIGNEE,
        context(original=original),
        T0,
    )
    assert outcome.task.duplicate_of == original.id
    assert outcome.events[0].data["original_request_id"] == original.id
    # Neither the event nor the history carries the original's tracking code (another resident's key).
    assert outcome.events[0].data.get("original_tracking_code") is None
    assert original.tracking_code not in outcome.task.model_dump_json()
    with pytest.raises(Invalid, match="no task"):
        step(new_task(), "duplicate", ASSIGNEE, cmd.Duplicate(original="nope"))


def test_duplicate_of_another_teams_request_answers_as_if_it_did_not_exist() -> None:
    theirs = new_task().model_copy(update={"team_id": "property"})
    assert theirs.team_id != ASSIGNEE.team
    errors = []
    for original, name in ((theirs, theirs.tracking_code), (None, "HY0000000999")):
        with pytest.raises(Invalid) as caught:
            lc.act(new_task(), cmd.Duplicate(original=name), ASSIGNEE, context(original=original), T0)
        errors.append((caught.value.field, str(caught.value).replace(name, "<id>")))
    assert errors[0] == errors[1] and errors[0][0] == "original"
    assert theirs.tracking_code not in str(errors)


def test_a_lead_cannot_approve_their_own_extension() -> None:
    the_lead = lead(TEAM)
    claimed = step(new_task(), "claim", the_lead)
    asked = step(claimed, "extend", the_lead, cmd.Extend(working_days=2, reason="parts on order"))
    assert "approve-extension" not in lc.allowed_actions(asked, the_lead)
    with pytest.raises(Forbidden, match="another lead or a supervisor"):
        step(asked, "approve-extension", the_lead)
    approved = step(asked, "approve-extension", SUPERVISOR)
    assert approved.extension is not None and approved.extension.status == "approved"


def test_notes_internal_stay_inside_public_are_published() -> None:
    task = new_task()
    internal = lc.act(task, cmd.Note(text="resident is hard of hearing"), ASSIGNEE, CTX, T0)
    assert internal.events == [] and internal.task.seq == task.seq and internal.task.public_note is None
    assert internal.task.history[-1].visibility == "internal"
    public = lc.act(task, cmd.Note(text="师傅明天上午到", visibility="public"), ASSIGNEE, CTX, T0)
    assert public.events[0].type == "task.noted" and public.task.public_note == "师傅明天上午到"


def test_reopen_sends_the_task_back_to_the_same_team_with_a_new_clock() -> None:
    resolved = task_in("resolved")
    later = local(2026, 11, 26, 9)
    outcome = lc.feedback(resolved, fb("dissatisfied"), CTX, later, "cause-1")
    task = outcome.task
    assert (task.status, task.team_id, task.counts.reopens, task.dispatched_at) == ("reopened", TEAM, 1, later)
    assert outcome.events[0].causation_id == "cause-1"
    claimed = step(task, "claim", ASSIGNEE, at=later)
    assert claimed.status == "claimed" and claimed.handle_due_at == local(2026, 12, 3, 9)


# -- who may act ------------------------------------------------------------------------------------------


def test_another_teams_staff_do_not_see_the_task() -> None:
    task = new_task()
    for actor in (member("legal_aid"), lead("legal_aid")):
        assert not lc.visible(task, actor) and lc.allowed_actions(task, actor) == []
        with pytest.raises(NotVisible):
            lc.act(task, cmd.Claim(), actor, CTX, T0)


def test_members_may_not_do_what_leads_and_supervisors_do() -> None:
    task = new_task()
    with pytest.raises(Forbidden, match="team lead"):
        step(task, "transfer", ASSIGNEE)
    with pytest.raises(Forbidden, match="supervisor"):
        step(task, "dispatch", lead(TEAM))
    pending = step(step(task, "claim", ASSIGNEE), "extend", ASSIGNEE)
    with pytest.raises(Forbidden, match="team lead"):
        step(pending, "approve-extension", ASSIGNEE)


def test_only_the_assignee_or_a_lead_works_a_claimed_task() -> None:
    claimed = step(new_task(), "claim", ASSIGNEE)
    other = member(TEAM, "member2")
    with pytest.raises(Forbidden, match=f"assigned to {ASSIGNEE.username}"):
        step(claimed, "resolve", other)
    assert step(claimed, "resolve", lead(TEAM)).status == "resolved"
    # before the claim, anyone in the team may claim or return it
    assert step(new_task(), "return", other).status == "returned"


def test_supervisors_see_everything_but_do_not_claim() -> None:
    task = new_task()
    assert lc.visible(task, SUPERVISOR)
    assert set(lc.allowed_actions(task, SUPERVISOR)) == {
        "note",
        "transfer",
        "dispatch",
        "assign",
        "duplicate",
        "not-accept",
    }
    with pytest.raises(Forbidden):
        step(task, "claim", SUPERVISOR)


def test_allowed_actions_are_what_the_caller_can_do_now() -> None:
    task = new_task()
    assert set(lc.allowed_actions(task, ASSIGNEE)) == {"claim", "note", "return", "duplicate"}
    assert set(lc.allowed_actions(task, lead(TEAM))) == {
        "claim",
        "note",
        "return",
        "transfer",
        "assign",
        "duplicate",
        "not-accept",
    }
    claimed = step(task, "claim", ASSIGNEE)
    assert set(lc.allowed_actions(claimed, member(TEAM, "member2"))) == {"note", "duplicate"}


def test_the_system_actor_is_not_a_staff_member() -> None:
    assert SYSTEM.sees_everything and SYSTEM.username == "system"


def test_an_extension_is_at_most_a_year() -> None:
    claimed = step(new_task(), "claim", ASSIGNEE)
    far = cmd.Extend(reason="x", requested_due_at=T0 + timedelta(days=400))
    with pytest.raises(Invalid, match="within a year"):
        step(claimed, "extend", ASSIGNEE, far)
