"""Choosing an assignee, and checking the teams and members an action names."""

from __future__ import annotations

from collections.abc import Iterable

from services.routing.domain.errors import Invalid
from services.routing.domain.lifecycle.permissions import TEAM
from services.routing.domain.model import Context, StaffInfo
from services.routing.domain.teams import Directory


def on_duty_members(team_id: str, staff: Iterable[StaffInfo]) -> list[StaffInfo]:
    return [s for s in staff if s.team == team_id and s.role == "member" and s.active and s.on_duty]


def needs_loads(team_id: str, directory: Directory, staff: Iterable[StaffInfo]) -> bool:
    """Whether choosing an assignee in the team compares loads: only a `load` team with more than one
    member on duty (with one, that member is chosen; with none, the team queue)."""
    return (
        directory.has(team_id)
        and directory.team(team_id).assignment == "load"
        and (len(on_duty_members(team_id, staff)) > 1)
    )


def choose_assignee(team_id: str, ctx: Context) -> tuple[str | None, str]:
    """The team's setting: `load` proposes the member on duty with the fewest open tasks (ties: by name);
    `queue` (or nobody on duty) leaves the task in the team queue."""
    team = ctx.directory.team(team_id)
    if team.assignment != "load":
        return None, f"team:{team_id}:queue"
    on_duty = on_duty_members(team_id, ctx.staff)
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
