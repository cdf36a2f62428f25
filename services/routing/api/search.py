"""Staff search (GET /v1/search), saved views (/v1/search/views) and bulk actions (POST /v1/tasks/bulk).

GET /v1/search reads its parameters with its own parser (services/routing/domain/search.py), which
answers an unknown one with 422 naming it, so it is included without the API's 400 check for unknown
parameters (services/routing/app.py); the other routes here keep that check.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from services.routing.api.deps import ContainerDep, CurrentActor
from services.routing.domain.bulk import MAX_ITEMS, BulkRequest
from services.routing.domain.errors import Invalid
from services.routing.domain.search import PARAMETERS
from services.routing.domain.views import queue_item

search_router = APIRouter(prefix="/v1", tags=["search"])
router = APIRouter(prefix="/v1", tags=["search"])

ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"description": "A parameter is wrong or unknown (names each one)"},
}


def _params(request: Request) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name in params:
            raise Invalid(name, "give it once")
        params[name] = value
    return params


def _q(name: str) -> Any:
    return Query(description=PARAMETERS[name])


@search_router.get("/search", summary="Search your team's tasks (supervisors: every team's)", responses=ERRORS)
async def search(
    request: Request,
    actor: CurrentActor,
    container: ContainerDep,
    q: Annotated[str | None, _q("q")] = None,
    phone: Annotated[str | None, _q("phone")] = None,
    address: Annotated[str | None, _q("address")] = None,
    building: Annotated[str | None, _q("building")] = None,
    from_: Annotated[str | None, Query(alias="from", description=PARAMETERS["from"])] = None,
    to: Annotated[str | None, _q("to")] = None,
    status: Annotated[str | None, _q("status")] = None,
    kind: Annotated[str | None, _q("kind")] = None,
    assignee: Annotated[str | None, _q("assignee")] = None,
    team: Annotated[str | None, _q("team")] = None,
    limit: Annotated[str | None, _q("limit")] = None,
    offset: Annotated[str | None, _q("offset")] = None,
) -> dict[str, Any]:
    # The declared parameters document the endpoint; the parser reads them all (and refuses any other).
    query, tasks, total = await container.search.search(_params(request), actor)
    now, directory = container.clock(), container.config.directory
    return {
        "total": total,
        "limit": query.limit,
        "offset": query.offset,
        "team": query.team,
        "items": [queue_item(t, actor, directory, now) for t in tasks],
    }


class ViewIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=60, description="what the view is called in the console")
    query: dict[str, Annotated[str, Field(max_length=200)]] = Field(
        max_length=len(PARAMETERS), description="search parameters, as in GET /v1/search (no paging, no phone)"
    )


@router.get("/search/views", summary="Your saved searches")
async def views(actor: CurrentActor, container: ContainerDep) -> dict[str, Any]:
    return {"items": await container.search.views(actor)}


@router.put("/search/views", summary="Save a search under a name (the same name replaces it)", responses=ERRORS)
async def save_view(actor: CurrentActor, container: ContainerDep, body: ViewIn) -> dict[str, Any]:
    return await container.search.save_view(actor, body.name, body.query)


@router.delete("/search/views/{name}", status_code=204, summary="Delete one of your saved searches")
async def delete_view(
    actor: CurrentActor, container: ContainerDep, name: Annotated[str, Path(max_length=60)]
) -> Response:
    await container.search.delete_view(actor, name)
    return Response(status_code=204)


@router.post(
    "/tasks/bulk",
    summary=f"One action (claim, assign, transfer, note) on up to {MAX_ITEMS} tasks; each task's own result",
    responses=ERRORS,
)
async def bulk_action(
    actor: CurrentActor,
    container: ContainerDep,
    body: Annotated[
        BulkRequest,
        Body(
            examples=[
                {
                    "action": "transfer",
                    "ids": ["9b2e…", "41ac…"],
                    "params": {"team_id": "public_order", "reason": "属于治安问题"},
                }
            ]
        ),
    ],
) -> dict[str, Any]:
    return await container.search.bulk(body, actor)
