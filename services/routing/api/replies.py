"""Canned replies (常用回复): /v1/replies (kept by leads; the team reads them) and the replies offered for
one task, filled in (GET /v1/tasks/{id}/replies)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response

from services.routing.api.deps import ContainerDep, CurrentActor
from services.routing.domain.replies import VARIABLES, CannedReply, ReplyIn
from services.routing.replies import UnknownReply

router = APIRouter(prefix="/v1", tags=["replies"])
ReplyId = Annotated[str, Path(max_length=64)]


def _out(reply: CannedReply) -> dict[str, Any]:
    return reply.model_dump()


def _missing(reply_id: str) -> HTTPException:
    return HTTPException(404, f"no canned reply {reply_id} (or not one of your team's)")


@router.get("/replies", summary="Your team's canned replies (supervisors, admins: any team's)")
async def list_replies(
    actor: CurrentActor,
    container: ContainerDep,
    team: Annotated[str | None, Query(max_length=60, description="supervisors, admins: one team")] = None,
    kind: Annotated[
        str | None, Query(max_length=60, description="a kind: its replies and those for every kind")
    ] = None,
) -> dict[str, Any]:
    items = await container.replies.list_for(actor, team, kind)
    return {"variables": VARIABLES, "items": [_out(r) for r in items]}


@router.post("/replies", status_code=201, summary="Add a canned reply (a team's leads; supervisors, admins)")
async def create_reply(actor: CurrentActor, container: ContainerDep, body: ReplyIn) -> dict[str, Any]:
    return _out(await container.replies.create(actor, body))


@router.get("/replies/{reply_id}", summary="One canned reply")
async def get_reply(actor: CurrentActor, container: ContainerDep, reply_id: ReplyId) -> dict[str, Any]:
    try:
        return _out(await container.replies.get(actor, reply_id))
    except UnknownReply:
        raise _missing(reply_id) from None


@router.put("/replies/{reply_id}", summary="Change a canned reply (its team's leads; supervisors, admins)")
async def update_reply(
    actor: CurrentActor, container: ContainerDep, reply_id: ReplyId, body: ReplyIn
) -> dict[str, Any]:
    try:
        return _out(await container.replies.update(actor, reply_id, body))
    except UnknownReply:
        raise _missing(reply_id) from None


@router.delete("/replies/{reply_id}", status_code=204, summary="Delete a canned reply")
async def delete_reply(actor: CurrentActor, container: ContainerDep, reply_id: ReplyId) -> Response:
    try:
        await container.replies.delete(actor, reply_id)
    except UnknownReply:
        raise _missing(reply_id) from None
    return Response(status_code=204)


@router.get("/tasks/{request_id}/replies", summary="The canned replies for a task, filled in for it")
async def task_replies(actor: CurrentActor, container: ContainerDep, request_id: str) -> dict[str, Any]:
    offers = await container.replies.offers(actor, request_id)
    return {"items": [{"id": o.id, "title": o.title, "text": o.text} for o in offers]}
