"""Service days (便民服务日) for residents and front ends: the upcoming days (public), signing up (a channel's
API key), and a sign-up read or cancelled with its code. See docs/intake.md, "Service days"."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.intake.api.deps import ChannelDep, ContainerDep, limit_address
from services.intake.api.errors import FieldErrors, native_errors
from services.intake.domain.fields import normalize_phone
from services.intake.domain.servicedays import SignupDraft, SignupRefused
from services.intake.servicedays import Busy

router = APIRouter(
    prefix="/v1",
    tags=["service days"],
    dependencies=[Depends(limit_address)],
    responses=native_errors(400, 413, 422, 429),
)
RETRY = {"Retry-After": "1"}
# Refusals that are about the day's state, not the fields: 409 (full, closed, already signed up).
CONFLICTS = frozenset({"full", "closed", "cancelled", "already", "started"})


class SignupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=40, examples=["王秀兰"])
    phone: str = Field(min_length=5, max_length=20, examples=["13800138000"])
    services: list[Annotated[str, Field(max_length=32)]] = Field(
        min_length=1, max_length=12, description="the codes of the services wanted (GET /v1/servicedays)"
    )
    language: Literal["zh-CN", "en"] = "zh-CN"
    preferred_channel: Literal["inbox", "sms"] = Field(
        "inbox", description="sms: the reminder also comes by SMS (when the SMS gateway is set up)"
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("give a name")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalize_phone(value)

    def draft(self, channel: str) -> SignupDraft:
        return SignupDraft(
            name=self.name,
            phone=self.phone,
            services=tuple(self.services),
            language=self.language,
            preferred_channel=self.preferred_channel,
            channel=channel,
        )


def refusal(exc: SignupRefused) -> HTTPException | FieldErrors:
    if exc.reason in ("unknown_day", "unknown_code"):
        return HTTPException(404, exc.message)
    if exc.reason in CONFLICTS:
        return HTTPException(409, exc.message)
    return FieldErrors([(exc.field, exc.message)])


@router.get("/servicedays", summary="Upcoming service days with the places left per service")
async def list_days(container: ContainerDep) -> dict[str, Any]:
    assert container.days is not None
    return {"days": await container.days.upcoming()}


@router.get("/servicedays/{day_id}", summary="One service day", responses=native_errors(404))
async def get_day(day_id: str, container: ContainerDep) -> dict[str, Any]:
    assert container.days is not None
    day = await container.days.day(day_id[:40])
    if day is None:
        raise HTTPException(404, "no such service day; GET /v1/servicedays lists the upcoming ones")
    return day


@router.post(
    "/servicedays/{day_id}/signups",
    status_code=201,
    summary="Sign a resident up (409 when a chosen service is full, the day closed or the phone signed up already)",
    responses=native_errors(401, 403, 404, 409, 503),
)
async def sign_up(day_id: str, body: SignupIn, channel: ChannelDep, container: ContainerDep) -> dict[str, Any]:
    assert container.days is not None
    try:
        return await container.days.sign_up(day_id[:40], body.draft(channel["_id"]))
    except SignupRefused as exc:
        raise refusal(exc) from exc
    except Busy as exc:
        raise HTTPException(503, str(exc), headers=RETRY) from exc


@router.get("/signups/{code}", summary="A sign-up, with its code (the phone masked)", responses=native_errors(404))
async def get_signup(code: str, container: ContainerDep) -> dict[str, Any]:
    assert container.days is not None
    view = await container.days.signup(code)
    if view is None:
        raise HTTPException(404, "no sign-up with this code; check the code")
    return view


@router.post(
    "/signups/{code}/cancel",
    summary="Cancel a sign-up with its code (the place is freed at once)",
    responses=native_errors(404, 409, 503),
)
async def cancel_signup(code: str, container: ContainerDep) -> dict[str, Any]:
    assert container.days is not None
    try:
        return await container.days.cancel(code)
    except SignupRefused as exc:
        raise refusal(exc) from exc
    except Busy as exc:
        raise HTTPException(503, str(exc), headers=RETRY) from exc
