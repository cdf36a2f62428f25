"""Staff tokens: routing issues them, every service verifies them (HS256, shared secret).

Claims: `sub` (username), `role` (member|lead|supervisor|admin), `team` (team id or null), `ver` (the
account's token version when the token was issued), `iss` = "huiying-routing", `aud` = "huiying", `iat`,
`exp`.

A token alone is not enough: every service also checks the account's current state — routing from its
own accounts, intake and notify from the read model routing's `staff.changed` events keep
(shared/staff_access.py). A disable, a role or team change and a password change raise the account's
token version, so tokens issued before are refused everywhere within the time the event takes to arrive.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import jwt
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from shared.settings import Settings

Role = Literal["member", "lead", "supervisor", "admin"]
ISSUER = "huiying-routing"
AUDIENCE = "huiying"


class StaffClaims(BaseModel):
    sub: str
    role: Role
    team: str | None = None
    ver: int = 0

    @property
    def sees_everything(self) -> bool:
        return self.role in ("supervisor", "admin")


class InvalidToken(Exception):
    pass


def issue_token(settings: Settings, claims: StaffClaims, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    payload = {
        **claims.model_dump(),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=settings.jwt_ttl_s)).timestamp()),
    }
    return jwt.encode(payload, settings.jwt_secret, algorithm="HS256")


def verify_token(settings: Settings, token: str) -> StaffClaims:
    try:
        payload = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
        return StaffClaims.model_validate(payload)
    except (jwt.PyJWTError, ValueError) as exc:
        raise InvalidToken(str(exc)) from exc


_bearer = HTTPBearer(auto_error=False, description="A staff token from routing's POST /v1/auth/login")


COOKIE = "huiying_staff"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token(secret: str, token: str) -> str:
    """The CSRF token of a cookie session: an HMAC of the session's token under the JWT secret, so every
    replica can check it without storing anything. The console puts it in its forms (and pages)."""
    return hmac.new(secret.encode(), b"huiying-console-csrf\x00" + token.encode(), hashlib.sha256).hexdigest()


def _check_cookie_write(request: Request, secret: str, token: str) -> None:
    """A write authenticated by the session cookie (a browser sends it on its own) must also carry the
    session's CSRF token in X-CSRF-Token, which another site cannot read. Bearer clients are unaffected."""
    if request.method in SAFE_METHODS:
        return
    given = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(given.encode(), csrf_token(secret, token).encode()):
        raise HTTPException(
            403,
            f"a write signed in by the console's cookie needs the {CSRF_HEADER} header (the page's CSRF token); "
            "API clients send `Authorization: Bearer <access_token>` instead",
        )


async def current_staff(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> StaffClaims:
    """FastAPI dependency: 401 without a valid token; 403 for a cookie-authenticated write without its CSRF
    token. Needs `app.state.settings`."""
    token = credentials.credentials if credentials else request.cookies.get(COOKIE)
    if not token:
        raise HTTPException(
            401,
            "a staff token is required: POST /v1/auth/login on routing, then send "
            "`Authorization: Bearer <access_token>`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    settings = request.app.state.settings
    try:
        claims = verify_token(settings, token)
    except InvalidToken as exc:
        raise HTTPException(
            401, f"invalid or expired token ({exc}); sign in again", headers={"WWW-Authenticate": "Bearer"}
        ) from exc
    if credentials is None:
        _check_cookie_write(request, settings.jwt_secret, token)
    return claims


Staff = Annotated[StaffClaims, Depends(current_staff)]
