"""The staff teams with the areas they serve, and the lifecycle's vocabulary (statuses, actions, reasons)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.routing.api.deps import ContainerDep
from services.routing.domain.labels import NOT_ACCEPT_REASONS, PRIORITY_LABELS, RETURN_REASONS, status_label
from services.routing.domain.lifecycle import SPECS
from services.routing.domain.model import STATUSES
from services.routing.domain.rules import PRIORITIES

router = APIRouter(prefix="/v1")

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _hours(hours: Any) -> list[str] | None:
    return [f"{a:%H:%M}-{b:%H:%M}" for a, b in hours] if hours else None


@router.get("/teams", summary="The staff teams, the areas they serve and their working hours", tags=["teams"])
async def list_teams(container: ContainerDep) -> dict[str, Any]:
    directory, calendar = container.config.directory, container.config.calendar
    teams = []
    for t in directory.teams:
        team_calendar = directory.calendar(t.id, calendar)
        teams.append(
            {
                "id": t.id,
                "name": t.name,
                "serves": "all"
                if t.serves.all
                else {"grids": sorted(t.serves.grids), "buildings": sorted(t.serves.buildings)},
                "hours": _hours(team_calendar.hours),
                "days": [DAYS[d] for d in sorted(team_calendar.workdays)],
                "assignment": t.assignment,
                "work_queue": container.infra.bus.work_queue_name(t.id),
            }
        )
    grids = [{"id": g.id, "name": g.name, "buildings": list(g.buildings)} for g in directory.areas.grids]
    return {"teams": teams, "grids": grids, "timezone": calendar.timezone}


@router.get(
    "/lifecycle", summary="Statuses, actions (who, from which status), reasons: labels in zh-CN and en", tags=["tasks"]
)
async def lifecycle_vocabulary() -> dict[str, Any]:
    return {
        "statuses": [{"id": s, "label": status_label(s)} for s in STATUSES],
        "actions": [
            {"id": s.name, "label": s.label, "roles": list(s.roles), "from": sorted(s.statuses)} for s in SPECS.values()
        ],
        "return_reasons": [{"id": k, "label": v} for k, v in RETURN_REASONS.items()],
        "not_accept_reasons": [{"id": k, "label": v} for k, v in NOT_ACCEPT_REASONS.items()],
        "priorities": [{"id": p, "label": PRIORITY_LABELS[p]} for p in reversed(PRIORITIES)],
    }
