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


def _optional[P: BaseModel](cls: type[P]) -> Any:
    return Body(default_factory=cls)


@router.post("/tasks/{request_id}/claim", summary="签收: take the task (the handling clock starts)", responses=ERRORS)
async def claim(
    request_id: str,
    request: Request,
    actor: CurrentActor,
    svc: Service,
    body: Annotated[lc.ClaimParams, _optional(lc.ClaimParams)],
) -> dict[str, Any]:
    return await _act(request, svc, actor, request_id, "claim", body)  # type: ignore[no-any-return]


@router.post("/tasks/{request_id}/start", summary="Start the work (办理)", responses=ERRORS)
async def start(
    request_id: str,
    request: Request,
    actor: CurrentActor,
    svc: Service,
    body: Annotated[lc.StartParams, _optional(lc.StartParams)],
) -> dict[str, Any]:
    return await _act(request, svc, actor, request_id, "start", body)  # type: ignore[no-any-return]


@router.post("/tasks/{request_id}/hold", summary="挂起: put on hold (the clock stops)", responses=ERRORS)
async def hold(
    request_id: str, request: Request, actor: CurrentActor, svc: Service, body: lc.HoldParams
) -> dict[str, Any]:
    return await _act(request, svc, actor, request_id, "hold", body)  # type: ignore[no-any-return]


@router.post("/tasks/{request_id}/resume", summary="Resume (the rest of the clock runs)", responses=ERRORS)
async def resume(
    request_id: str,
    request: Request,
    actor: CurrentActor,
    svc: Service,
    body: Annotated[lc.ResumeParams, _optional(lc.ResumeParams)],
) -> dict[str, Any]:
    return await _act(request, svc, actor, request_id, "resume", body)  # type: ignore[no-any-return]


@router.post(
    "/tasks/{request_id}/note", summary="Add a note (internal, or public: the resident sees it)", responses=ERRORS
)
async def note(
    request_id: str, request: Request, actor: CurrentActor, svc: Service, body: lc.NoteParams
) -> dict[str, Any]:
    return await _act(request, svc, actor, request_id, "note", body)  # type: ignore[no-any-return]


@router.post("/tasks/{request_id}/resolve", summary="办结: resolve with a public reply", responses=ERRORS)
async def resolve(
    request_id: str, request: Request, actor: CurrentActor, svc: Service, body: lc.ResolveParams
) -> dict[str, Any]:
    return await _act(request, svc, actor, request_id, "resolve", body)  # type: ignore[no-any-return]


@router.post("/tasks/{request_id}/return", summary="退单: send back to the supervisors with a reason", responses=ERRORS)
async def return_(
    request_id: str, request: Request, actor: CurrentActor, svc: Service, body: lc.ReturnParams
) -> dict[str, Any]:
    return await _act(request, svc, actor, request_id, "return", body)  # type: ignore[no-any-return]


@router.post("/tasks/{request_id}/transfer", summary="转派: a lead moves the task to another team", responses=ERRORS)
async def transfer(
    request_id: str, request: Request, actor: CurrentActor, svc: Service, body: lc.TransferParams
) -> dict[str, Any]:
    return await _act(request, svc, actor, request_id, "transfer", body)  # type: ignore[no-any-return]


@router.post("/tasks/{request_id}/extend", summary="延期: ask a lead for more time", responses=ERRORS)
async def extend(
    request_id: str, request: Request, actor: CurrentActor, svc: Service, body: lc.ExtendParams
) -> dict[str, Any]:
    return await _act(request, svc, actor, request_id, "extend", body)  # type: ignore[no-any-return]


@router.post("/tasks/{request_id}/approve-extension", summary="A lead approves the extension", responses=ERRORS)
async def approve_extension(
    request_id: str,
    request: Request,
    actor: CurrentActor,
    svc: Service,
    body: Annotated[lc.DecideExtensionParams, _optional(lc.DecideExtensionParams)],
) -> dict[str, Any]:
    return await _act(request, svc, actor, request_id, "approve-extension", body)  # type: ignore[no-any-return]


@router.post("/tasks/{request_id}/deny-extension", summary="A lead denies the extension", responses=ERRORS)
async def deny_extension(
    request_id: str,
    request: Request,
    actor: CurrentActor,
    svc: Service,
    body: Annotated[lc.DecideExtensionParams, _optional(lc.DecideExtensionParams)],
) -> dict[str, Any]:
    return await _act(request, svc, actor, request_id, "deny-extension", body)  # type: ignore[no-any-return]


@router.post("/tasks/{request_id}/dispatch", summary="派单: a supervisor (re-)dispatches to a team", responses=ERRORS)
async def dispatch(
    request_id: str, request: Request, actor: CurrentActor, svc: Service, body: lc.DispatchParams
) -> dict[str, Any]:
    return await _act(request, svc, actor, request_id, "dispatch", body)  # type: ignore[no-any-return]


@router.post("/tasks/{request_id}/assign", summary="A lead proposes an assignee (they still claim)", responses=ERRORS)
async def assign(
    request_id: str, request: Request, actor: CurrentActor, svc: Service, body: lc.AssignParams
) -> dict[str, Any]:
    return await _act(request, svc, actor, request_id, "assign", body)  # type: ignore[no-any-return]


@router.post("/tasks/{request_id}/duplicate", summary="Mark as a duplicate of an earlier request", responses=ERRORS)
async def duplicate(
    request_id: str, request: Request, actor: CurrentActor, svc: Service, body: lc.DuplicateParams
) -> dict[str, Any]:
    return await _act(request, svc, actor, request_id, "duplicate", body)  # type: ignore[no-any-return]


@router.post("/tasks/{request_id}/not-accept", summary="不受理: decline with a referral", responses=ERRORS)
async def not_accept(
    request_id: str, request: Request, actor: CurrentActor, svc: Service, body: lc.NotAcceptParams
) -> dict[str, Any]:
    return await _act(request, svc, actor, request_id, "not-accept", body)  # type: ignore[no-any-return]


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
