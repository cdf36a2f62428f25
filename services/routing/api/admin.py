"""Administration (admin accounts only): the SLA limits, the holiday calendar and the teams and areas as
versioned documents, their audit log, and a year of holidays imported from a file. See docs/routing.md
("Administration") and services/routing/admin.py."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field

from services.routing.admin import ALL_NAMES, BadConfig
from services.routing.api.deps import ContainerDep, CurrentActor, require
from shared.configstore import StaleConfig

router = APIRouter(prefix="/v1/admin", tags=["admin"])

Name = Annotated[str, Path(pattern=r"^[a-z_]{1,30}$", description=f"one of {', '.join(ALL_NAMES)}")]


class ConfigEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    base_version: int = Field(ge=1, le=1_000_000_000, description="the version you edited; a stale one gets 409")
    note: str | None = Field(None, max_length=500, description="why (shown in the audit log)")
    body: dict[str, Any] = Field(description="the whole document, in the shape GET returns")


class CalendarImport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    base_version: int = Field(ge=1, le=1_000_000_000, description="the calendar version you imported into")
    year: int = Field(ge=2000, le=2100, description="the year the file lists; that year's dates are replaced")
    format: Literal["yaml", "csv", "ics"] = Field(description="yaml (as calendar.yaml), csv (date,kind) or ics")
    content: str = Field(min_length=1, max_length=200_000, description="the file's text")


def _unprocessable(exc: BadConfig) -> RequestValidationError:
    """Answered like any invalid body: 422, `fields` naming each wrong one (shared/http.py)."""
    errors = []
    for e in exc.errors:
        loc = e["loc"]
        where = ("body", "content", *loc[1:]) if loc[:1] == ("file",) else ("body", "body", *loc)
        errors.append({**e, "loc": where})
    return RequestValidationError(errors)


def _stale(exc: StaleConfig) -> HTTPException:
    return HTTPException(409, str(exc))


@router.get("/config", summary="The editable documents, their versions, and the calendar warning")
async def documents(actor: CurrentActor, container: ContainerDep) -> dict[str, Any]:
    require(actor, "admin")
    admin = container.admin
    out = []
    for name in ALL_NAMES:
        found = await admin.current(name)
        out.append({k: v for k, v in found.view().items() if k != "body"})
    return {"documents": out, "calendar_warning": await admin.calendar_warning()}


@router.get("/config/{name}", summary="The current version of one document")
async def document(name: Name, actor: CurrentActor, container: ContainerDep) -> dict[str, Any]:
    require(actor, "admin")
    try:
        return (await container.admin.current(name)).view()
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from exc


@router.put("/config/{name}", summary="Save a new version (it holds on every replica within seconds)", status_code=201)
async def save_document(name: Name, edit: ConfigEdit, actor: CurrentActor, container: ContainerDep) -> dict[str, Any]:
    require(actor, "admin")
    if name not in ALL_NAMES:
        raise HTTPException(404, f"no configuration document {name!r}; one of {', '.join(ALL_NAMES)}")
    try:
        saved = await container.admin.save(name, edit.base_version, edit.body, actor, edit.note)
    except BadConfig as exc:
        raise _unprocessable(exc) from exc
    except StaleConfig as exc:
        raise _stale(exc) from exc
    return saved.view()


@router.get("/config/{name}/history", summary="One document's audit log: who, when, before, after")
async def history(
    name: Name,
    actor: CurrentActor,
    container: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    require(actor, "admin")
    if name not in ALL_NAMES:
        raise HTTPException(404, f"no configuration document {name!r}; one of {', '.join(ALL_NAMES)}")
    return {"entries": [v.audit() for v in await container.admin.history(name, limit)]}


@router.get("/audit", summary="Every document's audit log, newest first")
async def audit(
    actor: CurrentActor, container: ContainerDep, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> dict[str, Any]:
    require(actor, "admin")
    return {"entries": [v.audit() for v in await container.admin.history(None, limit)]}


@router.post("/calendar/import", summary="Replace one year's holidays and make-up days from a file", status_code=201)
async def import_calendar(body: CalendarImport, actor: CurrentActor, container: ContainerDep) -> dict[str, Any]:
    require(actor, "admin")
    try:
        saved = await container.admin.import_calendar(body.year, body.content, body.format, body.base_version, actor)
    except BadConfig as exc:
        raise _unprocessable(exc) from exc
    except StaleConfig as exc:
        raise _stale(exc) from exc
    return {**saved.view(), "calendar_warning": await container.admin.calendar_warning()}
