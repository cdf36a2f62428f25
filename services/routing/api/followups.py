"""Call-backs (回访) and duplicates (并单) over the staff API.

- GET /v1/followups: the desk's open call-backs (the desk's staff, supervisors, admins), oldest first;
- GET /v1/followups/{id}: what the desk needs for one call (the matter, the reply, the resident, the calls);
- POST /v1/followups/{id}/calls: record a call (who: the caller; when; outcome; the rating on the phone);
- GET /v1/tasks/{id}/duplicates: the requests flagged as possibly the same matter, that you can see;
- POST /v1/tasks/{id}/merge {into}: merge the task into another (the `duplicate` action) in one step;
- POST /v1/tasks/{id}/duplicates/{other}/dismiss: not the same matter: the mark goes from both tasks.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from services.routing.api.deps import ContainerDep, CurrentActor
from services.routing.api.tasks import ERRORS
from services.routing.bootstrap import Container
from services.routing.callbacks import CallBacks
from services.routing.domain.errors import Forbidden, NotVisible
from services.routing.domain.followup import RecordCall
from services.routing.domain.lifecycle import allowed_actions, visible
from services.routing.domain.lifecycle import commands as cmd
from services.routing.domain.model import Actor
from services.routing.domain.views import followup_view, queue_item, task_view

router = APIRouter(prefix="/v1", tags=["call-backs and duplicates"])


@router.get("/followups", summary="回访: the open call-backs, oldest first (the desk, supervisors)", responses=ERRORS)
async def followups(
    actor: CurrentActor, container: ContainerDep, limit: Annotated[int, Query(ge=1, le=500)] = 200
) -> dict[str, Any]:
    tasks = await CallBacks(container.service).queue(actor, limit)
    directory = container.config.directory
    return {
        "team": container.config.followup.desk_team,
        "total": len(tasks),
        "items": [followup_view(t, directory) for t in tasks],
    }


@router.get("/followups/{request_id}", summary="One call-back: what the desk needs to call", responses=ERRORS)
async def followup(request_id: str, actor: CurrentActor, container: ContainerDep) -> dict[str, Any]:
    task = await CallBacks(container.service).get(request_id, actor)
    return followup_view(task, container.config.directory)


@router.post(
    "/followups/{request_id}/calls",
    summary="Record a call-back: outcome and the rating given on the phone (counts like the resident's own)",
    responses=ERRORS,
)
async def record_call(
    request_id: str, body: RecordCall, actor: CurrentActor, container: ContainerDep
) -> dict[str, Any]:
    task = await CallBacks(container.service).record(request_id, body, actor)
    return followup_view(task, container.config.directory)


async def duplicate_candidates(container: Container, request_id: str, actor: Actor) -> list[dict[str, Any]]:
    task = await container.service.get_visible(request_id, actor)
    found = await container.service.duplicates.candidates(task, lambda other: visible(other, actor))
    now, directory = container.clock(), container.config.directory
    return [{**candidate.model_dump(), "task": queue_item(other, actor, directory, now)} for candidate, other in found]


@router.get("/tasks/{request_id}/duplicates", summary="并单: the possible duplicates you can see", responses=ERRORS)
async def duplicates(request_id: str, actor: CurrentActor, container: ContainerDep) -> dict[str, Any]:
    return {"id": request_id, "items": await duplicate_candidates(container, request_id, actor)}


class Merge(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    into: str = Field(min_length=1, max_length=100, description="the request id of the task this one duplicates")
    public_note: str | None = Field(None, min_length=1, max_length=2000)


async def merge_task(container: Container, request_id: str, body: Merge, actor: Actor) -> dict[str, Any]:
    """The `duplicate` action, then the mark dropped from the task it went into."""
    command = cmd.Duplicate(original=body.into, public_note=body.public_note)
    task = await container.service.act(request_id, command, actor)
    if task.duplicate_of:
        await container.service.duplicates.forget(task.duplicate_of, request_id)
    return task_view(task, actor, container.config.directory, container.clock())


@router.post("/tasks/{request_id}/merge", summary="并单: merge into another request (one step)", responses=ERRORS)
async def merge(request_id: str, body: Merge, actor: CurrentActor, container: ContainerDep) -> dict[str, Any]:
    return await merge_task(container, request_id, body, actor)


async def dismiss_candidate(container: Container, request_id: str, other_id: str, actor: Actor) -> dict[str, Any]:
    """Not the same matter: whoever may merge the task drops the mark from it, and from the other task when
    they can see that one too (a mark on another team's task is theirs to decide)."""
    task = await container.service.get_visible(request_id, actor)
    if not any(c.id == other_id for c in task.duplicate_candidates):
        raise NotVisible(other_id)
    if "duplicate" not in allowed_actions(task, actor):
        raise Forbidden("only staff who may merge this request can say it is not the same matter")
    finder = container.service.duplicates
    await finder.forget(request_id, other_id)
    other = await container.service.store.get(other_id)
    if other is not None and visible(other, actor):
        await finder.forget(other_id, request_id)
    return {"id": request_id, "items": await duplicate_candidates(container, request_id, actor)}


@router.post(
    "/tasks/{request_id}/duplicates/{other_id}/dismiss",
    summary="并单: not the same matter (the mark is dropped from both requests)",
    responses=ERRORS,
)
async def dismiss(request_id: str, other_id: str, actor: CurrentActor, container: ContainerDep) -> dict[str, Any]:
    return await dismiss_candidate(container, request_id, other_id, actor)
