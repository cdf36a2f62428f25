"""The work-order lifecycle (DESIGN §3): who may do what, in which status, and what it changes. Pure.

Every transition takes a task snapshot and returns an `Outcome`: the task after the change, the events
it publishes (with `seq` following the snapshot's) and the history entries it adds. The store writes all
of it in one conditional update (the snapshot's `rev` and `status` in the filter), so two people
clicking at once cannot both succeed.

    dispatched --claim--> claimed --start--> in_progress --resolve--> resolved --(feedback ok / N days)--> closed
        |  ^                 |  \\--hold--> on_hold --resume--> in_progress        \\--(dissatisfied)--> reopened
        |  '--dispatch--- returned <--return-- (dispatched, claimed, in_progress, reopened)
        '--transfer--> dispatched (another team)      reopened --claim--> claimed
    not-accept / duplicate / cancel end the task from the open statuses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from services.routing import sla
from services.routing.domain import (
    OPEN_STATUSES,
    PRODUCER,
    STATUSES,
    SYSTEM,
    Actor,
    Conflict,
    Context,
    Decision,
    Extension,
    Feedback,
    Forbidden,
    HistoryEntry,
    Hold,
    IllegalTransition,
    Invalid,
    Marks,
    NotVisible,
    SlaMarks,
    StaffInfo,
    Task,
)
from services.routing.rules import RoutingDecision, priority_rank
from shared.events import Envelope, EventData, RequestNotAccepted, RequestSubmitted, new_event
from shared.events.tasks import (
    StaffRecipient,
    TaskCancelled,
    TaskClaimed,
    TaskClosed,
    TaskDispatched,
    TaskDuplicate,
    TaskEscalated,
    TaskExtensionApproved,
    TaskExtensionDenied,
    TaskExtensionRequested,
    TaskHeld,
    TaskNotAccepted,
    TaskNoted,
    TaskReminder,
    TaskReopened,
    TaskResolved,
    TaskResumed,
    TaskReturned,
    TaskStarted,
    TaskTransferred,
)

# -- reasons ---------------------------------------------------------------------------------------------

RETURN_REASONS: dict[str, dict[str, str]] = {
    "wrong_locality": {"zh-CN": "不属本辖区", "en": "Wrong locality"},
    "outside_remit": {"zh-CN": "不属本部门职责", "en": "Outside our remit"},
    "insufficient_information": {"zh-CN": "信息不全，无法办理", "en": "Not enough information"},
    "misrouted": {"zh-CN": "派单错误", "en": "Sent to the wrong team"},
    "other": {"zh-CN": "其他原因", "en": "Other"},
}
NOT_ACCEPT_REASONS: dict[str, dict[str, str]] = {
    "emergency": {"zh-CN": "紧急情况，请拨打110/119/120", "en": "Emergency: call 110 / 119 / 120"},
    "in_litigation": {"zh-CN": "已进入诉讼或仲裁程序", "en": "In litigation or arbitration"},
    "other_authority": {"zh-CN": "属其他机关职权", "en": "For another authority"},
    "not_actionable": {"zh-CN": "诉求无法受理", "en": "Not something we can act on"},
    "other": {"zh-CN": "其他原因", "en": "Other"},
}

# -- parameters of the staff actions (the HTTP bodies) ---------------------------------------------------

Text = Field(min_length=1, max_length=2000)
OptionalText = Field(None, min_length=1, max_length=2000)


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    note: str | None = Field(None, min_length=1, max_length=2000, description="an internal note for the history")


class ClaimParams(_Params):
    pass


class StartParams(_Params):
    public_note: str | None = OptionalText


class HoldParams(_Params):
    reason: str = Field(min_length=1, max_length=500, description="why the work waits (internal)")
    public_note: str | None = OptionalText


class ResumeParams(_Params):
    public_note: str | None = OptionalText


class NoteParams(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    text: str = Text
    visibility: Literal["internal", "public"] = "internal"


class ResolveParams(_Params):
    reply: str = Field(min_length=1, max_length=2000, description="the public reply the resident receives (办结)")


class ReturnParams(_Params):
    reason_code: str = Field(description=f"one of {', '.join(RETURN_REASONS)}")
    public_note: str | None = OptionalText

    @model_validator(mode="after")
    def _known_reason(self) -> ReturnParams:
        if self.reason_code not in RETURN_REASONS:
            raise ValueError(f"reason_code must be one of {', '.join(RETURN_REASONS)}")
        if self.reason_code == "other" and not self.note:
            raise ValueError("reason_code `other` needs a `note` saying why")
        return self


class TransferParams(_Params):
    team_id: str = Field(min_length=1, max_length=60)
    reason: str = Field(min_length=1, max_length=500)
    assignee: str | None = Field(None, max_length=100)
    public_note: str | None = OptionalText


class ExtendParams(_Params):
    reason: str = Field(min_length=1, max_length=500)
    requested_due_at: AwareDatetime | None = None
    working_days: int | None = Field(None, ge=1, le=60, description="extend the handling limit by this many")

    @model_validator(mode="after")
    def _one_of(self) -> ExtendParams:
        if (self.requested_due_at is None) == (self.working_days is None):
            raise ValueError("give either requested_due_at (an ISO 8601 time with a zone) or working_days")
        return self


class DecideExtensionParams(_Params):
    pass


class DispatchParams(_Params):
    team_id: str = Field(min_length=1, max_length=60)
    priority: Literal["low", "normal", "high", "urgent"] | None = None
    assignee: str | None = Field(None, max_length=100)


class AssignParams(_Params):
    assignee: str = Field(min_length=1, max_length=100)


class DuplicateParams(_Params):
    original: str = Field(min_length=1, max_length=100, description="the original's request id or tracking code")
    public_note: str | None = OptionalText


class NotAcceptParams(_Params):
    reason_code: str = Field(description=f"one of {', '.join(NOT_ACCEPT_REASONS)}")
    public_note: str = Field(min_length=1, max_length=2000, description="the referral the resident receives")

    @model_validator(mode="after")
    def _known_reason(self) -> NotAcceptParams:
        if self.reason_code not in NOT_ACCEPT_REASONS:
            raise ValueError(f"reason_code must be one of {', '.join(NOT_ACCEPT_REASONS)}")
        return self


# -- who may do what, when -------------------------------------------------------------------------------

TEAM = ("member", "lead")
LEADS = ("lead", "supervisor", "admin")
SUPERVISORS = ("supervisor", "admin")
Scope = Literal["team", "assignee", "assignee_once_claimed", "anyone"]


@dataclass(frozen=True)
class Spec:
    name: str
    statuses: frozenset[str]
    roles: tuple[str, ...]
    scope: Scope
    params: type[BaseModel]
    label: dict[str, str]


def _spec(name: str, statuses: tuple[str, ...], roles: tuple[str, ...], scope: Scope, params: Any, zh: str) -> Spec:
    return Spec(name, frozenset(statuses), roles, scope, params, {"zh-CN": zh, "en": name.replace("-", " ")})


_WORKING = ("claimed", "in_progress", "on_hold")
SPECS: dict[str, Spec] = {
    s.name: s
    for s in (
        _spec("claim", ("dispatched", "reopened"), TEAM, "team", ClaimParams, "签收"),
        _spec("start", ("claimed",), TEAM, "assignee", StartParams, "开始办理"),
        _spec("hold", ("claimed", "in_progress"), TEAM, "assignee", HoldParams, "挂起"),
        _spec("resume", ("on_hold",), TEAM, "assignee", ResumeParams, "恢复办理"),
        _spec("note", STATUSES, TEAM + SUPERVISORS, "team", NoteParams, "备注"),
        _spec("resolve", ("claimed", "in_progress"), TEAM, "assignee", ResolveParams, "办结"),
        _spec(
            "return",
            ("dispatched", "claimed", "in_progress", "reopened"),
            TEAM,
            "assignee_once_claimed",
            ReturnParams,
            "退单",
        ),
        _spec("transfer", ("dispatched", *_WORKING, "reopened"), LEADS, "team", TransferParams, "转派"),
        _spec("extend", _WORKING, TEAM, "assignee", ExtendParams, "申请延期"),
        _spec("approve-extension", _WORKING, LEADS, "team", DecideExtensionParams, "批准延期"),
        _spec("deny-extension", _WORKING, LEADS, "team", DecideExtensionParams, "驳回延期"),
        _spec("dispatch", ("returned", "dispatched", "reopened"), SUPERVISORS, "anyone", DispatchParams, "派单"),
        _spec("assign", ("dispatched", "reopened"), LEADS, "team", AssignParams, "指派"),
        _spec(
            "duplicate",
            ("dispatched", *_WORKING, "returned", "reopened"),
            TEAM + SUPERVISORS,
            "team",
            DuplicateParams,
            "重复件",
        ),
        _spec(
            "not-accept", ("dispatched", "claimed", "returned", "reopened"), LEADS, "team", NotAcceptParams, "不受理"
        ),
    )
}
# What the system does on events and on the clock (not reachable over HTTP).
SYSTEM_ACTIONS: dict[str, frozenset[str]] = {
    "cancel": frozenset(OPEN_STATUSES),
    "close": frozenset({"resolved"}),
    "reopen": frozenset({"resolved"}),
}

ROLE_NAMES = {"member": "team member", "lead": "team lead", "supervisor": "supervisor", "admin": "admin"}


def visible(task: Task, actor: Actor) -> bool:
    return actor.sees_everything or (actor.team is not None and actor.team == task.team_id)


def _scope_problem(spec: Spec, task: Task, actor: Actor) -> str | None:
    if actor.sees_everything or actor.role == "lead":
        return None
    needs_assignee = spec.scope == "assignee" or (
        spec.scope == "assignee_once_claimed" and task.status not in ("dispatched", "reopened")
    )
    if needs_assignee and task.assignee != actor.username:
        who = f"assigned to {task.assignee}" if task.assignee else "not assigned to you"
        return f"the task is {who}; only its assignee or a team lead may {spec.name} it"
    return None


def _precondition_problem(spec: Spec, task: Task) -> str | None:
    pending = task.extension is not None and task.extension.status == "requested"
    if spec.name == "extend" and pending:
        return "an extension request is already waiting for a lead's decision"
    if spec.name in ("approve-extension", "deny-extension") and not pending:
        return "no extension request is waiting for a decision"
    return None


def legal_actions(task: Task) -> list[str]:
    """The staff actions the lifecycle allows in the task's status (whoever asks)."""
    return [s.name for s in SPECS.values() if task.status in s.statuses and _precondition_problem(s, task) is None]


