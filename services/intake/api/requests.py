"""intake's native HTTP API (v1): the catalogue, submitting, tracking, cancelling, rating a request."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response

from services.intake.api.deps import ChannelDep, ContainerDep, limit_address
from services.intake.api.errors import native_errors
from services.intake.api.models import (
    CancelIn,
    CancelOut,
    FeedbackIn,
    FeedbackOut,
    RequestIn,
    ServicesOut,
    SubmitOut,
    TrackOut,
)
from services.intake.domain.channels import Channel
from services.intake.domain.request import CancelRequest, GiveFeedback
from services.intake.domain.submission import take
from services.intake.domain.views import service_view, submit_view, track_view
from shared.i18n import negotiate

router = APIRouter(
    prefix="/v1",
    tags=["requests"],
    dependencies=[Depends(limit_address)],
    responses=native_errors(400, 413, 422, 429),
)

IdempotencyKey = Annotated[
    str | None,
    Header(
        pattern=r"^[\x21-\x7e]{1,200}$",
        description="a key you choose per request (e.g. a UUID): a retry with the same key and body is answered "
        "the same and stores nothing new; the same key with another body is refused (409)",
    ),
]

ERRORS = native_errors(401, 403, 409, 503)


@router.get("/services", response_model=ServicesOut, summary="The service catalogue, in zh-CN and en")
async def list_services(container: ContainerDep) -> dict[str, Any]:
    return {"services": [service_view(s) for s in container.config.catalogue.services]}


@router.post(
    "/requests",
    status_code=201,
    response_model=SubmitOut,
    responses=ERRORS,
    summary="Submit a request (words that sound like an emergency are answered 422 emergency_referral: call now, "
    "or send again with confirm_not_emergency: true)",
)
async def submit_request(
    body: RequestIn,
    response: Response,
    container: ContainerDep,
    channel: ChannelDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    config = container.config
    command = take(body.draft("v1", Channel.of(channel), idempotency_key), config.catalogue, config.emergency)
    submitted = await container.service.submit(command)
    if submitted.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    doc = submitted.document
    return submit_view(doc, f"{container.settings.public_url('intake')}/v1/track/{doc['tracking_code']}")


@router.get(
    "/track/{tracking_code}",
    response_model=TrackOut,
    summary="The public status of one request",
    responses=native_errors(404),
)
async def track(
    tracking_code: str,
    request: Request,
    container: ContainerDep,
    lang: Annotated[Literal["zh-CN", "en"] | None, Query(description="language of team names")] = None,
) -> dict[str, Any]:
    doc = await container.service.find(tracking_code)
    if doc is None:
        raise HTTPException(404, "no request with this tracking code; check the code on your receipt")
    language = lang or doc["resident"].get("language") or negotiate(request.headers.get("accept-language"))
    return track_view(doc, language)


@router.post(
    "/requests/{request_id}/cancel",
    response_model=CancelOut,
    summary="Cancel a request that is not final yet; the tracking code is the proof",
    responses=native_errors(404, 409, 503),
)
async def cancel_request(request_id: str, body: CancelIn, container: ContainerDep) -> dict[str, Any]:
    doc = await container.service.cancel(CancelRequest(request_id, body.tracking_code, body.reason))
    return {
        "id": doc["_id"],
        "tracking_code": doc["tracking_code"],
        "status": doc["status"],
        "cancelled_at": doc.get("cancelled_at"),
    }


@router.post(
    "/feedback/{tracking_code}",
    status_code=201,
    response_model=FeedbackOut,
    summary="Rate the resolution of your request (only while it is resolved)",
    responses=native_errors(404, 409, 503),
)
async def give_feedback(tracking_code: str, body: FeedbackIn, container: ContainerDep) -> dict[str, Any]:
    doc = await container.service.feedback(GiveFeedback(tracking_code, body.rating, body.comment))
    given = doc["feedback"][-1]
    return {
        "tracking_code": doc["tracking_code"],
        "status": doc["status"],
        "rating": given["rating"],
        "received_at": given["at"],
    }
