"""GET /v1/inbox/{tracking_code}: the messages told to the resident about one request."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from services.notify.api.deps import ContainerDep

router = APIRouter(prefix="/v1")


class InboxMessageOut(BaseModel):
    event_type: str
    language: str
    subject: str
    body: str
    created_at: datetime


class InboxOut(BaseModel):
    tracking_code: str
    messages: list[InboxMessageOut]


@router.get(
    "/inbox/{tracking_code}",
    response_model=InboxOut,
    tags=["inbox"],
    summary="The messages sent to the resident about one request",
    responses={404: {"description": "no request with this tracking code"}},
)
async def inbox(
    tracking_code: str,
    container: ContainerDep,
    allow_empty: Annotated[
        bool,
        Query(
            description="answer 200 with no messages (instead of 404) for a well-formed code nothing was sent "
            "about yet: for pages that show the inbox right after submitting"
        ),
    ] = False,
) -> dict[str, Any]:
    found = await container.service.inbox(tracking_code, allow_empty=allow_empty)
    return {"tracking_code": found.tracking_code, "messages": found.messages}