def allowed_actions(task: Task, actor: Actor) -> list[str]:
    """The actions `actor` can take on `task` right now (what a console shows as buttons)."""
    if not visible(task, actor):
        return []
    return [
        s.name
        for s in SPECS.values()
        if actor.role in s.roles
        and task.status in s.statuses
        and _scope_problem(s, task, actor) is None
        and _precondition_problem(s, task) is None
    ]


def check(task: Task, actor: Actor, action: str) -> Spec:
    """Raise the error the caller deserves (404, 403, 409) or return the action's spec."""
    if not visible(task, actor):
        raise NotVisible(task.id)
    spec = SPECS.get(action)
    if spec is None:
        raise Invalid("action", f"unknown action {action!r}; one of {', '.join(SPECS)}")
    if actor.role not in spec.roles:
        roles = " or ".join(ROLE_NAMES[r] for r in spec.roles)
        raise Forbidden(f"only a {roles} may {action} a task")
    if task.status not in spec.statuses:
        raise IllegalTransition(action, task.status, legal_actions(task), allowed_actions(task, actor))
    problem = _scope_problem(spec, task, actor)
    if problem:
        raise Forbidden(problem)
    problem = _precondition_problem(spec, task)
    if problem:
        raise Conflict(problem, legal_actions(task), allowed_actions(task, actor))
    return spec


