"""The care register (走访慰问): GET/POST /v1/care/households, GET/PATCH /v1/care/households/{id},
POST /v1/care/households/{id}/end and /visits.

Supervisors and admins see and change every household; a team's lead registers and changes its own; members
of the team read them and record visits; staff of other teams see nothing (404, as if it did not exist). Lists
mask phone numbers; one household's page shows them to its team.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import phonenumbers
from fastapi import APIRouter, HTTPException, Query
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from services.routing.api.deps import ContainerDep, CurrentActor
from services.routing.domain import care
from services.routing.domain.care import Consent, Household, RecordVisit
from services.routing.domain.errors import NotVisible
from services.routing.domain.model import Actor
from services.routing.domain.teams import normalize_building
from shared.redact import mask_phone

router = APIRouter(prefix="/v1/care", tags=["care register"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid staff token"},
    403: {"description": "Your role may not do this (the message says who may)"},
    404: {"description": "No such household, or not your team's"},
    409: {"description": "Off the register, or it changed meanwhile"},
    422: {"description": "A field is wrong (names the field)"},
}


def _phone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        number = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException as exc:
        raise ValueError("not a phone number; give 11 digits such as 13800138000, or +country code") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number; check the digits (mobile: 11 digits starting with 1)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


Phone = Annotated[str | None, AfterValidator(_phone)]
Short = Annotated[str, Field(min_length=1, max_length=100)]


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    given_by: Short = Field(description="who agreed: the resident, or their guardian by name")
    given_at: AwareDatetime = Field(description="when they agreed (ISO 8601 with a zone)")
    how: Literal["signed", "verbal", "guardian"] = Field(description="a signed form, spoken, or by a guardian")


class HouseholdIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "name": "王秀英",
                    "phone": "13800138000",
                    "address": "幸福路8号 3号楼2单元501",
                    "building": "3",
                    "kinds": ["elderly_alone"],
                    "consent": {"given_by": "王秀英", "given_at": "2026-12-01T09:00:00+08:00", "how": "signed"},
                    "team_id": "community_work_group",
                    "frequency_days": 7,
                }
            ]
        },
    )
    name: Short
    phone: Phone = Field(None, description="the household's phone (shown whole to its team only)")
    contact_name: Short | None = Field(None, description="a relative or neighbour to call")
    contact_phone: Phone = None
    address: str = Field(min_length=1, max_length=200)
    building: str | None = Field(None, min_length=1, max_length=50)
    unit: str | None = Field(None, min_length=1, max_length=50)
    kinds: list[care.Kind] = Field(min_length=1, max_length=4, description="elderly_alone, disabled, widowed, hardship")
    notes: str = Field("", max_length=1000)
    language: Literal["zh-CN", "en"] = "zh-CN"
    consent: ConsentIn
    team_id: Short = Field(description="the team responsible for the visits")
    assignee: Short | None = Field(None, description="the grid worker or member who visits (of that team)")
    frequency_days: int = Field(ge=1, le=90, description="visit every n days, e.g. 7, 14 or 30")
    last_visited_at: AwareDatetime | None = Field(
        None, description="when they were last visited before registration (the first visit is due one period on)"
    )

    def household(self, recorded_by: str) -> Household:
        data = self.model_dump(exclude={"consent", "last_visited_at"})
        data["last_visit_at"] = self.last_visited_at.astimezone(UTC) if self.last_visited_at else None
        data["kinds"] = sorted(set(self.kinds), key=care.KINDS.index)
        data["building"] = normalize_building(self.building, self.address)
        consent = Consent(**self.consent.model_dump(), recorded_by=recorded_by)
        consent.given_at = consent.given_at.astimezone(UTC)
        epoch = self.consent.given_at  # replaced by the registration time in the domain
        return Household(
            _id="new", **data, consent=consent, registered_at=epoch, registered_by=recorded_by, next_due_at=epoch
        )


class HouseholdPatch(BaseModel):
    """Only the fields given change (consent is recorded once; a new consent is a new registration)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: Short | None = None
    phone: Phone = None
    contact_name: Short | None = None
    contact_phone: Phone = None
    address: str | None = Field(None, min_length=1, max_length=200)
    building: str | None = Field(None, min_length=1, max_length=50)
    unit: str | None = Field(None, min_length=1, max_length=50)
    kinds: list[care.Kind] | None = Field(None, min_length=1, max_length=4)
    notes: str | None = Field(None, max_length=1000)
    team_id: Short | None = None
    assignee: Short | None = None
    frequency_days: int | None = Field(None, ge=1, le=90)

    @model_validator(mode="after")
    def _no_empty_required(self) -> HouseholdPatch:
        emptied = [f for f in REQUIRED_FIELDS if f in self.model_fields_set and getattr(self, f) is None]
        if emptied:
            raise ValueError(f"{', '.join(emptied)} cannot be empty; leave a field out to keep it")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


REQUIRED_FIELDS = ("name", "address", "kinds", "notes", "team_id", "frequency_days")


class EndIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str = Field(min_length=1, max_length=200, description="moved away, consent withdrawn, passed away...")


class VisitIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "visited_at": "2026-12-03T10:00:00+08:00",
                    "found": "精神不错，血压偏高",
                    "needs": "卫生间水龙头漏水",
                    "file_request": {"service_code": "property_repair", "description": "卫生间水龙头漏水，老人独居"},
                }
            ]
        },
    )
    visited_at: AwareDatetime = Field(description="when the visit happened (not in the future)")
    visited_by: Short | None = Field(None, description="who visited (default: you)")
    found: str = Field(min_length=1, max_length=2000, description="what was found")
    needs: str = Field("", max_length=2000, description="needs raised")
    file_request: FileRequestIn | None = Field(None, description="file a request for the household in the same step")

    def command(self, actor: Actor) -> RecordVisit:
        filing = self.file_request
        return RecordVisit(
            visited_at=self.visited_at.astimezone(UTC),
            visited_by=self.visited_by or actor.username,
            found=self.found,
            needs=self.needs,
            file_service=filing.service_code if filing else None,
            file_description=filing.description if filing else None,
        )


class FileRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    service_code: str = Field(min_length=1, max_length=60, pattern=r"^[a-z0-9_]+$", examples=["property_repair"])
    description: str = Field(min_length=1, max_length=4000)


VisitIn.model_rebuild()


def summary(h: Household, now: datetime) -> dict[str, Any]:
    """A list row: phones masked, no notes, no visit texts."""
    return {
        "id": h.id,
        "name": h.name,
        "phone": mask_phone(h.phone) if h.phone else None,
        "building": h.building,
        "grid": h.grid,
        "kinds": h.kinds,
        "team_id": h.team_id,
        "assignee": h.assignee,
        "frequency_days": h.frequency_days,
        "last_visit_at": h.last_visit_at,
        "next_due_at": h.next_due_at,
        "visit_open": h.visit is not None,
        "overdue": care.is_overdue(h, now),
        "days_overdue": care.days_overdue(h, now),
        "active": h.active,
    }


def detail(h: Household, now: datetime) -> dict[str, Any]:
    """The whole entry for its team: contacts, consent, visits (newest first) and who changed it when."""
    body = h.model_dump(mode="json", by_alias=False, exclude={"seq", "rev", "next_check_at"})
    body["visits"] = list(reversed(body["visits"]))
    body["overdue"] = care.is_overdue(h, now)
    return body


async def _get(container: Any, household_id: str, actor: Actor) -> Household:
    try:
        h: Household = await container.care.get(household_id, actor)
    except NotVisible:
        raise HTTPException(404, f"no household {household_id} (or not one you may see)") from None
    return h


@router.get("/households", summary="The register: your team's households (everyone's for supervisors)")
async def list_households(
    actor: CurrentActor,
    container: ContainerDep,
    overdue: Annotated[bool, Query(description="only households past their visit's due time")] = False,
    active: Annotated[bool, Query(description="false: households taken off the register")] = True,
) -> dict[str, Any]:
    now = container.clock()
    rows = await container.care.listing(actor, overdue_only=overdue, active=active)
    return {"households": [summary(h, now) for h in rows], "count": len(rows)}


@router.post("/households", status_code=201, summary="Register a household (with its consent)", responses=ERRORS)
async def register_household(body: HouseholdIn, actor: CurrentActor, container: ContainerDep) -> dict[str, Any]:
    h = await container.care.register(body.household(actor.username), actor)
    return detail(h, container.clock())


@router.get("/households/{household_id}", summary="A household with its visits", responses=ERRORS)
async def get_household(household_id: str, actor: CurrentActor, container: ContainerDep) -> dict[str, Any]:
    return detail(await _get(container, household_id, actor), container.clock())


@router.patch("/households/{household_id}", summary="Change the register entry", responses=ERRORS)
async def change_household(
    household_id: str, body: HouseholdPatch, actor: CurrentActor, container: ContainerDep
) -> dict[str, Any]:
    await _get(container, household_id, actor)
    h = await container.care.update(household_id, body.changes(), actor)
    return detail(h, container.clock())


@router.post("/households/{household_id}/end", summary="Take a household off the register", responses=ERRORS)
async def end_household(household_id: str, body: EndIn, actor: CurrentActor, container: ContainerDep) -> dict[str, Any]:
    await _get(container, household_id, actor)
    h = await container.care.end(household_id, body.reason, actor)
    return detail(h, container.clock())


@router.post(
    "/households/{household_id}/visits",
    status_code=201,
    summary="Record a visit (and file a request for the household in the same step)",
    responses=ERRORS,
)
async def record_visit(
    household_id: str, body: VisitIn, actor: CurrentActor, container: ContainerDep
) -> dict[str, Any]:
    await _get(container, household_id, actor)
    h, visit_id = await container.care.record_visit(household_id, body.command(actor), actor)
    out = detail(h, container.clock())
    out["visit_id"] = visit_id
    out["filed"] = body.file_request is not None
    return out
