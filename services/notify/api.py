"""Notify's HTTP API (v1): the resident's inbox and, for staff, the delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from shared.redact import mask_phone
from shared.security import Staff
from shared.tracking import normalize_tracking_code

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
    request: Request,
    allow_empty: Annotated[
        bool,
        Query(
            description="answer 200 with no messages (instead of 404) for a well-formed code nothing was sent "
            "about yet: for pages that show the inbox right after submitting"
        ),
    ] = False,
) -> dict[str, Any]:
    store = request.app.state.store
    code = normalize_tracking_code(tracking_code)
    recipient = await store.recipient_by_code(code) if code else None
    if recipient is None:
        if allow_empty and code:
            return {"tracking_code": code, "messages": []}
        raise HTTPException(404, "no messages for this tracking code; check the code on your receipt")
    return {"tracking_code": code, "messages": await store.inbox_for(code)}


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


def masked_address(channel: str, address: str | None) -> str | None:
    if not address:
        return None
    if channel == "sms":
        return mask_phone(address)
    if channel == "email":
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    if channel == "webhook":
        parts = urlsplit(address)
        return f"{parts.scheme}://{parts.netloc}/…"  # paths and queries may carry a receiver's token
    return address


def delivery_out(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        **{k: doc.get(k) for k in DeliveryOut.model_fields if k not in ("id", "address")},
        "address": masked_address(doc["channel"], doc.get("address")),
        "attempts": max(0, int(doc.get("attempts") or 0)),
        "urgent": bool(doc.get("urgent")),
    }


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
    request: Request,
    staff: Staff,
    request_id: Annotated[str, Query(min_length=1, max_length=100, description="the request's id")],
) -> dict[str, Any]:
    store = request.app.state.store
    recipient = await store.recipient(request_id)
    team_id = (recipient or {}).get("team_id")
    if recipient is None or not (staff.sees_everything or (staff.team is not None and staff.team == team_id)):
        # The same answer for "no such request" and "not your team's": no probing of other teams' work.
        raise HTTPException(404, "no request with this request_id among your team's requests")
    docs = await store.deliveries_for(request_id)
    return {
        "request_id": request_id,
        "tracking_code": recipient.get("tracking_code"),
        "team_id": team_id,
        "deliveries": [delivery_out(d) for d in docs],
    }