# -- outcomes ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    before: Task
    task: Task  # after: seq, rev, history and next_check_at already updated
    events: list[Envelope]
    history: list[HistoryEntry]  # the entries this change adds


class _Change:
    """Collects what one transition does, then seals it into an Outcome."""

    def __init__(self, task: Task, ctx: Context, actor: Actor, now: datetime, causation_id: str | None) -> None:
        self.before = task
        self.task = task.model_copy(deep=True)
        self.ctx, self.actor, self.now, self.causation_id = ctx, actor, now, causation_id
        self.payloads: list[EventData] = []
        self.entries: list[tuple[HistoryEntry, int | None]] = []  # entry, index of its event

    def event(self, cls: type[EventData], **extra: Any) -> None:
        t = self.task
        self.payloads.append(
            cls(
                request_id=t.id,
                tracking_code=t.tracking_code,
                status=t.status,
                team=self.ctx.team_ref(t.team_id),
                assignee=t.assignee,
                priority=t.priority,
                due_at=t.due_at,
                public_note=t.public_note,
                actor=self.actor.username,
                **extra,
            )
        )

    def record(self, action: str, *, with_event: bool = True, **fields: Any) -> None:
        t = self.task
        entry = HistoryEntry(
            at=self.now,
            action=action,
            actor=self.actor.username,
            status=t.status,
            from_status=self.before.status,
            team_id=t.team_id,
            assignee=t.assignee,
            **fields,
        )
        self.entries.append((entry, len(self.payloads) - 1 if with_event and self.payloads else None))

    def seal(self) -> Outcome:
        t = self.task
        events = [
            new_event(
                p, producer=PRODUCER, seq=self.before.seq + i + 1, causation_id=self.causation_id, occurred_at=self.now
            )
            for i, p in enumerate(self.payloads)
        ]
        history = []
        for entry, index in self.entries:
            if index is not None:
                entry = entry.model_copy(
                    update={"event_id": str(events[index].event_id), "event_type": events[index].type}
                )
            history.append(entry)
        t.seq = self.before.seq + len(events)
        t.rev = self.before.rev + 1
        t.history = [*self.before.history, *history]
        t.priority_rank = priority_rank(t.priority)
        t.next_check_at = next_check(t, self.ctx)
        return Outcome(self.before, t, events, history)


