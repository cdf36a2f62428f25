"""Tasks and queues: GET /v1/tasks/{id}, POST /v1/tasks/{id}/{action}, GET /v1/queue.

A task is addressed by its request id. Another team's task answers 404 exactly like a missing one.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query

from services.routing.api.deps import ContainerDep, CurrentActor
from services.routing.bootstrap import Container
from services.routing.domain.lifecycle import commands as cmd
from services.routing.domain.model import Actor
from services.routing.domain.queue import queue_query
from services.routing.domain.views import queue_item, task_view

router = APIRouter(prefix="/v1", tags=["tasks"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid staff token"},
    403: {"description": "Your role may not do this (the message says who may)"},
    404: {"description": "No such task, or not your team's"},
    409: {"description": "Not possible in the task's status (names the allowed actions) or it changed meanwhile"},
    422: {"description": "A parameter is wrong (names the field)"},
}


async def _act(container: Container, actor: Actor, request_id: str, command: cmd.StaffCommand) -> dict[str, Any]:
    task = await container.service.act(request_id, command, actor)
    return task_view(task, actor, container.config.directory, container.clock())


@router.get("/tasks/{request_id}", summary="A task with its history and the actions you can take", responses=ERRORS)
async def get_task(request_id: str, actor: CurrentActor, container: ContainerDep) -> dict[str, Any]:
    task = await container.service.get_visible(request_id, actor)
    return task_view(task, actor, container.config.directory, container.clock())


# One endpoint per lifecycle action: (its command, whether the body may be left out, summary).
ACTIONS: tuple[tuple[type[cmd.StaffCommand], bool, str], ...] = (
    (cmd.Claim, True, "签收: take the task (the handling clock starts)"),
    (cmd.Start, True, "Start the work (办理)"),
    (cmd.Hold, False, "挂起: put on hold (the clock stops)"),
    (cmd.Resume, True, "Resume (the rest of the clock runs)"),
    (cmd.Note, False, "Add a note (internal, or public: the resident sees it)"),
    (cmd.Resolve, False, "办结: resolve with a public reply"),
    (cmd.Return, False, "退单: send back to the supervisors with a reason"),
    (cmd.Transfer, False, "转派: a lead moves the task to another team"),
    (cmd.Extend, False, "延期: ask a lead for more time"),
    (cmd.ApproveExtension, True, "A lead approves the extension"),
    (cmd.DenyExtension, True, "A lead denies the extension"),
    (cmd.Dispatch, False, "派单: a supervisor (re-)dispatches to a team"),
    (cmd.Assign, False, "A lead proposes an assignee (they still claim)"),
    (cmd.Duplicate, False, "Mark as a duplicate of an earlier request"),
    (cmd.NotAccept, False, "不受理: decline with a referral"),
    # 审核 (api/review.py): a lead decides on a member's reply
    (cmd.ApproveReply, True, "审核通过: a lead approves a member's reply (the resident hears it now)"),
    (cmd.SendBack, False, "退回修改: a lead sends a member's reply back with a note"),
)


def _register_action(command: type[cmd.StaffCommand], optional: bool, summary: str) -> None:
    action = command.action
    body_type: Any = Annotated[command, Body(default_factory=command)] if optional else command

    async def endpoint(
        request_id: str, actor: CurrentActor, container: ContainerDep, body: body_type
    ) -> dict[str, Any]:
        return await _act(container, actor, request_id, body)

    # Annotations are strings here (`from __future__ import annotations`); give FastAPI the real body type.
    endpoint.__annotations__["body"] = body_type
    endpoint.__name__ = action.replace("-", "_")
    router.add_api_route(
        f"/tasks/{{request_id}}/{action}",
        endpoint,
        methods=["POST"],
        summary=summary,
        responses=ERRORS,
        operation_id=f"task_{endpoint.__name__}",
    )


for _command, _optional_body, _summary in ACTIONS:
    _register_action(_command, _optional_body, _summary)


# -- queues ---------------------------------------------------------------------------------------------------


@router.get("/queue", summary="Your team's work (supervisors: everyone's), by priority then due time", responses=ERRORS)
async def queue(
    actor: CurrentActor,
    container: ContainerDep,
    status: Annotated[str | None, Query(description="open (default), all, or e.g. dispatched,reopened")] = None,
    team: Annotated[str | None, Query(description="supervisors: one team (default: all)")] = None,
    assignee: Annotated[str | None, Query(description="me, none, or a username")] = None,
    priority: Annotated[Literal["low", "normal", "high", "urgent"] | None, Query()] = None,
    overdue: Annotated[bool | None, Query(description="only tasks past the due time of their running clock")] = None,
    service_code: Annotated[str | None, Query(max_length=60)] = None,
    tracking_code: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> dict[str, Any]:
    now, directory = container.clock(), container.config.directory
    query = queue_query(actor, directory, now, status=status, team=team, assignee=assignee, priority=priority,
                        service_code=service_code, tracking_code=tracking_code, overdue=overdue)  # fmt: skip
    tasks, total = await container.service.queue(query, limit=limit, offset=offset)
    return {
        "team": None if actor.sees_everything and team is None else (team or actor.team),
        "total": total,
        "limit": limit,
        "offset": offset,
        "items": [queue_item(t, actor, directory, now) for t in tasks],
    }
