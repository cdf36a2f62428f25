"""Who is calling: the token (shared.security) plus the live account (disabled accounts are refused)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.routing.domain import Actor
from services.routing.service import RoutingService
from services.routing.staff import StaffStore
from shared.security import Staff, current_staff


def service(request: Request) -> RoutingService:
    svc: RoutingService = request.app.state.service
    return svc


def staff_store(request: Request) -> StaffStore:
    store: StaffStore = request.app.state.staff_store
    return store


Service = Annotated[RoutingService, Depends(service)]
Accounts = Annotated[StaffStore, Depends(staff_store)]


async def current_actor(claims: Staff, accounts: Accounts) -> Actor:
    """The account as it is now: a role or team change applies at once, a disabled account is out."""
    account = await accounts.get(claims.sub)
    if account is None or not account.active:
        raise HTTPException(
            401,
            "this staff account is disabled or no longer exists; ask an admin",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return Actor(account.username, account.role, account.team)


CurrentActor = Annotated[Actor, Depends(current_actor)]


def require(actor: Actor, *roles: str) -> None:
    if actor.role not in roles:
        raise HTTPException(403, f"only {' or '.join(roles)} accounts may do this")


_bearer = HTTPBearer(auto_error=False)


async def admin_or_token(
    request: Request,
    accounts: Accounts,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    x_admin_token: Annotated[str | None, Header(description="HUIYING_ADMIN_TOKEN (bootstrap the first admin)")] = None,
) -> str:
    """An admin's token, or the deployment's admin token (to create the first admin account in prod)."""
    if x_admin_token is not None:
        if hmac.compare_digest(x_admin_token.encode(), request.app.state.settings.admin_token.encode()):
            return "admin-token"
        raise HTTPException(401, "X-Admin-Token does not match HUIYING_ADMIN_TOKEN")
    actor = await current_actor(await current_staff(request, credentials), accounts)
    require(actor, "admin")
    return actor.username


AdminOrToken = Annotated[str, Depends(admin_or_token)]