# -- the clocks ---------------------------------------------------------------------------------------------


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


def _clock(task: Task) -> sla.ClockState | None:
    if task.status in ("dispatched", "reopened") and task.claim_due_at and task.dispatched_at:
        m = task.sla.claim
        return sla.ClockState(
            "claim", task.dispatched_at, task.claim_due_at, bool(m.reminded_at), bool(m.lead_at), bool(m.supervisor_at)
        )
    if task.status in ("claimed", "in_progress") and task.handle_due_at and task.claimed_at:
        m = task.sla.handle
        return sla.ClockState(
            "handle", task.claimed_at, task.handle_due_at, bool(m.reminded_at), bool(m.lead_at), bool(m.supervisor_at)
        )
    return None


def next_check(task: Task, ctx: Context) -> datetime | None:
    """When the SLA sweeper must look at this task next (None: never, as things stand)."""
    if task.status == "resolved" and task.resolved_at is not None:
        return task.resolved_at + ctx.policy.auto_close_after
    clock = _clock(task)
    if clock is None:
        return None
    return sla.next_check(clock, ctx.policy, ctx.calendar_for(task.team_id))


def is_overdue(task: Task, now: datetime) -> bool:
    clock = _clock(task)
    if clock is None:
        return (
            task.status == "on_hold"
            and task.handle_due_at is not None
            and task.hold is not None
            and (task.hold.since >= task.handle_due_at)
        )
    return now >= clock.due_at


# -- choosing an assignee ---------------------------------------------------------------------------------


def choose_assignee(team_id: str, ctx: Context) -> tuple[str | None, str]:
    """The team's setting: `load` proposes the member on duty with the fewest open tasks (ties: by name);
    `queue` (or nobody on duty) leaves the task in the team queue."""
    team = ctx.directory.team(team_id)
    if team.assignment != "load":
        return None, f"team:{team_id}:queue"
    on_duty = [s for s in ctx.members(team_id, ("member",)) if s.on_duty]
    if not on_duty:
        return None, f"team:{team_id}:load:nobody-on-duty"
    chosen = min(on_duty, key=lambda s: (ctx.loads.get(s.username, 0), s.username))
    return chosen.username, f"team:{team_id}:load"


def _team_member(ctx: Context, team_id: str, username: str, field: str) -> StaffInfo:
    person = ctx.person(username)
    if person is None or not person.active or person.team != team_id or person.role not in TEAM:
        raise Invalid(field, f"{username!r} is not an active member of team {team_id}")
    return person


def _known_team(ctx: Context, team_id: str) -> None:
    if not ctx.directory.has(team_id):
        known = ", ".join(t.id for t in ctx.directory.teams)
        raise Invalid("team_id", f"unknown team {team_id!r}; one of {known}")


# -- new tasks -------------------------------------------------------------------------------------------


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
        vulnerability=list(submitted.resident.vulnerability),
        attributes=dict(submitted.attributes),
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
    )
    change = _Change(task, ctx, SYSTEM, now, causation_id)
    start_claim_clock(change.task, ctx, now)
    change.event(TaskDispatched, rule=decision.team_rule, priority_rules=list(decision.priority_rules))
    change.record(
        "dispatch",
        details={
            "rule": decision.team_rule,
            "priority_rules": list(decision.priority_rules),
            "assignee_rule": assignee_rule,
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
            details={"referral": data.referral, "at_front_door": True},
        )
    ]
    return task


