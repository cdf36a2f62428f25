"""Who may do what, when: each staff action's statuses, roles and scope, and the error a refused caller
deserves (404 for another team's task, 403 for the wrong role or not the assignee, 409 for the wrong
status or something in the way)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from services.routing.domain.errors import Conflict, Forbidden, IllegalTransition, Invalid, NotVisible
from services.routing.domain.labels import ROLE_LABELS, action_term
from services.routing.domain.lifecycle import commands as c
from services.routing.domain.model import OPEN_STATUSES, STATUSES, Actor, Task
from shared.i18n import LocalizedText

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
    command: type[c.StaffCommand]

    @property
    def label(self) -> LocalizedText:
        return action_term(self.name)


def _spec(command: type[c.StaffCommand], statuses: tuple[str, ...], roles: tuple[str, ...], scope: Scope) -> Spec:
    return Spec(command.action, frozenset(statuses), roles, scope, command)


_WORKING = ("claimed", "in_progress", "on_hold")
SPECS: dict[str, Spec] = {
    s.name: s
    for s in (
        _spec(c.Claim, ("dispatched", "reopened"), TEAM, "team"),
        _spec(c.Start, ("claimed",), TEAM, "assignee"),
        _spec(c.Hold, ("claimed", "in_progress"), TEAM, "assignee"),
        _spec(c.Resume, ("on_hold",), TEAM, "assignee"),
        _spec(c.Note, STATUSES, TEAM + SUPERVISORS, "team"),
        _spec(c.Resolve, ("claimed", "in_progress"), TEAM, "assignee"),
        _spec(c.Return, ("dispatched", "claimed", "in_progress", "reopened"), TEAM, "assignee_once_claimed"),
        _spec(c.Transfer, ("dispatched", *_WORKING, "reopened"), LEADS, "team"),
        _spec(c.Extend, _WORKING, TEAM, "assignee"),
        _spec(c.ApproveExtension, _WORKING, LEADS, "team"),
        _spec(c.DenyExtension, _WORKING, LEADS, "team"),
        _spec(c.Dispatch, ("returned", "dispatched", "reopened"), SUPERVISORS, "anyone"),
        _spec(c.Assign, ("dispatched", "reopened"), LEADS, "team"),
        _spec(c.Duplicate, ("dispatched", *_WORKING, "returned", "reopened"), TEAM + SUPERVISORS, "team"),
        _spec(c.NotAccept, ("dispatched", "claimed", "returned", "reopened"), LEADS, "team"),
        # 审核 (domain/lifecycle/review.py): a lead of the team, or a supervisor, decides on a member's reply.
        _spec(c.ApproveReply, ("awaiting_review",), LEADS, "team"),
        _spec(c.SendBack, ("awaiting_review",), LEADS, "team"),
    )
}
assert [s.command for s in SPECS.values()] == list(c.COMMANDS), "every command has its spec"

# What the system does on events and on the clock (not reachable over HTTP).
SYSTEM_ACTIONS: dict[str, frozenset[str]] = {
    "cancel": frozenset(OPEN_STATUSES),
    "close": frozenset({"resolved"}),
    "reopen": frozenset({"resolved"}),
}


def role_name(role: str) -> str:
    return ROLE_LABELS[role]["en"]


def visible(task: Task, actor: Actor) -> bool:
    return actor.sees_everything or (actor.team is not None and actor.team == task.team_id)


def _scope_problem(spec: Spec, task: Task, actor: Actor) -> str | None:
    extension = task.extension
    if spec.name == "approve-extension" and extension is not None and extension.requested_by == actor.username:
        # Four eyes: whoever asked for more time (a lead can) does not grant it to themselves.
        return "you asked for this extension yourself; another lead or a supervisor must approve it"
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
        roles = " or ".join(role_name(r) for r in spec.roles)
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
