"""Service days (便民服务日) for staff: plan (leads, supervisors, admins), the attendance list (the organising
team), the ledger. Residents sign up at intake; see docs/routing.md, "Service days"."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from services.routing.api.deps import ContainerDep, CurrentActor
from services.routing.domain import servicedays as rules
from services.routing.domain.errors import NotVisible
from services.routing.domain.model import Actor

router = APIRouter(prefix="/v1", tags=["service days"])

ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Only the organising team's lead, a supervisor or an admin plans a day"},
    404: {"description": "No such day, or not your team's"},
    409: {"description": "The day is cancelled or over, or changed meanwhile"},
}


class ServiceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(description="e.g. haircut, knife_sharpening, blood_pressure, legal_advice", max_length=32)
    places: int = Field(description="how many residents it can take that day", ge=1, le=rules.MAX_PLACES)
    name: dict[str, str] | None = Field(None, description="language -> name; optional for the known codes")


class DayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: dict[str, str] = Field(
        description="language -> title; zh-CN required", examples=[{"zh-CN": "二·八便民服务日"}]
    )
    date: date
    starts: str = Field(description="local time HH:MM", examples=["08:30"])
    ends: str = Field(description="local time HH:MM", examples=["11:30"])
    place: dict[str, str] = Field(description="language -> place; zh-CN required")
    services: list[ServiceIn] = Field(max_length=rules.MAX_SERVICES)
    team: str | None = Field(None, description="the organising team (default: yours)", max_length=64)

    def draft(self) -> rules.DayDraft:
        services = tuple(rules.ServiceDraft(s.code, s.places, s.name) for s in self.services)
        return rules.DayDraft(self.title, self.date, self.starts, self.ends, self.place, services, self.team)


class AttendanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(description="the sign-up code", max_length=40)
    attended: bool = True


async def visible(day_id: str, work: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    """The day `work` returns; another team's day answers exactly like a missing one."""
    try:
        return await work
    except NotVisible as exc:
        raise HTTPException(404, f"no service day {day_id[:40]} among the days you may see") from exc


def view(doc: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """A day for staff: the programme, its figures, and the sign-ups (masked phones) for its own team."""
    out = {k: doc[k] for k in ("title", "date", "starts", "ends", "place", "services", "team", "status", "version")}
    out["day_id"] = doc["_id"]
    out["figures"] = rules.figures(doc)
    out["signups"] = [
        {k: s.get(k) for k in ("code", "name", "phone_masked", "services", "status", "attended", "made_at")}
        for s in doc.get("signups") or []
    ]
    return out


@router.post(
    "/servicedays", status_code=201, summary="Plan a service day (leads, supervisors, admins)", responses=ERRORS
)
async def create_day(body: DayIn, actor: CurrentActor, container: ContainerDep) -> dict[str, Any]:
    return view(await container.days.create(body.draft(), actor), actor)


@router.get("/servicedays", summary="Service days you may see (30 days back to 180 ahead by default)")
async def list_days(
    actor: CurrentActor,
    container: ContainerDep,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: Annotated[date | None, Query()] = None,
) -> dict[str, Any]:
    days = await container.days.list(actor, from_, to)
    return {"days": [{**view(d, actor), "signups": None} for d in days]}


@router.get("/servicedays/{day_id}", summary="A day with its sign-ups (masked phones)", responses=ERRORS)
async def get_day(day_id: str, actor: CurrentActor, container: ContainerDep) -> dict[str, Any]:
    return view(await visible(day_id, container.days.get(day_id, actor)), actor)


@router.put("/servicedays/{day_id}", summary="Change a day's programme (the whole programme)", responses=ERRORS)
async def edit_day(day_id: str, body: DayIn, actor: CurrentActor, container: ContainerDep) -> dict[str, Any]:
    return view(await visible(day_id, container.days.edit(day_id, body.draft(), actor)), actor)


@router.post(
    "/servicedays/{day_id}/cancel", summary="Cancel a day (residents who signed up are told)", responses=ERRORS
)
async def cancel_day(day_id: str, actor: CurrentActor, container: ContainerDep) -> dict[str, Any]:
    return view(await visible(day_id, container.days.cancel(day_id, actor)), actor)


@router.post("/servicedays/{day_id}/attendance", summary="Tick (or untick) a sign-up as attended", responses=ERRORS)
async def mark_attendance(
    day_id: str, body: AttendanceIn, actor: CurrentActor, container: ContainerDep
) -> dict[str, Any]:
    marked = container.days.mark(day_id, body.code.strip().upper(), body.attended, actor)
    return view(await visible(day_id, marked), actor)


@router.get("/ledger/servicedays", summary="Sign-ups and attendance by day and by service (90 days back by default)")
async def servicedays_ledger(
    actor: CurrentActor,
    container: ContainerDep,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: Annotated[date | None, Query()] = None,
) -> dict[str, Any]:
    return await container.days.ledger(actor, from_, to)