# -- staff transitions ------------------------------------------------------------------------------------

Transition = Callable[["_Change", Any], None]


def _claim(c: _Change, p: ClaimParams) -> None:
    c.task.status = "claimed"
    c.task.assignee = c.actor.username
    start_handle_clock(c.task, c.ctx, c.now)
    c.event(TaskClaimed)
    c.record("claim", note=p.note, visibility="internal" if p.note else None)


def _start(c: _Change, p: StartParams) -> None:
    c.task.status = "in_progress"
    c.task.started_at = c.task.started_at or c.now
    _public(c, p.public_note)
    c.event(TaskStarted)
    c.record("start", note=p.note, visibility="internal" if p.note else None)


def _hold(c: _Change, p: HoldParams) -> None:
    c.task.status = "on_hold"
    c.task.hold = Hold(since=c.now, reason=p.reason, by=c.actor.username)
    _public(c, p.public_note)
    c.event(TaskHeld)
    c.record("hold", note=p.note, visibility="internal" if p.note else None, details={"reason": p.reason})


def _resume(c: _Change, p: ResumeParams) -> None:
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


def _note(c: _Change, p: NoteParams) -> None:
    if p.visibility == "public":
        c.task.public_note = p.text
        c.event(TaskNoted)
        c.record("note", note=p.text, visibility="public")
    else:
        c.record("note", note=p.text, visibility="internal", with_event=False)


def _resolve(c: _Change, p: ResolveParams) -> None:
    t = c.task
    t.status = "resolved"
    t.reply = t.public_note = p.reply
    t.resolved_at = c.now
    t.first_resolved_at = t.first_resolved_at or c.now
    t.resolved_on_time = t.handle_due_at is None or c.now <= t.handle_due_at
    if t.extension is not None and t.extension.status == "requested":
        t.extension = t.extension.model_copy(update={"status": "denied", "decision_note": "resolved before a decision"})
    c.event(TaskResolved, reply=p.reply)
    c.record("resolve", note=p.reply, visibility="public", details={"internal_note": p.note} if p.note else {})


def _return(c: _Change, p: ReturnParams) -> None:
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


def _redirect(c: _Change, team_id: str, assignee: str | None) -> str:
    """Send the task to `team_id` (transfer, dispatch): new claim clock, assignee chosen or given."""
    t = c.task
    t.team_id = team_id
    if assignee is not None:
        _team_member(c.ctx, team_id, assignee, "assignee")
        t.assignee, rule = assignee, f"manual:{c.actor.username}"
    else:
        t.assignee, rule = choose_assignee(team_id, c.ctx)
    t.status = "dispatched"
    start_claim_clock(t, c.ctx, c.now)
    return rule


def _transfer(c: _Change, p: TransferParams) -> None:
    _known_team(c.ctx, p.team_id)
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


def _extend(c: _Change, p: ExtendParams) -> None:
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


def _decide_extension(approve: bool) -> Transition:
    def decide(c: _Change, p: DecideExtensionParams) -> None:
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
            c.event(TaskExtensionApproved)
        else:
            c.event(TaskExtensionDenied)
        c.record(
            "approve-extension" if approve else "deny-extension",
            note=p.note,
            visibility="internal" if p.note else None,
            details={"requested_due_at": t.extension.requested_due_at.isoformat()},
        )

    return decide


def _dispatch(c: _Change, p: DispatchParams) -> None:
    _known_team(c.ctx, p.team_id)
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


def _assign(c: _Change, p: AssignParams) -> None:
    assert c.task.team_id is not None
    _team_member(c.ctx, c.task.team_id, p.assignee, "assignee")
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


def _duplicate(c: _Change, p: DuplicateParams) -> None:
    original = c.ctx.original
    if original is None:
        raise Invalid("original", f"no task with request id or tracking code {p.original!r}")
    if original.id == c.task.id:
        raise Invalid("original", "a task cannot duplicate itself")
    c.task.status = "duplicate"
    c.task.duplicate_of = original.id
    c.task.closed_at = c.now
    _public(c, p.public_note)
    c.event(TaskDuplicate, original_request_id=original.id, original_tracking_code=original.tracking_code)
    c.record(
        "duplicate",
        note=p.note,
        visibility="internal" if p.note else None,
        details={"original_request_id": original.id, "original_tracking_code": original.tracking_code},
    )


