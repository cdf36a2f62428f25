"""Console sessions: the staff token in an HttpOnly, SameSite=Strict cookie, and CSRF protection.

The cookie holds the same JWT the API issues (`shared.security` reads the cookie `huiying_staff` too), so a
CSV link to the ledger API works from the dashboard. Nothing is kept in process memory: the CSRF token is
an HMAC of the session token under the JWT secret, so any replica can check it.

State-changing requests are accepted only when (1) the Origin (or, without one, the Referer) names this
host, and (2) the form carries the CSRF token of the session. SameSite=Strict already keeps the cookie
off cross-site requests; the two checks make that not the only line.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Request, Response

from services.routing.api.deps import get_container
from services.routing.domain.model import Actor
from services.routing.staff import StaffAccount
from shared.security import COOKIE, InvalidToken, csrf_token, verify_token

CSRF_FIELD = "csrf"


@dataclass(frozen=True)
class Session:
    actor: Actor
    account: StaffAccount
    csrf: str

    @property
    def name(self) -> str:
        return self.account.display_name or self.account.username

    @property
    def supervises(self) -> bool:
        return self.actor.role in ("supervisor", "admin")


async def load_session(request: Request) -> Session | None:
    """The signed-in account as it is now (a disabled account or a changed role applies at once)."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    container = get_container(request)
    settings = container.settings
    try:
        claims = verify_token(settings, token)
    except InvalidToken:
        return None
    account = await container.staff.get(claims.sub)
    if account is None or not account.accepts(claims.ver):
        return None
    actor = Actor(account.username, account.role, account.team)
    return Session(actor, account, csrf_token(settings.jwt_secret, token))


def same_origin(request: Request) -> bool:
    """The request comes from a page of this host: Origin (or Referer) names the Host it was sent to.
    A browser always sends Origin on a cross-origin POST; "null" (sandboxed, privacy redirects) is refused."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is None:
        return True  # no browser omits both on a cross-site POST; the CSRF token still has to match
    host = request.headers.get("host")
    return source != "null" and host is not None and urlsplit(source).netloc == host


def csrf_ok(request: Request, session: Session, submitted: object) -> bool:
    return (
        same_origin(request)
        and isinstance(submitted, str)
        and hmac.compare_digest(submitted.encode(), session.csrf.encode())
    )


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    settings = get_container(request).settings
    response.set_cookie(
        COOKIE,
        token,
        max_age=settings.jwt_ttl_s,
        httponly=True,
        samesite="strict",
        # Dev mode serves plain http on 127.0.0.1; anything else is behind TLS.
        secure=request.url.scheme == "https" or not settings.is_dev,
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")


def safe_next(target: object, default: str = "/console/") -> str:
    """Only a path inside the console (no open redirect to another site)."""
    if not isinstance(target, str) or not target.startswith("/console") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return default
    return target
