"""Routing's rules: which team a request goes to, and the task it becomes. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.routing.teams import Directory, Team
from shared.events import Envelope, RequestSubmitted, TaskDispatched, TeamRef, new_event

PRODUCER = "routing"


@dataclass(frozen=True)
class Decision:
    team: Team
    rule: str


def choose_team(submitted: RequestSubmitted, directory: Directory) -> Decision:
    team_id = directory.category_routes.get(submitted.service_code)
    if team_id is None:
        return Decision(directory.team(directory.default_team), "default")
    return Decision(directory.team(team_id), f"category:{submitted.service_code}")


@dataclass(frozen=True)
class NewTask:
    document: dict[str, Any]
    events: list[Envelope]


def open_task(submitted: RequestSubmitted, cause: Envelope, directory: Directory, now: datetime) -> NewTask:
    decision = choose_team(submitted, directory)
    team = TeamRef(id=decision.team.id, name=decision.team.name)
    event = new_event(
        TaskDispatched(
            request_id=submitted.request_id,
            tracking_code=submitted.tracking_code,
            status="dispatched",
            team=team,
            priority="normal",
            actor="system",
            rule=decision.rule,
        ),
        producer=PRODUCER,
        seq=1,
        causation_id=str(cause.event_id),
        occurred_at=now,
    )
    document = {
        "_id": submitted.request_id,
        "tracking_code": submitted.tracking_code,
        "service_code": submitted.service_code,
        "description": submitted.description,
        "channel": submitted.channel,
        "status": "dispatched",
        "team_id": team.id,
        "priority": "normal",
        "rule": decision.rule,
        "submitted_at": submitted.submitted_at,
        "dispatched_at": now,
        "seq": 1,
        "history": [
            {
                "at": now,
                "action": "dispatch",
                "status": "dispatched",
                "team_id": team.id,
                "actor": "system",
                "rule": decision.rule,
                "event_id": str(event.event_id),
            }
        ],
    }
    return NewTask(document, [event])
