"""Staff accounts: the list (members and leads see their own team), and an admin's create and change."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from services.routing.api.deps import AdminOrToken, ContainerDep, CurrentActor
from services.routing.domain.errors import Invalid
from services.routing.staff import NewStaff, StaffPatch, team_problem

router = APIRouter(prefix="/v1", tags=["staff"])


@router.get("/staff", summary="Staff accounts (members and leads: their own team)")
async def list_staff(actor: CurrentActor, container: ContainerDep, team: str | None = None) -> dict[str, Any]:
    if not actor.sees_everything:
        team = actor.team
    people = await container.staff.list(team)
    return {"staff": [p.public(with_contact=actor.role == "admin") for p in people]}


@router.post("/staff", summary="Create a staff account (admin, or X-Admin-Token for the first admin)", status_code=201)
async def create_staff(body: NewStaff, container: ContainerDep, by: AdminOrToken) -> dict[str, Any]:
    problem = team_problem(body.role, body.team, container.config.directory)
    if problem:
        raise Invalid(*problem)
    account = await container.staff.create(body, container.clock())
    if account is None:
        raise HTTPException(409, f"username {body.username!r} is taken")
    return account.public(with_contact=True)


@router.patch("/staff/{username}", summary="Change a staff account (admin)")
async def update_staff(username: str, body: StaffPatch, container: ContainerDep, by: AdminOrToken) -> dict[str, Any]:
    current = await container.staff.get(username)
    if current is None:
        raise HTTPException(404, f"no staff account {username!r}")
    fields = body.model_dump(exclude_unset=True)
    role = fields.get("role", current.role)
    team = fields["team"] if "team" in fields else current.team
    problem = team_problem(role, team, container.config.directory)
    if problem:
        raise Invalid(*problem)
    account = await container.staff.update(username, body, container.clock())
    assert account is not None
    return account.public(with_contact=True)
