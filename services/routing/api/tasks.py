"""Tasks and queues: GET /v1/tasks/{id}, POST /v1/tasks/{id}/{action}, GET /v1/queue.

A task is addressed by its request id. Another team's task answers 404 exactly like a missing one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel

from services.routing import lifecycle as lc
from services.routing.api.deps import CurrentActor, Service
from services.routing.domain import OPEN_STATUSES, STATUSES, TEAM_OPEN_STATUSES, Actor, Invalid
from services.routing.views import queue_item, task_view

router = APIRouter(prefix="/v1", tags=["tasks"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid staff token"},
    403: {"description": "Your role may not do this (the message says who may)"},
    404: {"description": "No such task, or not your team's"},
    409: {"description": "Not possible in the task's status (names the allowed actions) or it changed meanwhile"},
    422: {"description": "A parameter is wrong (names the field)"},
}


def _now(request: Request) -> datetime:
    now: datetime = request.app.state.clock()
    return now


async def _act(request: Request, svc: Any, actor: Actor, request_id: str, action: str, params: BaseModel) -> Any:
    task = await svc.act(request_id, action, actor, params)
    return task_view(task, actor, svc.directory, _now(request))


@router.get("/tasks/{request_id}", summary="A task with its history and the actions you can take", responses=ERRORS)
async def get_task(request_id: str, request: Request, actor: CurrentActor, svc: Service) -> dict[str, Any]:
    task = await svc.get_visible(request_id, actor)
    return task_view(task, actor, svc.directory, _now(request))


# One endpoint per lifecycle action: (action, its parameters, whether the body may be left out, summary).
ACTIONS: tuple[tuple[str, type[BaseModel], bool, str], ...] = (
    ("claim", lc.ClaimParams, True, "签收: take the task (the handling clock starts)"),
    ("start", lc.StartParams, True, "Start the work (办理)"),
    ("hold", lc.HoldParams, False, "挂起: put on hold (the clock stops)"),
    ("resume", lc.ResumeParams, True, "Resume (the rest of the clock runs)"),
    ("note", lc.NoteParams, False, "Add a note (internal, or public: the resident sees it)"),
    ("resolve", lc.ResolveParams, False, "办结: resolve with a public reply"),
    ("return", lc.ReturnParams, False, "退单: send back to the supervisors with a reason"),
    ("transfer", lc.TransferParams, False, "转派: a lead moves the task to another team"),
    ("extend", lc.ExtendParams, False, "延期: ask a lead for more time"),
    ("approve-extension", lc.DecideExtensionParams, True, "A lead approves the extension"),
    ("deny-extension", lc.DecideExtensionParams, True, "A lead denies the extension"),
    ("dispatch", lc.DispatchParams, False, "派单: a supervisor (re-)dispatches to a team"),
    ("assign", lc.AssignParams, False, "A lead proposes an assignee (they still claim)"),
    ("duplicate", lc.DuplicateParams, False, "Mark as a duplicate of an earlier request"),
    ("not-accept", lc.NotAcceptParams, False, "不受理: decline with a referral"),
)


def _register_action(action: str, params: type[BaseModel], optional: bool, summary: str) -> None:
    body_type: Any = Annotated[params, Body(default_factory=params)] if optional else params

    async def endpoint(
        request_id: str, request: Request, actor: CurrentActor, svc: Service, body: body_type
    ) -> dict[str, Any]:
        return await _act(request, svc, actor, request_id, action, body)  # type: ignore[no-any-return]

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


for _action, _params, _optional_body, _summary in ACTIONS:
    _register_action(_action, _params, _optional_body, _summary)


# -- queues ---------------------------------------------------------------------------------------------------


def _statuses(value: str | None, default: tuple[str, ...]) -> list[str]:
    if not value:
        return list(default)
    if value == "open":
        return list(OPEN_STATUSES)
    if value == "all":
        return list(STATUSES)
    wanted = [s.strip() for s in value.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in STATUSES]
    if unknown:
        raise Invalid("status", f"unknown {unknown}; use open, all, or a comma-separated list of {', '.join(STATUSES)}")
    return wanted


@router.get("/queue", summary="Your team's work (supervisors: everyone's), by priority then due time", responses=ERRORS)
async def queue(
    request: Request,
    actor: CurrentActor,
    svc: Service,
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
    now = _now(request)
    filter_: dict[str, Any] = {}
    default: tuple[str, ...]
    if actor.sees_everything:
        default = OPEN_STATUSES
        if team is not None:
            if not svc.directory.has(team):
                raise Invalid("team", f"unknown team {team!r}")
            filter_["team_id"] = team
    else:
        default = TEAM_OPEN_STATUSES
        if team is not None and team != actor.team:
            raise Invalid("team", "you see your own team's queue only; leave `team` out")
        filter_["team_id"] = actor.team
    filter_["status"] = {"$in": _statuses(status, default)}
    if assignee == "me":
        filter_["assignee"] = actor.username
    elif assignee == "none":
        filter_["assignee"] = None
    elif assignee:
        filter_["assignee"] = assignee
    if priority:
        filter_["priority"] = priority
    if service_code:
        filter_["service_code"] = service_code
    if tracking_code:
        filter_["tracking_code"] = tracking_code.strip().upper()
    if overdue:
        filter_["$or"] = [
            {"status": {"$in": ["dispatched", "reopened"]}, "claim_due_at": {"$lte": now}},
            {"status": {"$in": ["claimed", "in_progress"]}, "handle_due_at": {"$lte": now}},
        ]
    tasks, total = await svc.store.query(filter_, limit=limit, skip=offset)
    return {
        "team": None if actor.sees_everything and team is None else (team or actor.team),
        "total": total,
        "limit": limit,
        "offset": offset,
        "items": [queue_item(t, actor, svc.directory, now) for t in tasks],
    }