def _not_accept(c: _Change, p: NotAcceptParams) -> None:
    c.task.status = "not_accepted"
    c.task.reason_code = p.reason_code
    c.task.closed_at = c.now
    c.task.public_note = p.public_note
    c.event(TaskNotAccepted, reason_code=p.reason_code)
    c.record("not-accept", reason_code=p.reason_code, note=p.public_note, visibility="public")


def _public(c: _Change, text: str | None) -> None:
    if text:
        c.task.public_note = text


TRANSITIONS: dict[str, Transition] = {
    "claim": _claim,
    "start": _start,
    "hold": _hold,
    "resume": _resume,
    "note": _note,
    "resolve": _resolve,
    "return": _return,
    "transfer": _transfer,
    "extend": _extend,
    "approve-extension": _decide_extension(True),
    "deny-extension": _decide_extension(False),
    "dispatch": _dispatch,
    "assign": _assign,
    "duplicate": _duplicate,
    "not-accept": _not_accept,
}


def act(task: Task, action: str, actor: Actor, params: BaseModel, ctx: Context, now: datetime) -> Outcome:
    """A staff action: checked (404/403/409), applied, sealed."""
    spec = check(task, actor, action)
    if not isinstance(params, spec.params):
        raise Invalid("body", f"expected the parameters of `{action}`")
    change = _Change(task, ctx, actor, now, None)
    TRANSITIONS[action](change, params)
    return change.seal()


# -- system transitions (events from intake, the clock) ------------------------------------------------------


def _system_check(task: Task, action: str) -> None:
    if task.status not in SYSTEM_ACTIONS[action]:
        raise IllegalTransition(action, task.status, sorted(SYSTEM_ACTIONS[action]), [])


def cancel(task: Task, reason: str | None, ctx: Context, now: datetime, causation_id: str | None) -> Outcome:
    _system_check(task, "cancel")
    c = _Change(task, ctx, SYSTEM, now, causation_id)
    c.task.status = "cancelled"
    c.task.closed_at = now
    c.task.closed_reason = "cancelled"
    c.event(TaskCancelled)
    c.record("cancel", details={"reason": reason} if reason else {})
    return c.seal()


def feedback(task: Task, fb: Feedback, ctx: Context, now: datetime, causation_id: str | None) -> Outcome:
    """The resident's rating: closes a resolved task (satisfied / fairly satisfied) or reopens it (重办).
    On a task no longer `resolved` it is only recorded (it still counts for the satisfaction rate)."""
    c = _Change(task, ctx, SYSTEM, now, causation_id)
    t = c.task
    applies = task.status == "resolved"
    t.feedback = [*t.feedback, fb.model_copy(update={"applied": applies})]
    t.rating = fb.rating
    details = {"rating": fb.rating, "comment": fb.comment} if fb.comment else {"rating": fb.rating}
    if not applies:
        c.record("feedback", with_event=False, details=details)
    elif fb.rating == "dissatisfied":
        t.status = "reopened"
        t.counts.reopens += 1
        t.resolved_at = None
        start_claim_clock(t, ctx, now)
        c.event(TaskReopened)
        c.record("reopen", details=details)
    else:
        t.status = "closed"
        t.closed_at = now
        t.closed_reason = fb.rating
        c.event(TaskClosed, reason=fb.rating)
        c.record("close", details=details)
    return c.seal()


def _recipients(people: list[StaffInfo]) -> list[StaffRecipient]:
    seen: dict[str, StaffRecipient] = {}
    for person in people:
        seen.setdefault(person.username, person.recipient())
    return list(seen.values())


def sla_step(task: Task, ctx: Context, now: datetime) -> Outcome | None:
    """What the sweeper does to one task at `now`: reminders, 催办, 督办, auto-close. None: nothing due."""
    if task.status == "resolved" and task.resolved_at is not None:
        if now < task.resolved_at + ctx.policy.auto_close_after:
            return None
        c = _Change(task, ctx, SYSTEM, now, None)
        c.task.status = "closed"
        c.task.closed_at = now
        c.task.closed_reason = "no_feedback"
        c.event(TaskClosed, reason="no_feedback")
        c.record("close", details={"reason": "no_feedback", "days": ctx.policy.auto_close_after_days})
        return c.seal()
    clock = _clock(task)
    if clock is None:
        return None
    calendar = ctx.calendar_for(task.team_id)
    steps = sla.due_steps(clock, ctx.policy, calendar, now)
    if not steps:
        return None
    c = _Change(task, ctx, SYSTEM, now, None)
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
