"""GET /v1/inbox/{tracking_code}: the messages told to the resident about one request."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from services.notify.api.deps import ContainerDep
from services.notify.service import NotFound
from shared.limits import RateLimited, client_address

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
    responses={
        404: {"description": "no request with this tracking code"},
        429: {"description": "too many look-ups that found nothing from this address (tracking-code guessing)"},
    },
)
async def inbox(
    tracking_code: str,
    request: Request,
    container: ContainerDep,
    allow_empty: Annotated[
        bool,
        Query(
            description="answer 200 with no messages (instead of 404) for a well-formed code nothing was sent "
            "about yet: for pages that show the inbox right after submitting"
        ),
    ] = False,
) -> dict[str, Any]:
    # Tracking codes are the residents' keys: look-ups that find nothing are limited per address.
    settings, windows = container.settings, container.windows
    address, limit = (
        client_address(request.scope, settings.trusted_proxy_networks),
        settings.notify_inbox_misses_per_address,
    )
    misses, window = windows.count("inbox-miss", address)
    if limit and misses >= limit:
        raise RateLimited("that found nothing from this address", limit, windows.window_s, window.retry_after_s)
    try:
        found = await container.service.inbox(tracking_code, allow_empty=allow_empty)
    except NotFound:
        windows.record("inbox-miss", address)
        raise
    if not found.messages:
        windows.record("inbox-miss", address)
    return {"tracking_code": found.tracking_code, "messages": found.messages}
