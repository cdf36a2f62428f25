"""GET /v1/deliveries?request_id=: the delivery log of one request, for staff."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from services.notify.api.deps import ContainerDep, ViewerDep
from services.notify.domain.views import delivery_view

router = APIRouter(prefix="/v1")


class DeliveryOut(BaseModel):
    id: str
    event_id: str
    event_type: str
    channel: str = Field(description="inbox, email, sms or webhook")
    recipient: str = Field(description='"resident", or "staff:<username>" for reminders and escalations')
    address: str | None = Field(description="masked: a phone shows its first 3 and last 4 digits")
    language: str
    urgent: bool
    status: str = Field(description="pending, sending, sent, failed or skipped")
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    deferred_until: datetime | None = Field(description="set when quiet hours held an SMS back")
    created_at: datetime
    sent_at: datetime | None


class DeliveriesOut(BaseModel):
    request_id: str
    tracking_code: str | None
    team_id: str | None
    deliveries: list[DeliveryOut]


@router.get(
    "/deliveries",
    response_model=DeliveriesOut,
    tags=["deliveries"],
    summary="The delivery log of one request (staff)",
    description=(
        "Every message sent (or not) about the request: channel, status, attempts and the last error. "
        "Supervisors and admins see any request; other staff only requests currently with their team."
    ),
    responses={
        401: {"description": "no or invalid staff token"},
        404: {"description": "no request with this id for this staff member"},
    },
)
async def deliveries(
    container: ContainerDep,
    viewer: ViewerDep,
    request_id: Annotated[str, Query(min_length=1, max_length=100, description="the request's id")],
) -> dict[str, Any]:
    log = await container.service.delivery_log(request_id, viewer)
    return {
        "request_id": log.request_id,
        "tracking_code": log.tracking_code,
        "team_id": log.team_id,
        "deliveries": [delivery_view(d) for d in log.deliveries],
    }
