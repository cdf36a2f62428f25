"""Sign-in: POST /v1/auth/login gives a JWT that routing, intake and notify all accept."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from services.routing.api.deps import ContainerDep, CurrentActor
from services.routing.staff import StaffPatch, verify_password
from shared.security import StaffClaims, issue_token

router = APIRouter(prefix="/v1", tags=["auth"])


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=10, max_length=200)


class Duty(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on_duty: bool


@router.post(
    "/auth/login",
    summary="Sign in with a staff username and password",
    responses={
        401: {"description": "Wrong username or password, or a disabled account"},
        429: {"description": "Too many attempts from this address or for this account, or a locked account"},
    },
)
async def login(body: Login, request: Request, container: ContainerDep) -> dict[str, Any]:
    username = body.username.lower()
    container.signin.before(request, username, "api")  # 429 before any hash is computed
    account = await container.staff.get(username)
    ok = await verify_password(account.password_hash if account else None, body.password)
    if account is None or not ok or not account.active:
        container.signin.failed(request, username, "api")
        raise HTTPException(401, "wrong username or password (or the account is disabled)")
    settings = container.settings
    claims = StaffClaims(sub=account.username, role=account.role, team=account.team, ver=account.token_version)
    # Token lifetimes run on real time, not the injected business clock that tests move.
    token = issue_token(settings, claims)
    return {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": settings.jwt_ttl_s,
        "staff": account.public(with_contact=True),
    }


@router.get("/auth/me", summary="The signed-in staff account")
async def me(actor: CurrentActor, container: ContainerDep) -> dict[str, Any]:
    account = await container.staff.get(actor.username)
    assert account is not None
    return account.public(with_contact=True)


@router.post("/auth/password", summary="Change your own password", status_code=204)
async def change_password(body: PasswordChange, actor: CurrentActor, container: ContainerDep) -> None:
    account = await container.staff.get(actor.username)
    assert account is not None
    if not await verify_password(account.password_hash, body.current_password):
        raise HTTPException(403, "current_password is wrong")
    await container.staff.update(actor.username, StaffPatch(password=body.new_password), container.clock())


@router.put("/staff/me/duty", summary="Go on or off duty (load-based assignment only picks members on duty)")
async def set_duty(body: Duty, actor: CurrentActor, container: ContainerDep) -> dict[str, Any]:
    account = await container.staff.update(actor.username, StaffPatch(on_duty=body.on_duty), container.clock())
    assert account is not None
    return account.public(with_contact=True)
