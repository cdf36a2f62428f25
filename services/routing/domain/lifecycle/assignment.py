"""Choosing an assignee, and checking the teams and members an action names."""

from __future__ import annotations

from services.routing.domain.errors import Invalid
from services.routing.domain.lifecycle.permissions import TEAM
from services.routing.domain.model import Context, StaffInfo


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


def team_member(ctx: Context, team_id: str, username: str, field: str) -> StaffInfo:
    person = ctx.person(username)
    if person is None or not person.active or person.team != team_id or person.role not in TEAM:
        raise Invalid(field, f"{username!r} is not an active member of team {team_id}")
    return person


def known_team(ctx: Context, team_id: str) -> None:
    if not ctx.directory.has(team_id):
        known = ", ".join(t.id for t in ctx.directory.teams)
        raise Invalid("team_id", f"unknown team {team_id!r}; one of {known}")
