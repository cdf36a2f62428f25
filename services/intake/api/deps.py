"""What routes and pages depend on: THE container, and what is built on it (rate limits, the calling
channel, the acting admin)."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.intake.bootstrap import Container
from shared.security import InvalidToken, verify_token

Document = dict[str, Any]


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


async def limit_address(request: Request, container: ContainerDep) -> None:
    """Every API call counts against its client address (429 with Retry-After when over)."""
    address = request.client.host if request.client else "unknown"
    container.limiter.hit("addr", address, container.settings.rate_limit_per_address, "from this address")


async def authenticate(container: Container, api_key: str) -> Document | None:
    """The active channel holding this key, counted against the key's rate limit; None if unknown."""
    channel = await container.service.channel_for_key(api_key)
    if channel is not None:
        limit = container.settings.rate_limit_per_key
        container.limiter.hit("key", channel["_id"], limit, "for this API key")
    return channel


async def require_channel(
    container: ContainerDep, x_api_key: Annotated[str | None, Header(description="the channel's API key")] = None
) -> Document:
    if not x_api_key:
        raise HTTPException(401, "missing X-API-Key header: every front end (channel) has its own API key")
    channel = await authenticate(container, x_api_key)
    if channel is None:
        raise HTTPException(403, "unknown or disabled API key: ask the administrator for your channel's key")
    return channel


_bearer = HTTPBearer(auto_error=False, description="a staff token with role admin (routing's POST /v1/auth/login)")


async def require_admin(
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    x_admin_token: Annotated[str | None, Header(description="the operator's admin token")] = None,
) -> str:
    """Who is acting: a staff admin's username, or `admin-token`."""
    settings = container.settings
    if x_admin_token:
        if hmac.compare_digest(x_admin_token.encode(), settings.admin_token.encode()):
            return "admin-token"
        raise HTTPException(403, "wrong X-Admin-Token; use the value of HUIYING_ADMIN_TOKEN")
    if credentials is None:
        raise HTTPException(
            401,
            "sign in as an admin (`Authorization: Bearer <token>`) or send `X-Admin-Token`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        claims = verify_token(settings, credentials.credentials)
    except InvalidToken as exc:
        raise HTTPException(
            401, f"invalid or expired token ({exc}); sign in again", headers={"WWW-Authenticate": "Bearer"}
        ) from exc
    if claims.role != "admin":
        raise HTTPException(403, f"channels are managed by admins; your role is {claims.role}")
    return claims.sub


ChannelDep = Annotated[Document, Depends(require_channel)]
AdminDep = Annotated[str, Depends(require_admin)]
