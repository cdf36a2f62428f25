"""Notify's HTTP API (v1): the resident's inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel

from shared.tracking import normalize_tracking_code

router = APIRouter(prefix="/v1", tags=["inbox"])


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
    summary="The messages sent to the resident about one request",
    responses={404: {"description": "no request with this tracking code"}},
)
async def inbox(tracking_code: str, request: Request) -> dict[str, Any]:
    store = request.app.state.store
    code = normalize_tracking_code(tracking_code)
    recipient = await store.recipient_by_code(code) if code else None
    if recipient is None:
        raise HTTPException(404, "no messages for this tracking code; check the code on your receipt")
    return {"tracking_code": code, "messages": await store.inbox_for(code)}
