"""The one dependency every route and page reads routing through (the bootstrap container), and who is
calling: the token (shared.security) plus the live account (disabled accounts are refused)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.routing.bootstrap import Container
from services.routing.domain.model import Actor
from shared.security import Staff, current_staff


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


async def current_actor(claims: Staff, container: ContainerDep) -> Actor:
    """The account as it is now: a role or team change applies at once; a disabled account, and a token
    issued before a disable, role, team or password change (its `ver`), are out."""
    account = await container.staff.get(claims.sub)
    if account is None or not account.accepts(claims.ver):
        raise HTTPException(
            401,
            "this staff account is disabled or has changed since the token was issued (a new password, role "
            "or team); sign in again, or ask an admin",
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
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    x_admin_token: Annotated[str | None, Header(description="HUIYING_ADMIN_TOKEN (bootstrap the first admin)")] = None,
) -> str:
    """An admin's token, or the deployment's admin token (to create the first admin account in prod)."""
    if x_admin_token is not None:
        if hmac.compare_digest(x_admin_token.encode(), container.settings.admin_token.encode()):
            return "admin-token"
        raise HTTPException(401, "X-Admin-Token does not match HUIYING_ADMIN_TOKEN")
    actor = await current_actor(await current_staff(request, credentials), container)
    require(actor, "admin")
    return actor.username


AdminOrToken = Annotated[str, Depends(admin_or_token)]
