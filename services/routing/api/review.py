"""Reply review (审核) over the staff API (domain/lifecycle/review.py).

- GET /v1/review: the replies waiting for a decision (a lead: their team's; supervisors: every team's, or
  `?team=`), oldest submission first, each with the proposed reply;
- POST /v1/tasks/{id}/approve-reply {note?, reply?}: approve (or approve an edited reply); the resident hears it;
- POST /v1/tasks/{id}/send-back {note}: back to the member with the note; the task is in progress again.

The two actions are lifecycle actions like every other (api/tasks.py registers them): 404 for another team's
task, 403 for a member, 409 when the task is not awaiting review (a second click).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.routing.api.deps import ContainerDep, CurrentActor
from services.routing.api.tasks import ERRORS
from services.routing.bootstrap import Container
from services.routing.domain.lifecycle.review import review_queue
from services.routing.domain.model import Actor, Task
from services.routing.domain.teams import Directory
from services.routing.domain.views import queue_item

router = APIRouter(prefix="/v1", tags=["reply review"])


def review_item(task: Task, actor: Actor, directory: Directory, now: datetime) -> dict[str, Any]:
    """A queue row plus what the lead decides on: the proposed reply, who wrote it, when, which round."""
    item = queue_item(task, actor, directory, now)
    item["review"] = task.review.model_dump() if task.review else None
    return item


async def waiting(container: Container, actor: Actor, team: str | None, limit: int) -> tuple[list[Task], int]:
    """The tasks awaiting the caller's review, oldest submission first (also used by the console page)."""
    query = review_queue(actor, container.config.directory, container.clock(), team)
    tasks, total = await container.service.queue(query, limit=limit, offset=0)
    far = datetime.max.replace(tzinfo=container.clock().tzinfo)
    return sorted(tasks, key=lambda t: t.review.submitted_at if t.review else far), total


@router.get("/review", summary="审核: the replies waiting for a lead's decision, oldest first", responses=ERRORS)
async def review(
    actor: CurrentActor,
    container: ContainerDep,
    team: Annotated[str | None, Query(description="supervisors: one team (default: all)")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
) -> dict[str, Any]:
    tasks, total = await waiting(container, actor, team, limit)
    now, directory = container.clock(), container.config.directory
    return {
        "team": None if actor.sees_everything and team is None else (team or actor.team),
        "total": total,
        "items": [review_item(t, actor, directory, now) for t in tasks],
    }
