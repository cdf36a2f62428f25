"""Which tasks a work queue shows a caller: a team's own work, or everyone's for supervisors. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.routing.domain.errors import Invalid
from services.routing.domain.model import OPEN_STATUSES, STATUSES, TEAM_OPEN_STATUSES, Actor
from services.routing.domain.teams import Directory


@dataclass(frozen=True)
class QueueQuery:
    """Tasks in one of `statuses` whose fields equal `equal` (a None value: the field is unset), and, with
    `overdue_at`, only those whose running clock is due by then. Sorted by priority, due time, submission."""

    statuses: tuple[str, ...]
    equal: dict[str, str | None] = field(default_factory=dict)
    overdue_at: datetime | None = None


def _statuses(value: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    if not value:
        return default
    if value == "open":
        return OPEN_STATUSES
    if value == "all":
        return STATUSES
    wanted = tuple(s.strip() for s in value.split(",") if s.strip())
    unknown = [s for s in wanted if s not in STATUSES]
    if unknown:
        raise Invalid("status", f"unknown {unknown}; use open, all, or a comma-separated list of {', '.join(STATUSES)}")
    return wanted


def queue_query(
    actor: Actor,
    directory: Directory,
    now: datetime,
    *,
    status: str | None = None,
    team: str | None = None,
    assignee: str | None = None,
    priority: str | None = None,
    service_code: str | None = None,
    tracking_code: str | None = None,
    overdue: bool | None = None,
) -> QueueQuery:
    """The caller's queue with the filters of GET /v1/queue; Invalid names a filter the caller may not use."""
    equal: dict[str, str | None] = {}
    default: tuple[str, ...]
    if actor.sees_everything:
        default = OPEN_STATUSES
        if team is not None:
            if not directory.has(team):
                raise Invalid("team", f"unknown team {team!r}")
            equal["team_id"] = team
    else:
        default = TEAM_OPEN_STATUSES
        if team is not None and team != actor.team:
            raise Invalid("team", "you see your own team's queue only; leave `team` out")
        equal["team_id"] = actor.team
    if assignee == "me":
        equal["assignee"] = actor.username
    elif assignee == "none":
        equal["assignee"] = None
    elif assignee:
        equal["assignee"] = assignee
    if priority:
        equal["priority"] = priority
    if service_code:
        equal["service_code"] = service_code
    if tracking_code:
        equal["tracking_code"] = tracking_code.strip().upper()
    return QueueQuery(_statuses(status, default), equal, now if overdue else None)
